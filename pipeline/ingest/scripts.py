"""Words and sentence ends in every script, spaced or not: one place for the HTML and text paths.

Chinese and Japanese are written without spaces, and Thai, Lao, Khmer and Burmese run words together:
`len(text.split())` counts a whole Chinese paragraph as one word, and a `\\w+` run a whole clause.

- `word_count` (HTML path): whitespace tokens, with the characters of unspaced scripts counted in
  proportion to a typical word length (2 for Chinese and Japanese, 4 for the South-East Asian scripts);
  English, Cyrillic, Greek, Arabic or Korean give the same counts as `split()`.
- `count_words` / `script_words` (plain-text line model, `Line.any_script`): `\\w+` words as the
  plain-text rules read them ("don't", "U.S." one word), Chinese and Japanese runs cut into pieces of
  two characters.
- Sentence ends include the full-width (`。！？`), Arabic (`؟ ۔`), Devanagari (`।`) and Greek (`;`) marks.
"""

from __future__ import annotations

import math
import re

#: Han (CJK ideographs and extensions), Hiragana, Katakana (and half-width), CJK compatibility.
_CJK_CLASS = ("[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
              "\U00020000-\U0002fa1f]")
# Scripts written without spaces between words, and a typical number of characters per word in each.
_UNSPACED: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(_CJK_CLASS), 2.0),
    # Thai, Lao, Myanmar, Khmer
    (re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]"), 4.0),
)
_CJK = _UNSPACED[0][0]
_CJK_RUN = re.compile(_CJK_CLASS + "+")
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
