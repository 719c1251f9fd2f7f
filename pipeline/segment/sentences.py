"""Sentence splitting by plain rules, shared by topical segmentation and stance contexts."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*(?=\s+[\"'\u201c\u2018(\[]*[A-Z0-9])")
_ABBREVIATION = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Gen|Gov|Sen|Rep|No|vs|etc)|\b[A-Z])\.$")


def split_sentences(text: str) -> list[str]:
    """A plain rule-based sentence split (end punctuation, space, capital or digit); never empty.

    A full stop after a common title (Mr., Dr.) or a single capital (J. Smith, U.S.) does not end one.
    """
    text = text.strip()
    parts, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text[start : m.end()]):
            continue
        parts.append(text[start : m.end()].strip())
        start = m.end()
    parts.append(text[start:].strip())
    return [p for p in parts if p] or [text]
