"""Word counts and sentence ends that hold for every script, spaced or not.

Chinese and Japanese are written without spaces: a whole sentence is one `\\w+` run. Here each run
of Han, kana or Hangul-less CJK characters counts as one word per `CJK_CHARS_PER_WORD` characters,
which puts a Chinese sentence in the same range as its English translation. Cyrillic, Greek,
Arabic and Hebrew words are `\\w+` runs like Latin ones.
"""

from __future__ import annotations

import re

#: Han ideographs, Hiragana, Katakana, CJK punctuation-free ranges: scripts written without spaces.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u31f0-\u31ff]")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u31f0-\u31ff]+")
#: A word outside CJK: as `lines.words_of` reads it ("don't", "U.S." are one word).
_WORD = re.compile(r"\w+(?:['’.-]\w+)*", re.UNICODE)
_TOKEN = re.compile(r"\w+", re.UNICODE)
#: Characters of Chinese or Japanese text that make one word, on average.
CJK_CHARS_PER_WORD = 2.0
#: Sentence-final marks in the scripts we meet: Latin, CJK full-width, Arabic, Devanagari, Greek.
SENTENCE_ENDS = frozenset(".!?。！？｡؟۔।…")
QUESTION_MARKS = frozenset("?？؟;")


def cjk_chars(text: str) -> int:
    """How many Han or kana characters the text holds."""
    return len(_CJK.findall(text))


def count_words(text: str) -> int:
    """Words in any script (see `script_words`)."""
    return len(script_words(text))


def word_tokens(text: str) -> list[str]:
    """Lower-cased tokens for repetition counts: `\\w+` runs, CJK split into single characters."""
    spaced = _CJK_RUN.sub(lambda m: " " + " ".join(m.group()) + " ", text)
    return _TOKEN.findall(spaced.lower())


def script_words(text: str) -> list[str]:
    """Words in any script: `\\w+` runs outside CJK; CJK runs cut into pieces of two characters."""
    words: list[str] = []
    position = 0
    for match in _CJK_RUN.finditer(text):
        words += _WORD.findall(text[position : match.start()])
        run = match.group()
        step = int(CJK_CHARS_PER_WORD)
        words += [run[k : k + step] for k in range(0, len(run), step)]
        position = match.end()
    words += _WORD.findall(text[position:])
    return words
