"""Features of every line of a plain-text page, for the learned line model (`line_model.py`).

Shallow, language-independent features in the spirit of boilerpipe (Kohlschütter et al., 2010):
each line's shape (words in any script, length, case, final punctuation, digits, currency, links),
its place on the page and relative to the body the rules found, how often its text recurs, the
rules' own verdicts, and the same shape features of the lines around it. One row a line.
"""

from __future__ import annotations

import bisect
import math
import re
import statistics
from collections import Counter

import numpy as np

from pipeline.ingest import boilerplate as bp
from pipeline.ingest.scripts import QUESTION_MARKS, SENTENCE_ENDS, cjk_chars, count_words, word_tokens
from pipeline.ingest.text import RuleVerdicts

#: The rules' labels, one-hot (anything else is `other`).
RULE_LABELS = ("title", "standfirst", "heading", "paragraph", "caption", "credit", "chrome", "related",
               "promo", "list", "duplicate", "byline", "date", "share", "newsletter")
#: Boilerplate reasons of a line on its own, one-hot (anything else is `other`).
LINE_REASONS = ("chrome", "share", "newsletter", "promo", "related", "caption", "credit", "byline", "date")
#: Offsets of the neighbours whose shape features are added to a line's row.
NEIGHBOURS = (-3, -2, -1, 1, 2, 3)

_CURRENCY = re.compile(r"[$€£¥₹₽₩]|\b(?:USD|EUR|GBP|Rs\.?|R\$)\b")
_ENUMERATED = re.compile(r"^\(?(?:\d{1,2}|[IVX]{1,4}|[A-Za-z])[.):]\s+\S")
_BULLET = re.compile(r"^[-–—•*·▪►>#]+\s*")
_OPENERS = "\"'“‘«([*¡¿„"
_CLOSERS = "\"'”’»)]*"
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
#: What documentation and wiki generators print after a heading: "[edit]", "¶", "#", "§".
_ANCHOR_END = re.compile(r"(?:\[\s*[^\W\d_]{2,15}\s*\]|[¶#§])\s*$")


def _shape(text: str, words: int, page_words: Counter[str]) -> list[float]:
    """Shape of one line of `words` words alone (and against the page's most frequent words)."""
    stripped = text.rstrip(_CLOSERS + " ")
    end = stripped[-1] if stripped else ""
    body = text.lstrip(_OPENERS + " ")
    first = body[0] if body else ""
    letters = _LETTER.findall(text)
    cased = [c for c in letters if c.isupper() or c.islower()]
    upper = sum(c.isupper() for c in cased)
    tokens = [w for w in re.findall(r"\w+", text) if _LETTER.search(w)]
    capitalised = sum(w[0].isupper() for w in tokens if w[0].isupper() or w[0].islower())
    frequent = word_tokens(text)
    common = sum(page_words[w] for w in frequent) / len(frequent) if frequent else 0.0
    n_chars = len(text)
    return [
        math.log1p(words),
        math.log1p(n_chars),
        float(end in SENTENCE_ENDS and not stripped.endswith(("...", "…"))),
        float(end in QUESTION_MARKS),
        float(end == ":" or end == "："),
        float(end in ",;，；、"),
        float(stripped.endswith(("...", "…"))),
        float(bool(end) and (end.isalnum() or end in ")]\"'”’»")),
        float(first.isupper()),
        float(first.islower()),
        float(first.isdigit()),
        float(bool(_BULLET.match(text)) or bool(_ENUMERATED.match(text))),
        upper / len(cased) if cased else 0.0,
        capitalised / len(tokens) if tokens else 0.0,
        float(bool(cased)),
        sum(c.isdigit() for c in text) / max(n_chars, 1),
        float(bool(_CURRENCY.search(text))),
        float(bool(bp._URLISH.search(text))),
        float(cjk_chars(text) > 0),
        common,
        float("|" in text or " · " in text or " • " in text),
        float(bool(_ANCHOR_END.search(text))),
        float(": " in stripped[:-1] or "：" in stripped[:-1]),
    ]


def _style(shape: list[float], words: int) -> tuple:
    """A line's typographic style, coarse: headings of one page share it (case, ending, length)."""
    ending = "stop" if shape[2] else "question" if shape[3] else "colon" if shape[4] else "open"
    length = 0 if words <= 2 else 1 if words <= 6 else 2 if words <= 12 else 3
    return (shape[12] > 0.8, shape[13] > 0.6, ending, length, shape[11] > 0, shape[10] > 0)


def _between_paragraphs(labels: list[str], i: int, reach: int = 2) -> bool:
    """The rules found a paragraph within `reach` lines above and below line i (and i is not one)."""
    if labels[i] == "paragraph":
        return False
    above = "paragraph" in labels[max(0, i - reach) : i]
    below = "paragraph" in labels[i + 1 : i + 1 + reach]
    return above and below


def _page_word_shares(texts: list[str], top: int = 40) -> Counter[str]:
    """The page's most frequent tokens with their share of all tokens: function words in any language."""
    counts = Counter(w for t in texts for w in word_tokens(t))
    total = sum(counts.values()) or 1
    return Counter({w: c / total * 100 for w, c in counts.most_common(top)})


def page_features(verdicts: RuleVerdicts) -> np.ndarray:
    """One row of features a line of the page (see the module docstring); float32."""
    lines, labels = verdicts.lines, verdicts.labels
    n = len(lines)
    if n == 0:
        return np.zeros((0, len(feature_names())), dtype=np.float32)
    texts = [line.text for line in lines]
    page_words = _page_word_shares(texts)
    words = [count_words(t) for t in texts]
    shapes = [_shape(t, w, page_words) for t, w in zip(texts, words, strict=True)]
    long_words = [w for w in words if w >= 10]
    median_long = statistics.median(long_words) if long_words else 10.0
    repeats = Counter(t.casefold() for t in texts)
    start, end = verdicts.body
    rule_paragraphs = [i for i, label in enumerate(labels) if label == "paragraph"]
    rule_headings = sum(label == "heading" for label in labels)
    use_chunks = len({line.chunk for line in lines}) > 1 and sum(not line.alone for line in lines) * 2 < n
    styles = [_style(shape, words[i]) for i, shape in enumerate(shapes)]
    between = [_between_paragraphs(labels, i) for i in range(n)]
    style_all = Counter(styles)
    style_between = Counter(style for style, b in zip(styles, between, strict=True) if b)
    rows = []
    for i, line in enumerate(lines):
        k = bisect.bisect_left(rule_paragraphs, i)
        above = rule_paragraphs[k - 1] if k > 0 else None
        k = bisect.bisect_right(rule_paragraphs, i)
        below = rule_paragraphs[k] if k < len(rule_paragraphs) else None
        row = list(shapes[i])
        row += [
            i / n,
            float(start <= i < end),
            float(i < start),
            float(i >= end),
            min(abs(i - start), 50) / 50,
            min(abs(i - end), 50) / 50,
            min(i - above, 10) if above is not None else 10.0,
            min(below - i, 10) if below is not None else 10.0,
            math.log1p(words[i] / median_long),
            math.log1p(repeats[line.text.casefold()] - 1),
            float(line.alone),
            float(use_chunks),
            math.log1p(rule_headings),
            math.log1p(len(rule_paragraphs)),
            math.log1p(n),
            float(verdicts.heading_like[i]),
            float(verdicts.prose[i]),
            float(between[i]),
            math.log1p(style_all[styles[i]] - 1),
            math.log1p(style_between[styles[i]] - between[i]),
        ]
        row += [float(labels[i] == label) for label in RULE_LABELS]
        row += [float(labels[i] not in RULE_LABELS)]
        reason = verdicts.line_reasons[i]
        row += [float(reason == r) for r in LINE_REASONS]
        for offset in NEIGHBOURS:
            j = i + offset
            if 0 <= j < n:
                row += [1.0, shapes[j][0], shapes[j][2], shapes[j][8], shapes[j][9], shapes[j][12],
                        float(labels[j] == "paragraph"), float(labels[j] == "heading"),
                        float(labels[j] not in ("paragraph", "heading", "title", "standfirst")),
                        float(lines[j].chunk == line.chunk), float(verdicts.heading_like[j]),
                        float(verdicts.prose[j])]
            else:
                row += [0.0] * 12
        rows.append(row)
    return np.asarray(rows, dtype=np.float32)


#: Features read off the rules' body region and verdicts (the rest are the line's own shape, place and
#: wording): a line model without them (`rules_free_columns`) judges a line as if the rules had not run.
RULE_DERIVED = frozenset({
    "in_body", "before_body", "after_body", "to_body_start", "to_body_end", "from_paragraph_above",
    "to_paragraph_below", "page_rule_headings", "page_rule_paragraphs", "between_paragraphs",
    "same_style_between_paragraphs",
    *(f"rule_{label}" for label in (*RULE_LABELS, "other")),
    *(f"n{offset:+d}_{name}" for offset in NEIGHBOURS
      for name in ("rule_paragraph", "rule_heading", "rule_dropped")),
})


def rules_free_columns(names: list[str]) -> list[int]:
    """The columns of a feature row (`names`) that do not read the rules' body region or verdicts."""
    return [i for i, name in enumerate(names) if name not in RULE_DERIVED]


def feature_names() -> list[str]:
    """Names of the columns of `page_features`, in order."""
    shape = ["log_words", "log_chars", "ends_sentence", "ends_question", "ends_colon", "ends_comma",
             "ends_ellipsis", "ends_open", "starts_upper", "starts_lower", "starts_digit", "bullet",
             "upper_share", "capitalised_share", "cased_script", "digit_share", "currency", "link",
             "cjk", "page_common_words", "separators", "anchor_end", "colon_inside"]
    place = ["position", "in_body", "before_body", "after_body", "to_body_start", "to_body_end",
             "from_paragraph_above", "to_paragraph_below", "words_vs_page", "repeats", "alone",
             "page_uses_blank_lines", "page_rule_headings", "page_rule_paragraphs", "page_lines",
             "rule_heading_like", "rule_prose", "between_paragraphs", "same_style_on_page",
             "same_style_between_paragraphs"]
    rule = [f"rule_{label}" for label in RULE_LABELS] + ["rule_other"]
    reason = [f"reason_{r}" for r in LINE_REASONS]
    neighbour = []
    for offset in NEIGHBOURS:
        neighbour += [f"n{offset:+d}_{name}" for name in
                      ("exists", "log_words", "ends_sentence", "starts_upper", "starts_lower", "upper_share",
                       "rule_paragraph", "rule_heading", "rule_dropped", "same_block", "heading_like",
                       "prose")]
    return shape + place + rule + reason + neighbour
