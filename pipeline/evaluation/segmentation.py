"""Segmentation quality: body-token and heading F1 against gold pages; Pk and WindowDiff."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

_WORD = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _WORD.findall(text.lower())


def prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    """Precision, recall, F1; both empty counts as perfect."""
    if n_pred == 0 and n_gold == 0:
        return 1.0, 1.0, 1.0
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def bag_f1(predicted: str, gold: str) -> tuple[float, float, float]:
    """Precision, recall, F1 of the bags of lower-cased word tokens."""
    pred, ref = Counter(tokens(predicted)), Counter(tokens(gold))
    return prf(sum((pred & ref).values()), sum(pred.values()), sum(ref.values()))


def normalize_heading(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[\u2018\u2019\u201c\u201d\"'`]", "", text)
    return " ".join(text.replace("\u00a0", " ").split()).strip(" .:")


def heading_f1(predicted: Sequence[str], gold: Sequence[str]) -> tuple[float, float, float]:
    """Precision, recall, F1 of normalised exact heading matches (as multisets)."""
    pred = Counter(normalize_heading(h) for h in predicted)
    ref = Counter(normalize_heading(h) for h in gold)
    return prf(sum((pred & ref).values()), sum(pred.values()), sum(ref.values()))


def body_text(segmented_json: dict) -> str:
    """Headings and paragraphs of all sections, in order (what the gold `body_text` holds)."""
    parts: list[str] = []
    for section in segmented_json["sections"]:
        if section["heading"]:
            parts.append(section["heading"])
        parts.extend(section["paragraphs"])
    return "\n\n".join(parts)


def boundaries_to_labels(boundaries: Sequence[int], n: int) -> list[int]:
    """Segment starts (unit indices; 0 implied) -> segment id per unit."""
    starts = set(boundaries) - {0}
    labels, current = [], 0
    for i in range(n):
        if i in starts:
            current += 1
        labels.append(current)
    return labels


def pk(reference: Sequence[int], hypothesis: Sequence[int], k: int | None = None) -> float:
    """Beeferman's Pk over per-unit segment labels; k defaults to half the mean reference segment."""
    n = len(reference)
    if k is None:
        k = max(1, round(n / (len(set(reference)) * 2)))
    if n <= k:
        return 0.0
    errors = sum(
        (reference[i] == reference[i + k]) != (hypothesis[i] == hypothesis[i + k]) for i in range(n - k)
    )
    return errors / (n - k)


def windowdiff(reference: Sequence[int], hypothesis: Sequence[int], k: int | None = None) -> float:
    """Pevzner and Hearst's WindowDiff over per-unit segment labels."""
    n = len(reference)
    if k is None:
        k = max(1, round(n / (len(set(reference)) * 2)))
    if n <= k:
        return 0.0

    def cuts(labels: Sequence[int], i: int) -> int:
        return labels[i + k] - labels[i]

    errors = sum(cuts(reference, i) != cuts(hypothesis, i) for i in range(n - k))
    return errors / (n - k)
