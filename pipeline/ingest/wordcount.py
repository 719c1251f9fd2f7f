"""Word counts and sentence ends that hold in any writing system.

`len(text.split())` counts a whole Chinese or Japanese paragraph as one word (those scripts put no
spaces between words) and Thai, Lao, Khmer and Burmese run words together in the same way. Here the
characters of such scripts count as words in proportion to a typical word length in them (2 characters
for Chinese and Japanese, 4 for the South-East Asian scripts), and everything else is counted by
whitespace as before, so English, Cyrillic, Greek, Arabic or Korean text gives the same counts as
`split()`. Sentence ends include the full-width (`。！？`), Arabic (`؟ ۔`), Devanagari (`।`) and Greek
(`;`, U+037E) marks.
"""

from __future__ import annotations

import math
import re

# Scripts written without spaces between words, and a typical number of characters per word in each.
_UNSPACED: tuple[tuple[re.Pattern[str], float], ...] = (
    # Han (CJK ideographs and extensions), Hiragana, Katakana (and half-width), CJK compatibility
    (re.compile("[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
                "\U00020000-\U0002fa1f]"), 2.0),
    # Thai, Lao, Myanmar, Khmer
    (re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]"), 4.0),
)
# Marks that end a sentence, in Latin, CJK (full-width), Arabic, Urdu, Devanagari and Greek text.
SENTENCE_MARKS = ".!?\u3002\uff01\uff1f\uff0e\u061f\u06d4\u0964\u0965\u037e"
# Closing quotes and brackets that may follow the mark (`."`, `。」`, `!)`, `?»`).
CLOSERS = "\"'\u201d\u2019)\u300d\u300f\uff09\u00bb\u203a\u3011"
SENTENCE_END = re.compile(f"[{re.escape(SENTENCE_MARKS)}][{re.escape(CLOSERS)}]*$")


def word_count(text: str) -> int:
    """Words in `text`: whitespace-separated tokens, with runs of unspaced scripts counted by length.

    `word_count("The council met")` is 3; `word_count("市议会昨晚开会讨论渡轮")` (11 characters) is 6."""
    rest = text
    unspaced = 0.0
    for pattern, chars_per_word in _UNSPACED:
        found = len(pattern.findall(rest))
        if found:
            unspaced += found / chars_per_word
            rest = pattern.sub(" ", rest)
    return len(rest.split()) + math.ceil(unspaced)


def ends_sentence(text: str) -> bool:
    """The text ends like a sentence (a full stop, question or exclamation mark, in any script)."""
    return bool(SENTENCE_END.search(text.rstrip()))
