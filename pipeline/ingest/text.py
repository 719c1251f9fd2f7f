"""Plain text as a scraper saved it: find title, standfirst, sub-headings; drop boilerplate.

The input is a whole page rendered as text, one block a line (menus, share buttons, captions, the
article, related links, footers ...), with or without blank lines between blocks. The parse runs in
five steps, each made of small named rules:

1. **Line rules** (`boilerplate.py`): each line alone is tested for site chrome, share buttons,
   newsletter and promo pitches, related-link labels, photo captions and credits, bylines and dates.
   Context rules then take as captions the short sentence above a photo credit, the line after a
   bare `Caption` label, the repeats of a caption, and (`_learn_credit_style`) the sentences above
   name-like credits on a page whose other captions end in a credit line.
2. **Body region** (`_body_region`): the run of lines with the most prose in it. Each line scores,
   prose (finished sentences, long lines) by its words, anything else a fixed cost; the body is the
   highest-scoring contiguous run (the maximum-sum subarray, as in Finn et al.'s Body Text
   Extraction), never crossing a copyright line or the start of the comments. It then reaches back
   over a few lines for a lead split off by a list of links, down over a short list of links for
   the rest of the text, and stops at a closing byline (the author's note after it is not text).
3. **Title** (`_find_title`): the most title-like line above the body: headline length, no final
   full stop, printed twice, followed by a byline, a date or a deck, and close to the body.
4. **Standfirst** (`_find_standfirst`): the line right after the title when it reads like a deck:
   set off from the body by a byline, a date or a picture, or without a final full stop.
5. **Blocks** (`_label_body`): inside the body, sentences and long lines are paragraphs. The other
   lines come in runs between paragraphs (`_settle_run`): one title-like line right above the text
   is a sub-heading; several are a list of links, dropped; a run opened by "Read more:" is related
   links. Headings far longer than the page's others are captions; repeated paragraphs are dropped.

Lines outside the body are dropped with the reason of their line rule, else by where they are:
`chrome` above the body, `related` or `promo` below it.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from pipeline.ingest import boilerplate as bp
from pipeline.ingest.lines import Line, split_lines
from pipeline.ingest.parsed import Parsed
from pipeline.records import Block, Dropped

#: Score of a line that is not prose, in words of prose: a run of body paragraphs may bridge a few
#: such lines (a picture, a share bar) but not a long list of links.
NON_PROSE_COST = 10.0
#: Extra cost of a label that opens a list of related links: the text usually changes there.
RELATED_LABEL_COST = 25.0
#: Words a sentence needs before it counts for the body rather than against it.
PROSE_OFFSET = 4.0
#: Most words of a caption found from the credit line under it.
CAPTION_WORDS = 30
#: A line without a final full stop is a paragraph only from this many words; shorter, between
#: paragraphs, it is a caption.
PARAGRAPH_WORDS = 40
#: Prose holds function words ("the", "of", "and" ...): a long line with fewer than this share of
#: them is a menu, a tag list or a keyword list (English pages only).
MIN_STOPWORD_RATIO = 0.05
#: Most a single line can score: one long legal notice must not outweigh an article.
MAX_LINE_SCORE = 60.0
#: Cost of a short line printed in one block with prose (a list under a lead-in line), or of a
#: lone title-like line between two prose lines.
LIST_ITEM_COST = 1.0
#: How many non-prose lines the body may reach back over to take in its lead (a list of links
#: or a picture often sits between the first paragraphs and the rest).
LEAD_GAP_LINES = 8
#: Most lines of links the body may reach down over to take in the rest of its text.
TAIL_GAP_LINES = 5
#: Words of each of the two sentences that must stand under such a gap.
TAIL_SENTENCE_WORDS = 12
#: What a line above the body must score to be taken in as part of the lead (a real sentence,
#: not "Read more about sharing.").
LEAD_MIN_SCORE = 5.0
#: Most lines (pictures, credits, captions) that may sit between a sub-heading and its text.
HEADING_GAP_LINES = 2
#: A heading this long must look like the page's other headings (see `_drop_long_odd_headings`).
LONG_HEADING_WORDS = 12
#: What each line of possible text between a title candidate and the body costs the candidate.
TITLE_DISTANCE_COST = 0.1
_BARRIER = float("-inf")
#: Reasons of the lines that head an article, between its title and its text.
_HEAD_REASONS = ("byline", "date", "share", "chrome", "promo", "newsletter")
#: Most words of a standfirst that only a picture sets apart from the body (a lead is longer).
DECK_WORDS = 30

_ABBREVIATION_END = re.compile(r"\b(?:[A-Z]\.){2,}[\"'”’]?$")
_ENUMERATED = re.compile(r"^\(?(?:\d{1,2}|[IVX]{1,4}|[A-Z])[.):]\s+\S")


def _read_page(lines: list[Line], drop_boilerplate: bool, max_heading_words: int) -> _Page:
    # Blank lines set blocks apart on this page (most lines stand alone): a line printed in one
    # block with others is then part of a list or a quote, never a heading.
    chunks = len({line.chunk for line in lines})
    use_chunks = chunks > 1 and sum(not line.alone for line in lines) * 2 < len(lines)
    long_lines = [line for line in lines if line.n_words >= 10]
    english = sum(line.stopword_ratio >= 0.2 for line in long_lines) * 2 >= len(long_lines)
    reasons = [bp.line_reason(line) if drop_boilerplate else None for line in lines]
    return _Page(lines, reasons, max_heading_words, use_chunks, english)


@dataclass
class _Page:
    lines: list[Line]
    reasons: list[str | None]
    max_heading_words: int
    use_chunks: bool
    english: bool = True
    """Most long lines hold English function words: the stop-word test applies."""

    # --- features that need the page ----------------------------------------------------------

    def is_paragraph(self, i: int) -> bool:
        """Article text inside the body: a finished sentence, a lead-in, a line printed in one block
        with others (a list, a quoted tweet), or a line long enough (`PARAGRAPH_WORDS`) to be text
        even without a final stop. A shorter line without one is a caption (`_settle_run`)."""
        line = self.lines[i]
        if self.heading_like(i):
            return False
        if line.ends_sentence or (line.ending == ":" and line.n_words >= 4):
            return True
        if self.use_chunks and not line.alone:  # one block of several lines: a list, a quoted tweet
            return True
        return line.n_words >= PARAGRAPH_WORDS

    def heading_like(self, i: int) -> bool:
        """Short, title-like: could be a sub-heading if it stands alone between paragraphs.

        At most `max_heading_words` words; no final full stop, comma, colon or exclamation mark (a
        question is fine); starts with a capital, a digit or a quote; no link or handle; set off by
        blank lines where the page uses them.
        """
        line = self.lines[i]
        if self.reasons[i] is not None or not line.has_letters or line.truncated:
            return False
        if not 1 <= line.n_words <= self.max_heading_words or line.ending in ",;:!":
            return False
        if line.ending == "." and not _ABBREVIATION_END.search(line.text):
            return False
        if self.use_chunks and not line.alone:
            return False
        return line.starts_capital and not bp.has_link(line)

    def score(self, i: int) -> float:
        """What line i adds to a body region: prose by its words, anything else a fixed cost.

        A copyright line or the start of the comments is a barrier no region crosses; a label
        opening a list of links costs more; a lone title-like line between two prose lines (a
        sub-heading, most likely) and a line printed in one block with prose cost little.
        """
        line, reason = self.lines[i], self.reasons[i]
        if bp.is_copyright(line) or bp.is_comments_marker(line):
            return _BARRIER
        if reason is not None:
            return -RELATED_LABEL_COST if bp.is_related_label(line) else -NON_PROSE_COST
        value = self.prose_value(i)
        if value is not None:
            return value
        between_prose = self.prose_value(i - 1) is not None and self.prose_value(i + 1) is not None
        if self.in_prose_block(i) or (self.heading_like(i) and between_prose):
            return -LIST_ITEM_COST
        return -NON_PROSE_COST

    def prose_value(self, i: int) -> float | None:
        """The score of a prose line (a sentence or a long line, no rule against it), else None."""
        if not 0 <= i < len(self.lines) or self.reasons[i] is not None:
            return None
        line = self.lines[i]
        if self.english and line.n_words >= 10 and line.stopword_ratio < MIN_STOPWORD_RATIO:
            return None  # glued menus, tag and keyword lists: words without the glue of sentences
        if line.ends_sentence or (line.ending == ":" and line.n_words >= 4):
            if not self.heading_like(i):
                return min(max(line.n_words - PROSE_OFFSET, 1.0), MAX_LINE_SCORE)
        elif line.n_words >= 20:
            return min(line.n_words / 2 - PROSE_OFFSET, MAX_LINE_SCORE)
        return None

    def in_prose_block(self, i: int) -> bool:
        """Printed in one block (no blank line) with a prose line: a list item or a continuation."""
        line = self.lines[i]
        if not self.use_chunks or line.alone:
            return False
        return any(
            other.chunk == line.chunk and other.n_words >= 8 and other.ending in ".:!?"
            for other in self.lines[max(0, i - 30) : i + 30]
        )


def parse_plain_text(text: str, *, drop_boilerplate: bool = True, max_heading_words: int = 16) -> Parsed:
    """Title, standfirst, body blocks (paragraphs and sub-headings) and dropped lines of a page.

    With `drop_boilerplate` off every line is kept: only the title, the standfirst and the
    sub-headings are picked out, with the first line as the only title candidate.
    """
    verdicts = rule_verdicts(text, drop_boilerplate=drop_boilerplate, max_heading_words=max_heading_words)
    return parsed_from_labels(verdicts.lines, verdicts.labels)


@dataclass(frozen=True)
class RuleVerdicts:
    """The rules' label for every non-blank line: 'title', 'standfirst', 'heading', 'paragraph' or
    the reason it was dropped; and where the rules put the body ([start, end) in line indices)."""

    lines: list[Line]
    labels: list[str]
    body: tuple[int, int]
    line_reasons: list[str | None]
    """Each line's own boilerplate reason before context (`boilerplate.line_reason`)."""
    page: _Page | None = None
    """The page as the rules finally read it (None for an empty text)."""

    @cached_property
    def heading_like(self) -> list[bool]:
        """Short and title-like (`_Page.heading_like`): could be a sub-heading between paragraphs."""
        return [self.page.heading_like(i) for i in range(len(self.lines))] if self.page else []

    @cached_property
    def prose(self) -> list[bool]:
        """Reads as prose (`_Page.prose_value`): a sentence or a long line no rule dropped."""
        return [self.page.prose_value(i) is not None for i in range(len(self.lines))] if self.page else []


def rule_verdicts(
    text: str, *, drop_boilerplate: bool = True, max_heading_words: int = 16, any_script: bool = False
) -> RuleVerdicts:
    """Run the plain-text rules and label each line (see the module docstring for the steps).

    `any_script` reads words and punctuation of every script (`Line.any_script`); off, the rules
    read pages as `rules.v1` always has.
    """
    lines = split_lines(text, any_script=any_script)
    if not lines:
        return RuleVerdicts([], [], (0, 0), [])
    page = _read_page(lines, drop_boilerplate, max_heading_words)
    line_reasons = list(page.reasons)
    if drop_boilerplate:
        _mark_context_captions(page)
        start, end = _body_region(page)
    else:
        start, end = 0, len(lines)
    body = (start, end)
    title_at = _find_title(page, start)
    if title_at is not None and title_at >= start:  # no boilerplate dropping: the title opens the text
        start = title_at + 1
    standfirst_at = _find_standfirst(page, title_at, start) if title_at is not None else None
    if standfirst_at is not None and standfirst_at >= start:
        start = standfirst_at + 1
    kinds = _label_body(page, start, end)
    if "paragraph" not in kinds.values():
        _rescue_a_paragraph(page, kinds, exclude={title_at, standfirst_at})

    labels: list[str] = []
    for i in range(len(lines)):
        kind = kinds.get(i)
        if i == title_at:
            kind = "title"
        elif i == standfirst_at:
            kind = "standfirst"
        elif not drop_boilerplate and kind != "heading":
            kind = "paragraph"
        labels.append(kind or page.reasons[i] or _outside_reason(page, i, start))
    return RuleVerdicts(lines, labels, body, line_reasons, page)


def parsed_from_labels(lines: list[Line], labels: list[str]) -> Parsed:
    """A `Parsed` from one label a line: title, standfirst, heading, paragraph, else a drop reason."""
    title = standfirst = None
    blocks: list[Block] = []
    dropped: list[Dropped] = []
    for line, label in zip(lines, labels, strict=True):
        if label == "title" and title is None:
            title = line.text
        elif label == "standfirst" and standfirst is None:
            standfirst = line.text
        elif label in ("paragraph", "heading"):
            blocks.append(Block(line.text, label))
        else:
            dropped.append(Dropped(line.text, label))
    return Parsed(title, standfirst, blocks, dropped)


# --- step 1: captions that need their neighbours ---------------------------------------------------


def _mark_context_captions(page: _Page) -> None:
    """Captions known from the lines around them.

    - the sentence right above a photo credit line ("Air pollution is surging. / Name/Getty Images")
      when it is short for the page (`_caption_words`): a credit may also stand alone under a picture;
    - the line right after a bare caption label ("Caption" / "Image caption");
    - any repeat of a line already taken as a caption (galleries print each caption twice).
    """
    lines, reasons = page.lines, page.reasons
    caption_words = _caption_words(page)
    for i, line in enumerate(lines):
        if reasons[i] == "credit" and bp.is_credit_line(line) and i > 0:
            above = lines[i - 1]
            # "Image copyright EPA" above "Image caption ...": the credit belongs to the caption below.
            credit_of_next = i + 1 < len(lines) and reasons[i + 1] == "caption"
            short = above.n_words <= caption_words
            if reasons[i - 1] is None and above.ends_sentence and short and not credit_of_next:
                reasons[i - 1] = "caption"
        bare_label = reasons[i] == "caption" and bp.is_caption_label(line) and line.n_words <= 2
        if bare_label and i + 1 < len(lines) and reasons[i + 1] is None and lines[i + 1].n_words >= 4:
            reasons[i + 1] = "caption"
    _learn_credit_style(page)
    captions = {lines[i].text for i in range(len(lines)) if reasons[i] == "caption" and lines[i].n_words >= 5}
    for i, line in enumerate(lines):
        if reasons[i] is None and line.text in captions:
            reasons[i] = "caption"


def _caption_words(page: _Page) -> float:
    """Most words of a caption on this page: well under its typical paragraph (60% of the median
    sentence line of ten words or more), and never over `CAPTION_WORDS`."""
    sentences = [
        line.n_words
        for i, line in enumerate(page.lines)
        if page.reasons[i] is None and line.ends_sentence and line.n_words >= 10
    ]
    return min(CAPTION_WORDS, 0.6 * statistics.median(sentences)) if sentences else 0.0


def _learn_credit_style(page: _Page) -> None:
    """Credits the page itself teaches: "Berkeley Earth" under a caption, where other captions end
    in a credit line such as "Sanjeev Verma/Hindustan Times/Getty Images".

    Where at least two photo credits follow a caption, a short name-like line (capitalised words,
    no function words) right under a sentence that is much shorter than the page's paragraphs is a
    credit too, and that sentence its caption. Not where such lines also stand under paragraphs:
    that page writes its sub-headings in Title Case.
    """
    lines, reasons = page.lines, page.reasons
    pairs = sum(
        1
        for i in range(1, len(lines))
        if reasons[i] == "credit" and bp.is_credit_line(lines[i]) and reasons[i - 1] == "caption"
    )
    if pairs < 2:
        return
    caption_words = _caption_words(page)

    def under_caption(i: int) -> bool:
        above = lines[i - 1]
        return reasons[i - 1] is None and above.ends_sentence and above.n_words <= caption_words

    name_lines = [
        i
        for i in range(1, len(lines) - 1)
        if reasons[i] is None and bp.is_name_like(lines[i]) and lines[i].n_words <= 4 and page.heading_like(i)
    ]
    if any(not under_caption(i) and page.prose_value(i - 1) is not None for i in name_lines):
        return  # name-like lines under long paragraphs too: Title Case headings, not credits
    for i in name_lines:
        if under_caption(i):
            reasons[i], reasons[i - 1] = "credit", "caption"


# --- step 2: the body region -----------------------------------------------------------------------


def _body_region(page: _Page) -> tuple[int, int]:
    """[start, end) of the highest-scoring run of lines; (0, 0) when no line scores above zero."""
    best, best_span = 0.0, (0, 0)
    total, run_start = 0.0, 0
    for i in range(len(page.lines)):
        value = page.score(i)
        if total <= 0:
            total, run_start = 0.0, i
        total += value
        if total > best:
            best, best_span = total, (run_start, i + 1)
        if total == _BARRIER:
            total = 0.0
    if best_span == (0, 0):
        return _fallback_region(page)
    start, end = _reach_back_for_lead(page, *best_span)
    return _end_at_closing_byline(page, *_reach_past_links(page, start, end))


def _reach_past_links(page: _Page, start: int, end: int) -> tuple[int, int]:
    """Take in the rest of the text below a short list of links ("Related coverage" and three
    headlines) that split the body.

    The gap may be at most `TAIL_GAP_LINES` lines, with no barrier, byline or date in it; under it
    must stand at least two prose lines in a row, each a sentence of `TAIL_SENTENCE_WORDS` words or
    more (teaser lists alternate headline, summary and date: they never do). The body then runs on
    as far as its running score is best.
    """
    n = len(page.lines)
    while end < n:
        j, gap_ok = end, True
        while j < n and page.prose_value(j) is None:
            if page.score(j) == _BARRIER or page.reasons[j] in ("byline", "date"):
                gap_ok = False
                break
            j += 1
        if not gap_ok or j - end > TAIL_GAP_LINES or j + 1 >= n:
            break
        if not all(_solid_sentence(page, k) for k in (j, j + 1)):
            break
        total, best, best_end = 0.0, 0.0, j
        for k in range(j, n):
            total += page.score(k)
            if total <= 0:  # also at a barrier
                break
            if total > best:
                best, best_end = total, k + 1
        end = best_end
    return start, end


def _solid_sentence(page: _Page, i: int) -> bool:
    line = page.lines[i]
    return page.prose_value(i) is not None and line.ends_sentence and line.n_words >= TAIL_SENTENCE_WORDS


def _end_at_closing_byline(page: _Page, start: int, end: int) -> tuple[int, int]:
    """A byline in the last part of the body ends it: what follows is the author's note.

    "By Jane Doe @jane" followed by "Jane has been obsessed with ..." after the last paragraph: the
    lines from the byline on are dropped when they hold under a fifth of the body's prose.
    """
    prose = [page.lines[i].n_words if page.score(i) > 0 else 0 for i in range(start, end)]
    total = sum(prose)
    for i in range(start + 1, end):
        if page.reasons[i] == "byline" and sum(prose[i - start :]) < total / 5:
            for j in range(i + 1, end):
                if page.reasons[j] is None:
                    page.reasons[j] = "byline"
            return start, i
    return start, end


def _reach_back_for_lead(page: _Page, start: int, end: int) -> tuple[int, int]:
    """Take in prose a few lines above the body: the lead split off by a list of links or a picture.

    Walks back from the start while the next prose line above is at most `LEAD_GAP_LINES` lines away
    and no copyright line, comments marker, byline or date lies between (those head the article:
    the body never starts above them).
    """
    i = start - 1
    gap = 0
    while i >= 0 and gap <= LEAD_GAP_LINES:
        value = page.score(i)
        if value == _BARRIER or page.reasons[i] in ("byline", "date"):
            break
        if value >= LEAD_MIN_SCORE:
            start, gap = i, 0
        else:
            gap += 1
        i -= 1
    return start, end


def _rescue_a_paragraph(page: _Page, kinds: dict[int, str], exclude: set[int | None]) -> None:
    """A page with no paragraph at all ("Hello world"): its longest line that no rule dropped is one."""
    candidates = [i for i in range(len(page.lines)) if page.reasons[i] is None and i not in exclude]
    if candidates:
        kinds[max(candidates, key=lambda i: page.lines[i].n_words)] = "paragraph"


def _fallback_region(page: _Page) -> tuple[int, int]:
    """No prose at all: the longest line not taken by a rule is the body."""
    candidates = [i for i in range(len(page.lines)) if page.reasons[i] is None]
    if not candidates:
        return 0, 0
    longest = max(candidates, key=lambda i: page.lines[i].n_words)
    return longest, longest + 1


# --- step 3: the title -----------------------------------------------------------------------------


def _title_like(page: _Page, i: int) -> bool:
    """A headline: 2 to 25 words, starts with a capital, no final full stop (an abbreviation such as
    'N.Y.C.' is fine), not cut short; all capitals only with four words or more (menus shout)."""
    line = page.lines[i]
    if page.reasons[i] is not None or not 2 <= line.n_words <= 25 or line.truncated:
        return False
    if line.ending in ",;:" or (line.ending == "." and not _ABBREVIATION_END.search(line.text)):
        return False
    return line.starts_capital and (not line.all_caps or line.n_words >= 4)


def _find_title(page: _Page, start: int) -> int | None:
    """The most title-like line before the body (see the module docstring), or None.

    Without boilerplate dropping the body starts at the top, so the first line is the only candidate.
    """
    lines = page.lines
    if start == 0:
        return 0 if lines and _title_like(page, 0) and len(lines) > 1 and lines[0].n_words <= 25 else None
    counts = Counter(line.text.casefold() for line in lines[:start])
    best, best_score = None, float("-inf")
    for i in range(start):
        if _title_like(page, i):
            score = _title_score(page, i, start, counts)
            if score >= best_score:
                best, best_score = i, score
    return best


def _title_score(page: _Page, i: int, start: int, counts: Counter[str]) -> float:
    """How title-like line i is, from these signals:

    - headline length (5 to 20 words; menu items are shorter);
    - printed twice above the body (page headers repeat the headline; a menu item does too, so
      only for four words or more);
    - followed by a byline, a date or a deck (the first paragraph counts for less; a deck with a
      byline or date under it, more), or preceded by a byline or a date;
    - close to the body: each line of possible text (a line no rule dropped) between costs.
    """
    line = page.lines[i]
    score = 1.0
    if counts[line.text.casefold()] > 1 and line.n_words >= 4:
        score += 3.0
    if 5 <= line.n_words <= 20:
        score += 1.0
    elif line.n_words <= 3:
        score -= 1.5
    after = _next_kept(page, i)
    if after is not None and _is_metadata_or_deck(page, after):
        score += 1.0 if after == start else 2.0  # a deck apart from the body says more than the body
        below = _next_kept(page, after)
        if page.reasons[after] is None and below is not None and page.reasons[below] in ("byline", "date"):
            score += 1.0  # the whole title block: headline, deck, byline
    if i > 0 and page.reasons[i - 1] in ("date", "byline"):
        score += 1.0
    between = sum(page.reasons[j] is None for j in range(i + 1, start))
    return score - TITLE_DISTANCE_COST * between


def _next_kept(page: _Page, i: int) -> int | None:
    """The next line that is not a caption or a credit (pictures sit between title and text)."""
    j = i + 1
    while j < len(page.lines) and page.reasons[j] in ("caption", "credit"):
        j += 1
    return j if j < len(page.lines) else None


def _is_metadata_or_deck(page: _Page, i: int) -> bool:
    line = page.lines[i]
    if page.reasons[i] in ("byline", "date"):
        return True
    deck_length = 6 <= line.n_words <= 60 and (line.ends_sentence or line.n_words >= 10)
    return page.reasons[i] is None and deck_length and line.starts_capital


# --- step 4: the standfirst ------------------------------------------------------------------------


def _find_standfirst(page: _Page, title_at: int, start: int) -> int | None:
    """The deck right after the title (pictures skipped), or None.

    It must read like a sentence or a deck (six words or more, no rule against it) and either stand
    apart from the body (a byline, a date, share buttons under it; or a picture under a short one)
    or lack a final full stop, as decks do. A first paragraph that simply follows the title is left
    in the body, and so is the only paragraph of a page.
    """
    i = _next_kept(page, title_at)
    if i is None or i > start or page.reasons[i] is not None:
        return None
    line = page.lines[i]
    if not (6 <= line.n_words <= 60 and line.starts_capital) or line.text == page.lines[title_at].text:
        return None
    if not any(page.is_paragraph(j) and page.reasons[j] is None for j in range(i + 1, len(page.lines))):
        return None  # the only text there is: a paragraph, not a standfirst
    if i < start:
        return i
    below = page.reasons[i + 1]
    set_apart = below in _HEAD_REASONS or (below in ("caption", "credit") and line.n_words <= DECK_WORDS)
    deck_style = not line.ends_sentence and line.n_words <= 35
    return i if set_apart or deck_style else None


# --- step 5: paragraphs and headings ---------------------------------------------------------------


def _label_body(page: _Page, start: int, end: int) -> dict[int, str]:
    """Kind of each body line: 'paragraph', 'heading' or a drop reason. Lines that are not paragraphs
    come in runs between paragraphs, settled by `_settle_run`; a repeated paragraph is dropped."""
    kinds: dict[int, str] = {}
    run: list[int] = []
    seen: set[str] = set()
    first = True
    for i in range(start, end):
        line, reason = page.lines[i], page.reasons[i]
        if reason is None and page.is_paragraph(i):
            _settle_run(page, run, kinds, can_hold_heading=not first)
            run, first = [], False
            key = line.text.casefold()
            kinds[i] = "duplicate" if key in seen and line.n_words >= 5 else "paragraph"
            seen.add(key)
        else:
            run.append(i)
    _settle_run(page, run, kinds, can_hold_heading=False)
    _drop_long_odd_headings(page, kinds)
    return kinds


def _drop_long_odd_headings(page: _Page, kinds: dict[int, str]) -> None:
    """Sub-headings of one article share a style: a 'heading' of `LONG_HEADING_WORDS` or more that
    is three times as long as the page's other headings (median) is a picture caption."""
    headings = [i for i, kind in kinds.items() if kind == "heading"]
    for i in headings:
        words = page.lines[i].n_words
        others = [page.lines[j].n_words for j in headings if j != i]
        if words >= LONG_HEADING_WORDS and others and words >= 3 * statistics.median(others):
            kinds[i] = "caption"


def _settle_run(page: _Page, run: list[int], kinds: dict[int, str], can_hold_heading: bool) -> None:
    """The lines between two paragraphs.

    - A run opened by a related-links label ("Read more:") is links: all dropped as `related`.
    - One title-like line is the sub-heading if it sits right above the text (at most
      `HEADING_GAP_LINES` lines of pictures, credits or captions between); with a picture gallery
      between, it is the gallery's title; repeating words of a paragraph, it is a pull quote.
    - Several title-like lines are a list of links (or a list), dropped; except a numbered line
      followed by unnumbered ones: a numbered heading with the title of its picture or video.
    - A lone line that is neither: a caption if long, else chrome.
    """
    if not run:
        return
    related = any(page.reasons[i] is not None and bp.is_related_label(page.lines[i]) for i in run)
    items = [i for i in run if page.reasons[i] is None]
    candidates = [i for i in items if page.heading_like(i)] if can_hold_heading and not related else []
    heading: int | None = None
    if len(candidates) == 1:
        heading = candidates[0]
    elif len(candidates) >= 2 and candidates[0] == items[0]:
        numbered = [i for i in candidates if _ENUMERATED.match(page.lines[i].text)]
        if numbered == [candidates[0]]:
            heading = candidates[0]
    if heading is not None and _is_pull_quote(page, heading):
        kinds[heading] = "duplicate"
        items.remove(heading)
        heading = None
    if heading is not None:
        below = run[run.index(heading) + 1 :]
        if len(below) > HEADING_GAP_LINES or any(bp.is_gallery_marker(page.lines[i]) for i in below):
            heading = None
    listed = len(items) >= 2 and heading is None
    for i in items:
        if i == heading:
            kinds[i] = "heading"
        elif related:
            kinds[i] = "related"
        elif heading is not None and i in candidates:
            kinds[i] = "caption"
        elif listed:
            kinds[i] = "list" if _is_list(page, items) else "related"
        elif page.lines[i].n_words >= 12 or any(bp.is_gallery_marker(page.lines[j]) for j in run):
            kinds[i] = "caption"
        else:
            kinds[i] = "chrome"


def _is_pull_quote(page: _Page, i: int) -> bool:
    """A line of ten words or more repeated inside a longer line: a pull quote, not a heading.

    (Shorter headings often do repeat words of the text: "We need to listen".)
    """
    text = _plain(page.lines[i].text)
    if len(text.split()) < 10:
        return False
    return any(
        j != i and page.lines[j].n_words > page.lines[i].n_words and text in _plain(page.lines[j].text)
        for j in range(len(page.lines))
    )


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def _is_list(page: _Page, items: list[int]) -> bool:
    """Numbered items, or items printed as one block with no blank lines: a list, not links."""
    lines = [page.lines[i] for i in items]
    return sum(bool(_ENUMERATED.match(line.text)) for line in lines) >= 2 or (
        page.use_chunks and len({line.chunk for line in lines}) == 1
    )


# --- reasons for lines outside the body ------------------------------------------------------------


def _outside_reason(page: _Page, i: int, start: int) -> str:
    """Before the body: site chrome. After it: links to other stories, or promotion."""
    line = page.lines[i]
    if i < start or line.n_words <= 3:
        return "chrome"
    if line.ends_sentence or line.n_words > 20:
        return "promo"
    return "related"

