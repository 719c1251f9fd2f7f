"""HTML pages: main text through trafilatura, sub-headings kept, page furniture dropped.

`parse_html` works in five steps:

1. **Parse** the page with lxml; nothing parseable gives an empty result, never an exception.
2. **Extract** the main content with trafilatura (`bare_extraction` with formatting and links kept,
   comments left out) and flatten its XML into candidate blocks (`html_blocks`). Where that gives no
   article text, steps 2-5 are run again with the next of `EXTRACTION_MODES`: trafilatura's
   `favor_recall`, the page's largest text block, trafilatura's baseline.
3. **Locate** each block in the original page (`html_dom.DomIndex`). From that: the *article root*
   (the deepest element holding 80 % of the body words) and the *body containers* (the kinds of element,
   tag + class words, that directly hold at least 15 % of the body words).
   Rule *split body*: when the container of the body paragraphs has twins elsewhere in the page (same
   tag and class, holding article-like paragraphs: a body split around ads), they are stitched together
   and the extraction is run again.
4. **Title and standfirst** (`html_meta` and `_Rules._title_and_standfirst`).
5. **Rules** on top of trafilatura, each documented where it is applied (`_Rules`): blocks in figures,
   asides, navs and footers, photo captions, promos, related links, sign-ups and credits are dropped;
   sub-headings are kept only where they belong to the article (not widget labels, not in a review box
   or teaser card, not empty); heading-like paragraphs (all bold, all capitals, a heading class) are
   promoted; an `<h2>`-`<h4>` that trafilatura lost between two body blocks is put back.

Everything removed that was extracted is listed in `Parsed.dropped` with its reason, in reading order.
No rule names a site or a site's class: they use HTML semantics, the page's own structure, and the
wording of page furniture ("Related", "Read more:", "Sign up for ...", and the same labels in other
languages). Word counts and sentence ends hold in any script (`wordcount`): a Chinese or Japanese
paragraph is not one "word".
"""

from __future__ import annotations

import copy
import re
from collections import Counter

from lxml import etree

from pipeline.ingest.html_blocks import Candidate, body_to_candidates, largest_block_body
from pipeline.ingest.html_dom import (
    HEADING_TAGS,
    DomIndex,
    contains,
    in_chrome,
    key,
    link_share,
    text_of,
    widget_box,
)
from pipeline.ingest.html_meta import find_description, find_title, load_dom
from pipeline.ingest.html_rules import (
    is_all_caps_line,
    is_not_heading,
    is_widget_heading,
    looks_like_heading_text,
    promo_reason,
)
from pipeline.ingest.parsed import Parsed
from pipeline.ingest.scripts import ends_sentence, word_count
from pipeline.records import Block, Dropped

MAIN_SHARE = 0.15  # a container kind directly holding this share of the body words is a body container
SHORT_PAGE_SHARE = 0.8  # a page without prose is kept when its blocks hold this share of its shown words
ROOT_SHARE = 0.8  # the article root holds this share of the body words
# Class / id words of elements styled as sub-headings (`<p class="subhead">`, `<div class="crosshead">`).
HEADING_CLASS = re.compile(r"(?:^|[-_\s])(?:sub-?head\w*|cross-?head\w*|inter-?title\w*|section-?title|"
                           r"heading)(?:$|[-_\s\d])", re.I)
# Class / id / itemprop words of a standfirst shown under the headline.
STANDFIRST_CLASS = re.compile(r"(?:^|[-_\s])(?:dek|standfirst|sub-?headline|subtitle|strapline|summary|"
                              r"description|excerpt|deck)(?:$|[-_\s])", re.I)
_LETTER_OR_DIGIT = re.compile(r"\w")


def parse_html(html: str, *, max_heading_words: int = 16) -> Parsed:
    """Title, standfirst, body blocks (paragraphs and sub-headings in reading order) and dropped blocks.

    The extraction modes of `EXTRACTION_MODES` are tried in turn until one gives article text (a
    paragraph that survives the rules). A page with no article text gives no blocks; unparseable input
    gives an empty result."""
    root = load_dom(html)
    if root is None:
        return Parsed(None, None, [], [])
    title = find_title(root)
    description = find_description(root)
    parsed = Parsed(title, None, [], [])
    for mode in EXTRACTION_MODES:
        page = _Page.extract(root, mode)
        if page is None:
            continue
        parsed = _Rules(page, title, description, max_heading_words).run()
        if any(b.kind == "paragraph" for b in parsed.blocks):
            break
    return parsed


# --------------------------------------------------------------------------- extraction


# Trafilatura's precise extraction first; where it finds no article text, its recall-oriented one; then
# the largest text block of the page (`html_blocks.largest_block_body`); then trafilatura's baseline
# (text of the `<article>`, the paragraphs, or the whole `<body>`).
EXTRACTION_MODES = ("precision", "recall", "largest block", "baseline")


def extract_body(root, mode: str = "precision"):
    """Trafilatura's main-content tree of the page (the `<body>` of its XML) in `mode` (one of
    `EXTRACTION_MODES`), or None."""
    import trafilatura

    try:
        if mode == "largest block":
            return largest_block_body(root)
        if mode == "baseline":
            return _one_paragraph_a_line(trafilatura.baseline(copy.deepcopy(root))[0])
        doc = trafilatura.bare_extraction(
            copy.deepcopy(root),
            favor_recall=mode == "recall",
            include_formatting=True,
            include_links=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            with_metadata=False,
        )
    except Exception:  # noqa: BLE001 - the extractor failing on odd markup means "no article text"
        return None
    return getattr(doc, "body", None) if doc is not None else None


def _one_paragraph_a_line(body):
    """Trafilatura's baseline may give text blocks as lines of one `<p>`: one `<p>` a line instead."""
    for p in list(body.iter("p")):
        lines = [line for line in (p.text or "").split("\n") if line.strip()]
        if len(p) or len(lines) < 2:
            continue
        for line in reversed(lines):
            new = etree.Element("p")
            new.text = line
            p.addnext(new)
        p.getparent().remove(p)
    return body


class _Page:
    """The page, its extracted candidates, and where they sit in it."""

    def __init__(self, root, cands: list[Candidate], mode: str = "precision") -> None:
        self.root = root
        self.cands = cands
        self.mode = mode
        self.index = DomIndex(root)
        position = -1
        for n, c in enumerate(cands):
            c.order = n
            c.node = self.index.find(c.text, position)
            if c.node is None:
                continue
            position = max(position, self.index.position(c.node))
            if key(text_of(c.node)) == key(c.text):
                c.link_share = max(c.link_share, link_share(c.node))
        weights = [(c.node, c.words) for c in cands if c.kind == "paragraph" and c.node is not None]
        self.article_root = _deepest_holding(weights, ROOT_SHARE)
        # a page whose "article" sits in a nav, menu or footer has none
        root = self.article_root
        self.root_is_chrome = root is not None and any(
            a.tag in ("nav", "footer", "menu") for a in [root, *root.iterancestors()])
        total = sum(w for _, w in weights) or 1
        by_kind: Counter = Counter()
        self.parent_count: Counter = Counter()
        for node, words in weights:
            parent = node.getparent()
            if parent is not None:
                by_kind[_kind(parent)] += words
                self.parent_count[parent] += 1
        self.main_kinds = {k for k, w in by_kind.items() if w >= MAIN_SHARE * total}
        if by_kind:
            self.main_kinds.add(by_kind.most_common(1)[0][0])
        self.main_parent = max(self.parent_count, key=self.parent_count.get) if self.parent_count else None
        # body blocks directly under each element, a list of body paragraphs counting as one block
        self.block_count: Counter = Counter(self.parent_count)
        for lst in {_outer_list(node) for node, _ in weights} - {node for node, _ in weights}:
            if lst.getparent() is not None:
                self.block_count[lst.getparent()] += 1

    @classmethod
    def extract(cls, root, mode: str = "precision") -> _Page | None:
        """The page's candidates as extracted in `mode`, stitched where the body was split; None when
        the extraction found nothing."""
        cands = body_to_candidates(extract_body(root, mode))
        if not cands:
            return None
        page = cls(root, cands, mode)
        return page.stitched() or page

    def stitched(self) -> _Page | None:
        """Rule *split body*: the container of the body paragraphs has twins elsewhere in the page (same
        tag and class attribute) that hold article-like paragraphs (40+ words of `<p>` text with few
        links): the body was split around ads or embeds. Move the twins' children into the first
        container, extract again, and keep that if it holds more body text."""
        parent = self.main_parent
        if parent is None or parent.tag not in ("div", "section", "article"):
            return None
        if not parent.get("class", "").strip():
            return None
        twins = [el for el in self.root.iter(parent.tag)
                 if el.get("class") == parent.get("class") and not contains(el, parent)
                 and not contains(parent, el) and _paragraph_rich(el)]
        if not twins:
            return None
        clone = copy.deepcopy(self.root)
        tree = self.root.getroottree()
        target = clone.xpath(tree.getpath(parent))
        moved = [clone.xpath(tree.getpath(el)) for el in twins]
        if len(target) != 1 or any(len(m) != 1 for m in moved):
            return None
        for (el,) in moved:
            for child in list(el):
                target[0].append(child)
            el.getparent().remove(el)
        cands = body_to_candidates(extract_body(clone, self.mode))
        if _words(cands) <= _words(self.cands):
            return None
        return _Page(clone, cands, self.mode)

    # ----------------------------------------------------------------- where blocks sit

    def in_main_kind(self, node) -> bool:
        """The node's parent is of a body-container kind: same tag and at least half of the class words
        in common (`article-text c-gray` ~ `article-text c-gray wide`)."""
        parent = node.getparent()
        if parent is None:
            return False
        tag, words = _kind(parent)
        return any(tag == main_tag and len(words & main_words) >= 0.5 * len(words | main_words)
                   for main_tag, main_words in self.main_kinds)

    def in_body_container(self, node) -> bool:
        """In a body-container kind, or in an element that directly holds two or more body blocks
        (paragraphs, or lists of body paragraphs)."""
        parent = node.getparent()
        return parent is not None and (self.in_main_kind(node) or self.block_count[parent] >= 2)

    def chrome(self, node) -> str | None:
        """`caption`, `chrome` or `header` (see `html_dom.in_chrome`) for a node of the article root, looked
        at up to that root (the wrappers around a whole article say nothing about one block)."""
        if self.root_is_chrome:
            return "chrome"
        root = self.article_root
        return in_chrome(node, stop=root if root is not None and contains(root, node) else None)


def _kind(el) -> tuple[str, frozenset]:
    """An element's kind: its tag and its class words."""
    return el.tag, frozenset((el.get("class") or "").split())


def _words(cands: list[Candidate]) -> int:
    return sum(c.words for c in cands if c.kind == "paragraph")


def _paragraph_rich(el) -> bool:
    words = 0
    for p in el.iter("p"):
        n = word_count(text_of(p))
        if n >= 8 and link_share(p) <= 0.3:
            words += n
    return words >= 40


def _deepest_holding(weights, share: float):
    """The deepest element that contains `share` of the words of the weighted nodes."""
    total = sum(w for _, w in weights)
    if not total:
        return None
    counts: Counter = Counter()
    for node, words in weights:
        for anc in [node, *node.iterancestors()]:
            counts[anc] += words
    best = [el for el, w in counts.items() if w >= share * total]
    return max(best, key=lambda el: sum(1 for _ in el.iterancestors())) if best else None


# --------------------------------------------------------------------------- rules


class _Rules:
    """The rules on top of trafilatura, applied in `run` in this order."""

    def __init__(self, page: _Page, title: str | None, description: str, max_heading_words: int) -> None:
        self.page = page
        self.title = title
        self.description = description
        self.max_words = max_heading_words
        self.dropped: list[tuple[float, Dropped]] = []
        self.standfirst: str | None = None

    def drop(self, c: Candidate, reason: str) -> None:
        self.dropped.append((c.order, Dropped(c.text, reason)))

    def run(self) -> Parsed:
        cands = [c for c in self.page.cands if self._keep_block(c)]
        cands = self._title_and_standfirst(cands)
        cands = self._restore_lost_headings(cands)
        cands = self._judge_headings(cands)
        cands = self._drop_link_lines(cands)
        cands = self._drop_empty_headings(cands)
        cands = self._require_prose(cands)
        blocks = [Block(c.text, "heading" if c.kind == "heading" else "paragraph") for c in cands]
        dropped = [d for _, d in sorted(self.dropped, key=lambda t: t[0])]
        return Parsed(self.title, self.standfirst, blocks, dropped)

    def _keep_block(self, c: Candidate) -> bool:
        """Blocks that are not article text, whatever trafilatura thought:

        * *chrome*: inside a `<nav>`, `<aside>`, `<footer>` (or a navigation / complementary role)
          within the article root, or anywhere when the whole extracted text sits in a nav or footer;
        * *caption*: inside a `<figure>`, or repeating an image's `alt` / `title` or a `<figcaption>`, or
          the only item of a list placed right after an image;
        * *widget*: a paragraph outside the body containers in a box whose class names a widget
          (byline, share bar, rating, promo, related...); a short line that is a widget label
          ("Advertisement", "Read more:"); list items under such a label ("More stories" + links);
        * *promo* / *related* / *credit*: `html_rules.promo_reason` (bracketed promos, "Related: ...",
          newsletter blurbs, "Reporting by ...", "X contributed to this report");
        * *empty*: no letter or digit at all.
        """
        if not _LETTER_OR_DIGIT.search(c.text):
            self.drop(c, "empty")
            return False
        node = c.node
        if node is not None:
            where = self.page.chrome(node)
            if where in ("caption", "chrome"):
                self.drop(c, where)
                return False
            if c.kind == "paragraph" and not self.page.in_body_container(node):
                box = widget_box(node, stop=self.page.article_root)
                if box:
                    self.drop(c, "byline" if box.startswith(("byline", "author")) else "widget")
                    return False
        if self.page.index.is_caption(c.text):
            self.drop(c, "caption")
            return False
        if c.kind == "paragraph" and c.words <= 6 and is_widget_heading(c.text):
            self.drop(c, "widget")
            return False
        if c.source == "item" and node is not None:
            if _caption_list(node):
                self.drop(c, "caption")
                return False
            label = _list_label(node)
            if label and is_widget_heading(label):
                self.drop(c, "related")
                return False
        if c.kind == "paragraph":
            reason = promo_reason(c.text, c.words, c.link_share)
            if reason:
                self.drop(c, reason)
                return False
        return True

    def _title_and_standfirst(self, cands: list[Candidate]) -> list[Candidate]:
        """The headline repeated in the body (the title or an `<h1>` before the first paragraph, or an
        `<h1>` anywhere) is dropped.

        The standfirst is the first of: a leading block equal to the page description (`og:description`,
        possibly truncated) that does not sit among the body paragraphs; a leading heading too long to
        be a sub-heading and ending like a sentence (a dek set as `<h2>`); the description, or an element
        with a standfirst class (`dek`, `standfirst`, `subtitle`...), shown above the first body paragraph
        outside the body containers. Any body block equal to it is removed.
        """
        titles = {key(self.title or "")} | self._headline_h1s()
        titles.discard("")
        desc = key(self.description)
        out: list[Candidate] = []
        lead = True  # before the first body paragraph
        for c in cands:
            k = key(c.text)
            if k in titles and ((lead and (c.kind == "heading" or c.words <= 2 * self.max_words))
                                or (c.kind == "heading" and c.level == 1)):
                self.drop(c, "title")
                continue
            if lead and self.standfirst is None:
                if desc and _same_text(k, desc) and not (c.node is not None and self._among_body(c.node)):
                    self.standfirst = c.text
                    continue
                if c.kind == "heading" and c.words > self.max_words and ends_sentence(c.text):
                    self.standfirst = c.text
                    continue
            if c.kind == "paragraph" and not c.bold_only:
                lead = False
            out.append(c)
        if self.standfirst is None:
            self.standfirst = self._shown_standfirst(out)
        if self.standfirst:
            sk = key(self.standfirst)
            out = [c for c in out if key(c.text) != sk]
        return out

    def _headline_h1s(self) -> set[str]:
        """The keys of the `<h1>`s that may be the page's headline: the first one, and those that are
        (part of) the title. A page with several `<h1>`s may use the others for its sections."""
        h1s = [k for k in (key(text_of(h)) for h in self.page.root.iter("h1")) if k]
        title = key(self.title or "")
        return set(h1s[:1]) | {k for k in h1s if title and k in title}

    def _among_body(self, node) -> bool:
        parent = node.getparent()
        return parent is not None and self.page.parent_count[parent] >= 2

    def _shown_standfirst(self, cands: list[Candidate]) -> str | None:
        first = next((c.node for c in cands if c.kind == "paragraph" and c.node is not None), None)
        limit = self.page.index.position(first) if first is not None else None
        candidates = []
        if self.description:
            el = self.page.index.find(self.description)
            if el is not None and not any(a.tag == "head" for a in el.iterancestors()):
                candidates.append(el)
        title = key(self.title or "")
        h1 = next((h for h in self.page.root.iter("h1") if _headline_of(h, title)), None)
        if h1 is not None and limit is not None:
            for el in self.page.root.iter("p", "div", "h2", "span"):
                pos = self.page.index.position(el)
                if pos <= self.page.index.position(h1) or pos >= limit:
                    continue
                words = f"{el.get('class') or ''} {el.get('id') or ''} {el.get('itemprop') or ''}"
                if STANDFIRST_CLASS.search(words) and 8 <= word_count(text_of(el)) <= 80:
                    candidates.append(el)
                    break
        for el in candidates:
            if limit is not None and self.page.index.position(el) >= limit:
                continue
            if self.page.chrome(el) in ("chrome", "caption") or self._among_body(el) or link_share(el) > 0.5:
                continue
            return text_of(el)
        return None

    def _restore_lost_headings(self, cands: list[Candidate]) -> list[Candidate]:
        """Rule *lost headings*: an `<h2>`-`<h4>` that trafilatura left out, sitting directly in a body
        container between two extracted blocks, not a link, not a widget label, not in chrome or a
        widget box, is put back in its place (and judged with the other headings)."""
        page = self.page
        if page.article_root is None:
            return cands
        have = {key(c.text) for c in cands}
        mapped = [(page.index.position(c.node), i) for i, c in enumerate(cands) if c.node is not None]
        inserts: list[tuple[int, Candidate]] = []
        for h in page.article_root.iter("h2", "h3", "h4"):
            text = text_of(h)
            k = key(text)
            if not k or k in have or is_widget_heading(text) or not page.in_body_container(h):
                continue
            if page.chrome(h) or widget_box(h, stop=page.article_root) or link_share(h) >= 0.5:
                continue
            pos = page.index.position(h)
            after = [i for p, i in mapped if p > pos]
            if not after or not any(p < pos for p, _ in mapped):
                continue
            c = Candidate(text, "heading", "head", int(h.tag[1]), node=h)
            c.order = cands[after[0]].order - 0.5
            inserts.append((after[0], c))
            have.add(k)
        for i, c in sorted(inserts, key=lambda t: -t[0]):
            cands.insert(i, c)
        return cands

    def _judge_headings(self, cands: list[Candidate]) -> list[Candidate]:
        """Sub-headings are kept only where they belong to the article:

        * a widget label ("Related", "More from ...", "Advertisement", "Share this", "Pros", "Gallery
          ...", newsletter sign-ups: `html_rules.WIDGET_HEADING`) is dropped, with the blocks of its
          box when that box is not a body container;
        * a heading in a header, or outside the body containers with its next paragraph not in one
          close by (a review box, a teaser card) is dropped; a teaser (the heading is a link) takes the
          rest of its card with it;
        * a heading longer than `max_heading_words` that ends like a sentence, or longer than twice that,
          becomes a paragraph (a heading tag is strong evidence, so the limit is looser than for text).

        A paragraph is promoted to a heading when it looks like one: short, not ending like a sentence,
        in a body container, between two paragraphs (a bold line right under a heading is a byline), and
        styled as one: all bold (`<p><strong>`), all capitals (`US FALLS`, a wire convention), a heading
        tag that trafilatura flattened, or a heading class (`subhead`, `crosshead`).
        """
        out: list[Candidate] = []
        box = None  # the widget box whose blocks are being dropped
        for i, c in enumerate(cands):
            in_box = box is not None and c.node is not None and contains(box, c.node)
            if in_box and not self.page.in_main_kind(c.node):
                self.drop(c, "widget")
                continue
            box = None
            nxt = cands[i + 1] if i + 1 < len(cands) else None
            if c.kind == "heading":
                if is_widget_heading(c.text):
                    self.drop(c, "widget")
                    if c.node is not None and not self.page.in_main_kind(c.node):
                        box = c.node.getparent()
                    continue
                if c.node is not None and not self._belongs(c.node, nxt):
                    self.drop(c, "widget")
                    if c.link_share >= 0.9:
                        box = c.node.getparent()
                    continue
                too_long = c.words > self.max_words and ends_sentence(c.text)
                if too_long or c.words > 2 * self.max_words or is_not_heading(c.text):
                    c.kind = "paragraph"
            elif self._heading_like(c, out[-1] if out else None, nxt):
                c.kind, c.level = "heading", 6
            out.append(c)
        return out

    def _belongs(self, node, nxt: Candidate | None) -> bool:
        if self.page.chrome(node) == "header" and _in_title_header(node):
            return False
        if self.page.in_body_container(node):
            return True
        if nxt is None or nxt.kind != "paragraph" or nxt.node is None:
            return False
        return self.page.in_body_container(nxt.node) and _near(node, nxt.node, 3)

    def _heading_like(self, c: Candidate, prev: Candidate | None, nxt: Candidate | None) -> bool:
        if c.source not in ("p", "quote") or not looks_like_heading_text(c.text, self.max_words):
            return False
        if is_not_heading(c.text):
            return False
        if c.text.lower().startswith("by ") or (prev is not None and prev.kind == "heading"):
            return False
        if nxt is None or nxt.kind != "paragraph" or nxt.bold_only:
            return False
        node = c.node
        styled = c.bold_only or (is_all_caps_line(c.text) and c.words <= 10)
        if not styled and node is not None:
            styled = node.tag in HEADING_TAGS or bool(HEADING_CLASS.search(f"{node.get('class') or ''} "
                                                                           f"{node.get('id') or ''}"))
        page = self.page
        return styled and (node is None or page.article_root is None or page.in_body_container(node))

    def _drop_link_lines(self, cands: list[Candidate]) -> list[Candidate]:
        """Rule *link lines*: a short paragraph (20 words or fewer) that is 80 % or more link text is a
        pointer to another page (a related headline, a "read the full story" line), not article text."""
        out: list[Candidate] = []
        for c in cands:
            if c.kind == "paragraph" and c.words <= 20 and c.link_share >= 0.8:
                self.drop(c, "related")
                continue
            out.append(c)
        return out

    def _drop_empty_headings(self, cands: list[Candidate]) -> list[Candidate]:
        """Rule *empty headings*: a heading with no paragraph before the next heading of the same or a
        higher rank (or the end) heads nothing."""
        out: list[Candidate] = []
        for i, c in enumerate(cands):
            if c.kind == "heading":
                level = c.level or 6
                for nxt in cands[i + 1:]:
                    if nxt.kind == "paragraph" or (nxt.level or 6) <= level:
                        break
                else:
                    nxt = None
                if nxt is None or nxt.kind != "paragraph":
                    self.drop(c, "empty heading")
                    continue
            out.append(c)
        return out


    def _require_prose(self, cands: list[Candidate]) -> list[Candidate]:
        """Rule *no article*: a page whose blocks are all fragments (no paragraph of 8+ words, none of
        4+ words ending like a sentence) has no article text: a menu, a link list, a placeholder.
        Unless the fragments are (nearly) all the text the page shows: a page that is just short."""
        if any(c.kind == "paragraph" and (c.words >= 8 or (c.words >= 4 and ends_sentence(c.text)))
               for c in cands):
            return cands
        if cands and self._all_the_page_says(cands):
            return cands
        for c in cands:
            self.drop(c, "no article text")
        return []

    def _all_the_page_says(self, cands: list[Candidate]) -> bool:
        """The blocks hold `SHORT_PAGE_SHARE` or more of the words the page's `<body>` shows."""
        body = self.page.root.find("body")
        shown = word_count(text_of(body if body is not None else self.page.root))
        words = sum(c.words for c in cands)
        return any(c.kind == "paragraph" for c in cands) and words >= SHORT_PAGE_SHARE * shown


def _same_text(a: str, b: str) -> bool:
    """Equal keys, or one a truncation of the other (descriptions get cut short with "...")."""
    if not a or not b:
        return False
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return word_count(short) >= 8 and long.startswith(short[: max(len(short) - 12, 1)])


def _caption_list(node) -> bool:
    """A one-item list placed right after a figure or an image: the way some pages set its caption."""
    lst = next((a for a in node.iterancestors() if a.tag in ("ul", "ol")), None)
    if lst is None or sum(1 for li in lst if li.tag == "li") != 1:
        return False
    prev = lst.getprevious()
    while prev is not None and (not isinstance(prev.tag, str) or prev.tag in ("br", "hr")):
        prev = prev.getprevious()
    return prev is not None and (prev.tag in ("figure", "picture", "img")
                                 or (prev.find(".//img") is not None and not text_of(prev)))


def _outer_list(node):
    """The outermost list (`<ul>`, `<ol>`, `<dl>`) holding `node`, or `node` itself when none does: a
    list stands in the body as one block."""
    lists = [a for a in node.iterancestors() if a.tag in ("ul", "ol", "dl")]
    return lists[-1] if lists else node


def _list_label(node) -> str | None:
    """The short text just before the list holding `node` (`<h3>More stories</h3><ul>...`), if any."""
    lst = next((a for a in node.iterancestors() if a.tag in ("ul", "ol")), None)
    prev = lst.getprevious() if lst is not None else None
    while prev is not None:
        if isinstance(prev.tag, str):
            text = text_of(prev)
            if text:
                return text if word_count(text) <= 8 else None
        prev = prev.getprevious()
    return None


def _headline_of(h1, title: str) -> bool:
    """The `<h1>` is the page's headline: its text is (part of) the title."""
    k = key(text_of(h1))
    return bool(k and title and k in title)


def _in_title_header(node) -> bool:
    """Inside a `<header>` that holds the page's `<h1>` (the headline block, not a section's header)."""
    header = next((a for a in node.iterancestors() if a.tag == "header"), None)
    return header is not None and header.find(".//h1") is not None


def _near(a, b, levels: int) -> bool:
    """`b` is inside one of `a`'s `levels` nearest ancestors."""
    for i, anc in enumerate(a.iterancestors()):
        if i >= levels:
            return False
        if contains(anc, b):
            return True
    return False
