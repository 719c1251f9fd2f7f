"""Score: tone of every section and stance toward each target the section mentions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from pipeline.errors import ModelError
from pipeline.records import Section, Segmented
from pipeline.score.targets import Target
from pipeline.segment.sentences import split_sentences

TONE_LABELS = ("negative", "neutral", "positive")
STANCE_LABELS = ("against", "neutral", "favor")
NOT_MENTIONED = "not mentioned"
STANCE_CONTEXTS = ("mentions", "section")
MENTION_WORDS = 12  # words kept either side of a mention (NewsMTSC dev_rw: same F1 as whole sentences)
_WORD = re.compile(r"\S+")


class Classifier(Protocol):
    """What the score stage needs of a model (see pipeline.models.classifier)."""

    labels: list[str]

    def predict_proba(
        self, texts: list[str], targets: list[str] | None = None, *, about_target: bool = False
    ) -> np.ndarray: ...

    def configure_windows(
        self, max_length: int | None = None, stride: float = 0.5, batch_size: int | None = None
    ) -> None: ...


@dataclass(frozen=True)
class StanceResult:
    target: str
    mentions: int
    label: str | None = None
    probs: dict[str, float] | None = None
    reason: str | None = None

    @property
    def score(self) -> float | None:
        return None if self.probs is None else self.probs["favor"] - self.probs["against"]


@dataclass(frozen=True)
class SectionScore:
    article_id: str
    index: int
    heading: str | None
    n_tokens: int
    tone_label: str | None
    tone_probs: dict[str, float] | None
    stance: tuple[StanceResult, ...] = ()

    @property
    def tone_score(self) -> float | None:
        return None if self.tone_probs is None else self.tone_probs["positive"] - self.tone_probs["negative"]


def section_text(section: Section) -> str:
    """What is scored: the heading (when there is one) and the paragraphs."""
    return "\n\n".join([section.heading, *section.paragraphs] if section.heading else section.paragraphs)


def mention_context(section: Section, target: Target, words: int | None = MENTION_WORDS) -> str:
    """What the stance model reads: the section's mentions of the target in their context, in order.

    Each mention is kept with up to ``words`` words either side, within its sentence (the heading
    counts as one); overlapping spans merge. ``words=None`` keeps whole sentences. Falls back to the
    whole section where no single sentence holds the whole mention.
    """
    pieces = [piece for unit in _sentences(section) for piece in _mention_spans(unit, target, words)]
    return " ".join(pieces) or section_text(section)


@lru_cache(maxsize=256)
def _sentences(section: Section) -> tuple[str, ...]:
    """The heading and the sentences of a section: split once, read once per target."""
    heading = (section.heading,) if section.heading else ()
    return heading + tuple(s for paragraph in section.paragraphs for s in split_sentences(paragraph))


def _mention_spans(sentence: str, target: Target, words: int | None) -> list[str]:
    mentions = [(m.start(), m.end()) for m in target.pattern.finditer(sentence)]
    if not mentions or words is None:
        return [sentence] if mentions else []
    bounds = [(m.start(), m.end()) for m in _WORD.finditer(sentence)]
    spans: list[list[int]] = []
    for start, end in mentions:
        first = next(i for i, (_, b) in enumerate(bounds) if b > start)
        last = next((i for i, (a, _) in enumerate(bounds) if a >= end), len(bounds)) - 1
        lo, hi = max(0, first - words), min(len(bounds) - 1, last + words)
        if spans and lo <= spans[-1][1] + 1:
            spans[-1][1] = max(spans[-1][1], hi)
        else:
            spans.append([lo, hi])
    return [sentence[bounds[lo][0] : bounds[hi][1]] for lo, hi in spans]


def check_labels(model: Classifier, expected: Sequence[str], role: str) -> None:
    if sorted(model.labels) != sorted(expected):
        raise ModelError(
            f"the {role} model's labels are {list(model.labels)}, expected {list(expected)}: "
            f"train it with the {role} label set"
        )


def _probs_by_label(model: Classifier, rows: np.ndarray, order: Sequence[str]) -> list[dict[str, float]]:
    columns = [model.labels.index(label) for label in order]
    return [{label: float(row[c]) for label, c in zip(order, columns, strict=True)} for row in rows]


def count_tokens(model: Classifier | None, texts: list[str]) -> list[int]:
    """Tokens per text by the model's tokenizer where it has one, else whitespace words."""
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None:
        return [len(t.split()) for t in texts]
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


def score_sections(
    segmented: Sequence[Segmented],
    tone: Classifier | None,
    stance: Classifier | None,
    targets: Sequence[Target] = (),
    stance_context: str = "mentions",
    mention_words: int | None = MENTION_WORDS,
) -> list[SectionScore]:
    """Score every section of every article in one pass per model (the models batch inside).

    Stance toward a target reads, with ``stance_context="mentions"``, only its mentions with
    ``mention_words`` words either side (see :func:`mention_context`), so five targets cost about one
    more pass over the section, not five; with ``"section"``, the whole section once per target.
    """
    if stance_context not in STANCE_CONTEXTS:
        choices = ", ".join(STANCE_CONTEXTS)
        raise ModelError(f"unknown stance context {stance_context!r}: use one of {choices}")
    sections = [(s.article.id, sec) for s in segmented for sec in s.sections]
    texts = [section_text(sec) for _, sec in sections]
    tone_probs: list[dict[str, float] | None] = [None] * len(texts)
    if tone is not None and texts:
        check_labels(tone, TONE_LABELS, "tone")
        tone_probs = list(_probs_by_label(tone, tone.predict_proba(texts), TONE_LABELS))
    n_tokens = count_tokens(tone or stance, texts)

    mentions = [[t.mentions(text) for t in targets] for text in texts]
    pairs = [(i, j) for i in range(len(texts)) for j in range(len(targets)) if mentions[i][j]]
    stance_probs: dict[tuple[int, int], dict[str, float]] = {}
    if stance is not None and pairs:
        check_labels(stance, STANCE_LABELS, "stance")
        if stance_context == "mentions":
            inputs = [mention_context(sections[i][1], targets[j], mention_words) for i, j in pairs]
        else:
            inputs = [texts[i] for i, _ in pairs]
        # only passages naming the target (or an alias) reach here: no relatedness gate needed
        rows = stance.predict_proba(inputs, [targets[j].name for _, j in pairs], about_target=True)
        stance_probs = dict(zip(pairs, _probs_by_label(stance, rows, STANCE_LABELS), strict=True))

    out: list[SectionScore] = []
    for i, (article_id, sec) in enumerate(sections):
        results = []
        for j, target in enumerate(targets if stance is not None else ()):
            probs = stance_probs.get((i, j))
            if probs is None:
                results.append(StanceResult(target.name, 0, reason=NOT_MENTIONED))
            else:
                results.append(StanceResult(target.name, mentions[i][j], max(probs, key=probs.get), probs))
        probs = tone_probs[i]
        out.append(
            SectionScore(
                article_id,
                sec.index,
                sec.heading,
                n_tokens[i],
                max(probs, key=probs.get) if probs else None,
                probs,
                tuple(results),
            )
        )
    return out
