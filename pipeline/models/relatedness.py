"""A relatedness gate for stance: a text that is not about the target has no stance toward it.

A fine-tuned pair classifier tends to read the text's own polarity and ignore the target, so it
calls a comment about *taxes* "against" *vaccination*. The gate estimates
``g = P(the text is not about the target)`` and moves that much probability to ``neutral``::

    p = (1 - g) * p_model + g * onehot(neutral)

``g`` is 0 where the text names the target (whole words, any case); elsewhere it is a logistic
function of the cosine between the sentence embeddings of text and target. It is fitted without
labels: the training pairs as they are (related) against the same texts paired with shuffled targets
(unrelated). Experiment and figures: ``experiments/stance-relatedness/NOTES.md``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def names_target(text: str, target: str) -> bool:
    """True when ``target`` occurs in ``text`` as whole words, ignoring case."""
    words = re.findall(r"\w+", target.lower())
    if not words:
        return False
    pattern = r"\b" + r"\W+".join(map(re.escape, words)) + r"\b"
    return re.search(pattern, text.lower()) is not None


def cosines(encoder: str, texts: Sequence[str], targets: Sequence[str]) -> np.ndarray:
    """Cosine of each text's sentence embedding with its target's (each distinct string embedded once)."""
    from pipeline.models.embedder import get_encoder

    model = get_encoder(encoder)
    if not texts:
        return np.zeros(0)
    distinct_texts, distinct_targets = list(dict.fromkeys(texts)), sorted(set(targets))
    u = dict(zip(distinct_texts, model.encode(distinct_texts), strict=True))
    v = dict(zip(distinct_targets, model.encode(distinct_targets), strict=True))
    return np.array([float(u[x] @ v[t]) for x, t in zip(texts, targets, strict=True)])


@dataclass
class RelatednessGate:
    encoder: str
    """Sentence encoder for the cosines (a name for ``pipeline.models.locate.resolve_encoder``)."""
    coef: float
    intercept: float
    label: str = "neutral"
    """The label that receives the probability of 'not about the target'."""

    def unrelated(self, texts: Sequence[str], targets: Sequence[str | None]) -> np.ndarray:
        """``g`` per pair: 0 without a target or where the text names it, else the logistic of the cosine."""
        g = np.zeros(len(texts))
        pairs = zip(texts, targets, strict=True)
        todo = [i for i, (text, target) in enumerate(pairs) if target and not names_target(text, target)]
        if todo:
            cos = cosines(self.encoder, [texts[i] for i in todo], [targets[i] for i in todo])  # type: ignore[misc]
            g[todo] = 1.0 / (1.0 + np.exp(-(self.coef * cos + self.intercept)))
        return g

    def apply(self, probs: np.ndarray, g: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        out = (1.0 - g)[:, None] * probs
        out[:, list(labels).index(self.label)] += g
        return out

    def to_meta(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_meta(cls, meta: dict[str, Any] | None) -> RelatednessGate | None:
        return cls(**meta) if meta else None

    @classmethod
    def fit(
        cls, texts: Sequence[str], targets: Sequence[str], encoder: str, label: str = "neutral",
        max_pairs: int = 3000, seed: int = 13,
    ) -> RelatednessGate:
        """Logistic regression of 'shuffled' on the cosine, over pairs whose text does not name its target."""
        from sklearn.linear_model import LogisticRegression

        real, shuffled = gate_pairs(texts, targets, max_pairs, seed)
        pairs = real + shuffled
        cos = cosines(encoder, [x for x, _ in pairs], [t for _, t in pairs])
        y = np.r_[np.zeros(len(real)), np.ones(len(shuffled))]
        # one feature, thousands of pairs: no need to shrink it; balanced, the shuffles may be fewer
        model = LogisticRegression(C=100.0, class_weight="balanced").fit(cos[:, None], y)
        return cls(encoder, float(model.coef_[0][0]), float(model.intercept_[0]), label)


MIN_PAIRS = 10


def gate_pairs(
    texts: Sequence[str], targets: Sequence[str], max_pairs: int = 3000, seed: int = 13
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The gate's training pairs: (related) up to ``max_pairs`` pairs whose text does not name its
    target, and (unrelated) the same texts with another target drawn at random.

    Raises ``ConfigError`` when there are fewer than 10 such pairs or fewer than two targets: the
    gate would have nothing to learn from (checked before training, so no fine-tune is lost).
    """
    from pipeline.errors import ConfigError

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(texts))
    real = [(texts[i], targets[i]) for i in order if not names_target(texts[i], targets[i])][:max_pairs]
    distinct = sorted(set(targets))
    if len(real) < MIN_PAIRS or len(distinct) < 2:
        raise ConfigError(
            f"model.relatedness_gate: the training data has {len(real)} pairs whose text does not name its "
            f"target and {len(distinct)} distinct targets (needs {MIN_PAIRS} and 2); remove the setting"
        )
    shuffled = []
    for text, target in real:
        other = distinct[rng.integers(len(distinct))]
        if other != target and not names_target(text, other):
            shuffled.append((text, other))
    return real, shuffled
