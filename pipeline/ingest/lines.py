"""Plain text to lines with the shape features the plain-text rules read.

A scraped page is one block a line (a paragraph, a heading, a menu item ...), with or without blank
lines between. Hard-wrapped prose (a paragraph broken over several lines at ~72 columns) is joined
back into one line first, so that every rule sees one block a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from pipeline.ingest.scripts import script_words

_WORD = re.compile(r"\w+(?:['’.-]\w+)*", re.UNICODE)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_CLOSERS = "\"'”’»)]*"
_OPENERS = "\"'“‘«([*¡¿"
_TERMINAL = (".", "!", "?")
_WIDE_CLOSERS = "」』】〕）〉》"
_WIDE_OPENERS = "「『【〔（〈《"
#: Full-width (CJK), Arabic and Devanagari marks read as the ASCII mark the rules test for.
_ASCII_PUNCTUATION = {"。": ".", "｡": ".", "．": ".", "！": "!", "？": "?", "：": ":", "，": ",", "、": ",",
                      "；": ";", "؟": "?", "۔": ".", "।": ".", "،": ",", "؛": ";"}
_ELLIPSIS = ("…", "...")

# Common English function words: prose is dense in them, menus and link lists are not.
STOPWORDS = frozenset(
    [
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
        "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
        "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few",
        "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers",
        "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its",
        "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of",
        "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over",
        "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their",
        "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those",
        "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when",
        "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
        "yours", "yourself", "yourselves", "said", "says"
    ]
)


def words_of(text: str) -> list[str]:
    return _WORD.findall(text)


@dataclass(frozen=True)
class Line:
    """One non-blank line: its position among the non-blank lines and in the input (1-based)."""

    index: int
    number: int
    text: str
    chunk: int = 0
    """Which run of lines between blank lines it belongs to."""
    alone: bool = True
    """The only line of its chunk (a block set off by blank lines)."""
    any_script: bool = False
    """Read words and punctuation of every script: Chinese and Japanese words counted from their
    characters, full-width and Arabic punctuation read as its ASCII twin, a letter of a script
    without case (Han, Arabic, Hebrew ...) as good as a capital. Off: the English-first reading
    of `rules.v1`, unchanged."""

    @cached_property
    def words(self) -> list[str]:
        return script_words(self.text) if self.any_script else words_of(self.text)

    @property
    def n_words(self) -> int:
        return len(self.words)

    @cached_property
    def stopword_ratio(self) -> float:
        if not self.words:
            return 0.0
        return sum(w.lower() in STOPWORDS for w in self.words) / len(self.words)

    @cached_property
    def ending(self) -> str:
        """The last character that is not a closing quote or bracket ('' if none)."""
        closers = _CLOSERS + _WIDE_CLOSERS if self.any_script else _CLOSERS
        stripped = self.text.rstrip(closers + " ")
        if not stripped:
            return ""
        return _ASCII_PUNCTUATION.get(stripped[-1], stripped[-1]) if self.any_script else stripped[-1]

    @property
    def truncated(self) -> bool:
        """Ends with an ellipsis: a teaser cut short, not a finished sentence."""
        return self.text.rstrip(_CLOSERS + " ").endswith(_ELLIPSIS)

    @property
    def ends_sentence(self) -> bool:
        """Ends like a finished sentence: . ! ? (before any closing quotes), not an ellipsis."""
        return self.ending in _TERMINAL and not self.truncated

    @property
    def has_letters(self) -> bool:
        return bool(_LETTER.search(self.text))

    @property
    def starts_capital(self) -> bool:
        """First letter or digit (after opening quotes/brackets) is upper case or a digit."""
        body = self.text.lstrip(_OPENERS + (_WIDE_OPENERS if self.any_script else "") + " ")
        if not body:
            return False
        first = body[0]
        caseless = self.any_script and first.isalpha() and not (first.isupper() or first.islower())
        return first.isupper() or first.isdigit() or caseless

    @property
    def all_caps(self) -> bool:
        letters = _LETTER.findall(self.text)
        return len(letters) >= 2 and all(c.isupper() for c in letters)


def split_lines(text: str, any_script: bool = False) -> list[Line]:
    """Non-blank lines, stripped, hard-wrapped paragraphs joined back into one line each."""
    lines: list[Line] = []
    for chunk_id, (number, chunk) in enumerate(_chunks(text)):
        unwrapped = _unwrap(chunk)
        for offset, line in enumerate(unwrapped):
            lines.append(Line(len(lines), number + offset, line, chunk_id, len(unwrapped) == 1, any_script))
    return lines


def _chunks(text: str) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines (stripped) with the 1-based number of their first line."""
    chunks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if line:
            if not current:
                start = number
            current.append(line)
        elif current:
            chunks.append((start, current))
            current = []
    if current:
        chunks.append((start, current))
    return chunks


def _unwrap(chunk: list[str]) -> list[str]:
    """Join a chunk that is one paragraph hard-wrapped at a fixed width; else keep its lines.

    Hard-wrapped: at least two lines, all but the last of similar length (at least 40 characters and
    at least half the longest, which is at most 100), and most breaks fall inside a sentence.
    A chunk of one paragraph a line (long lines, or lines ending sentences) is left alone.
    """
    if len(chunk) < 2:
        return chunk
    longest = max(len(line) for line in chunk)
    body = chunk[:-1]
    if longest > 100 or any(len(line) < max(40, longest // 2) for line in body):
        return chunk
    mid_sentence = sum(not line.rstrip(_CLOSERS).endswith(_TERMINAL + (":",)) for line in body)
    if mid_sentence * 2 < len(body):
        return chunk
    return [" ".join(chunk)]
