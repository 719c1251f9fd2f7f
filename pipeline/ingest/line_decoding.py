"""Decoding a page's line probabilities as one sequence, not line by line (learned.v4).

The line model gives each line p(other), p(paragraph), p(heading) from the line and a few
neighbours. A page, though, has a shape: site chrome, then the article (paragraphs with sub-headings
between them, a picture or a share bar here and there), then related links and footers. The decoder
finds the most likely sequence of states under that shape with the Viterbi algorithm, as a hybrid
HMM does in speech recognition: each line's class posterior divided by the class prior (raised to
`prior_weight`) stands in for the emission likelihood, and the transitions between states are
counted on the training pages. A heading is then decided by its neighbours as well as by itself:
a short line between two runs of paragraphs becomes a sub-heading at a lower probability, a lone
paragraph-like line amid chrome stays chrome.

States (`shape="page"`): chrome above the article, paragraph, heading, other lines inside the
article, related below it; `shape="flat"`: other, paragraph, heading.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

import numpy as np

#: The line class (0 other, 1 paragraph, 2 heading) each state emits, by page shape.
STATE_CLASSES = {"flat": (0, 1, 2), "page": (0, 1, 2, 0, 0)}
_FLOOR = 1e-6


def page_states(labels: np.ndarray, shape: str) -> np.ndarray:
    """The states of a labelled page's lines: with `shape="page"` its other lines are split into
    chrome (above the first text line), inside the article, and related (below the last)."""
    labels = np.asarray(labels, dtype=int)
    if shape == "flat":
        return labels.copy()
    states = labels.copy()
    text = np.flatnonzero(labels > 0)
    if len(text) == 0:
        return np.zeros_like(labels)
    other = labels == 0
    index = np.arange(len(labels))
    states[other & (index > text[0]) & (index < text[-1])] = 3
    states[other & (index > text[-1])] = 4
    return states


@dataclass(frozen=True)
class SequenceDecoder:
    """Viterbi decoding of line-class probabilities over the states of a page (see the module)."""

    transitions: tuple[tuple[float, ...], ...]
    """log P(state j | state i), row i."""
    start: tuple[float, ...]
    """log P(first line's state)."""
    priors: tuple[float, ...]
    """log P(class) over the training lines: other, paragraph, heading."""
    shape: str = "page"
    prior_weight: float = 1.0
    """How far a class posterior is divided by its prior (1: the hybrid HMM's scaled likelihood)."""
    heading_bias: float = 0.0
    """Added to a heading's log score: above 0 more sub-headings, below 0 fewer."""
    transition_weight: float = 1.0
    """How much the page's shape counts against each line's own evidence."""
    min_heading: float = 0.0
    """A decoded heading with a lower p(heading) is not one (it stays the rules' text, if it was)."""
    lone_heading: float = 0.9
    """A page's only heading stays one only with this p(heading) (sub-headings come in twos or more)."""
    dropped_penalty: float = 0.0
    """Taken off the text states' log score of a line the rules drop as a caption, credit, byline,
    date or share bar (`decode`'s `dropped`): the page's shape alone does not make it text."""

    @classmethod
    def fit(cls, label_sequences: Iterable[np.ndarray], shape: str = "page",
            **settings: float) -> SequenceDecoder:
        """Transitions, first states and class priors counted on labelled pages (smoothed: every
        transition counts 0.5, every first state and class 1, before the pages' own)."""
        n_states = len(STATE_CLASSES[shape])
        counts = np.full((n_states, n_states), 0.5)
        first = np.ones(n_states)
        classes = np.ones(3)
        for labels in label_sequences:
            if len(labels) == 0:
                continue
            states = page_states(labels, shape)
            first[states[0]] += 1
            np.add.at(counts, (states[:-1], states[1:]), 1)
            classes += np.bincount(np.asarray(labels, dtype=int), minlength=3)
        transitions = np.log(counts / counts.sum(axis=1, keepdims=True))
        return cls(_rounded(transitions), _rounded(np.log(first / first.sum())),
                   _rounded(np.log(classes / classes.sum())), shape, **settings)

    def with_settings(self, **settings: float) -> SequenceDecoder:
        """The same counts with other decoding settings (a search over them refits nothing)."""
        return replace(self, **settings)

    def as_dict(self) -> dict:
        """JSON-ready: stored in the line model's meta.json."""
        return {key: [list(row) for row in value] if key == "transitions" else
                list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> SequenceDecoder:
        data = dict(data)
        data["transitions"] = tuple(tuple(float(x) for x in row) for row in data["transitions"])
        data["start"] = tuple(float(x) for x in data["start"])
        data["priors"] = tuple(float(x) for x in data["priors"])
        return cls(**data)

    def decode(self, probabilities: np.ndarray, dropped: np.ndarray | None = None) -> np.ndarray:
        """The most likely class of each line (0 other, 1 paragraph, 2 heading) as one sequence;
        `dropped` marks the lines that pay `dropped_penalty` to be text."""
        n = len(probabilities)
        if n == 0:
            return np.zeros(0, dtype=int)
        classes = np.asarray(STATE_CLASSES[self.shape])
        scores = np.log(np.clip(probabilities, _FLOOR, 1.0)) - self.prior_weight * np.asarray(self.priors)
        scores[:, 2] += self.heading_bias
        if dropped is not None and self.dropped_penalty:
            scores[np.asarray(dropped, dtype=bool), 1:] -= self.dropped_penalty
        emissions = scores[:, classes]
        transitions = self.transition_weight * np.asarray(self.transitions)
        best = emissions[0] + self.transition_weight * np.asarray(self.start)
        back = np.zeros((n, len(classes)), dtype=np.int64)
        for i in range(1, n):
            candidates = best[:, None] + transitions
            back[i] = candidates.argmax(axis=0)
            best = candidates.max(axis=0) + emissions[i]
        states = np.empty(n, dtype=np.int64)
        states[-1] = int(best.argmax())
        for i in range(n - 1, 0, -1):
            states[i - 1] = back[i, states[i]]
        return classes[states]


def _rounded(array: np.ndarray) -> tuple:
    """Floats rounded to 6 places as nested tuples: the same counts give the same meta.json."""
    if array.ndim == 1:
        return tuple(round(float(x), 6) for x in array)
    return tuple(_rounded(row) for row in array)
