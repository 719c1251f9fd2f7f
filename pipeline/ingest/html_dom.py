"""Ties between the extracted blocks and the original page, and what the page's markup says about them.

Trafilatura returns clean text but forgets where it came from. To judge a block by its surroundings
(inside a `<figure>`? an `<aside>`? a box whose class names a widget?) we find the element of the
original page that holds the same text: `DomIndex.find`.
"""

from __future__ import annotations

import re

from pipeline.ingest.html_meta import clean_text
from pipeline.ingest.scripts import word_count

# Elements whose text is indexed (the innermost one holding a block's text is its match).
INDEXED_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "blockquote", "figcaption",
                "figure", "td", "th", "tr", "table", "dd", "dt", "pre", "div", "section", "article", "main",
                "span", "strong", "b", "em", "i", "a", "header", "footer", "nav", "aside", "caption", "font",
                "center", "label", "time"}
HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_WRAPPER_TAGS = {"div", "span", "b", "strong", "em", "i", "u", "a", "font", "center", "label", "time",
                 "small", "big", "mark", "cite", "q"}
_PARAGRAPH_TAGS = ("p", "li", "blockquote", "figcaption", "dd", "dt", "td", "th", "pre", "caption")
_MAX_BLOCK_CHARS = 10_000  # larger elements are page sections, not blocks: not indexed
_AFFIX = 60  # characters of a key used to match a block whose text was trimmed at one end
_WORD = re.compile(r"\w+")

# Elements that never hold article body text, and the reason a block inside one is dropped.
CHROME_TAGS = {"nav": "chrome", "footer": "chrome", "aside": "chrome", "menu": "chrome", "button": "chrome",
               "select": "chrome", "noscript": "chrome", "dialog": "chrome", "template": "chrome",
               "figure": "caption", "figcaption": "caption", "picture": "caption"}
CHROME_ROLES = {"navigation": "chrome", "complementary": "chrome", "contentinfo": "chrome",
                "banner": "chrome", "menu": "chrome", "dialog": "chrome"}
# Class / id words of page widgets: recirculation, promos, sign-ups, sharing, galleries, review and
# rating boxes, bylines and credits, ads, comments.
WIDGET_WORDS = re.compile(
    r"(?:^|[-_\s])(related|recirc\w*|recommend\w*|promo\w*|newsletter\w*|signup|sign-up|subscri\w*|"
    r"share|sharing|social|gallery|slideshow|carousel|rating\w*|score\w*|pros|cons|proscons|"
    r"breadcrumbs?|byline\w*|author\w*|advert\w*|ad|ads|sponsor\w*|outbrain|taboola|most-read|"
    r"comments?|caption\w*|credits?|widget\w*)(?:$|[-_\s])",
    re.I,
)


def key(text: str) -> str:
    """A matching key: lower-cased word tokens joined by spaces."""
    return " ".join(_WORD.findall(text.lower()))


def text_of(el) -> str:
    return clean_text(el.text_content())


class DomIndex:
    """The page's elements by the key of their text (whole, first and last `_AFFIX` characters), its
    document order, and the texts of its image captions (`alt`, `title`, `<figcaption>`)."""

    def __init__(self, root) -> None:
        self.root = root
        self.by_text: dict[str, list] = {}
        self.by_prefix: dict[str, list] = {}
        self.by_suffix: dict[str, list] = {}
        self.order: dict = {}
        self.captions: set[str] = set()
        for n, el in enumerate(root.iter()):
            if not isinstance(el.tag, str):
                continue
            self.order[el] = n
            if el.tag == "img":
                for attr in ("alt", "title"):
                    k = key(el.get(attr) or "")
                    if word_count(k) >= 4:
                        self.captions.add(k)
            if el.tag not in INDEXED_TAGS:
                continue
            text = el.text_content()
            if len(text) > _MAX_BLOCK_CHARS:
                continue
            k = key(text)
            if not k:
                continue
            if el.tag == "figcaption" and word_count(k) >= 4:
                self.captions.add(k)
            keys = {k}
            if len(el):  # child elements: also the text with a space at each tag (`<li>a</li><li>b</li>`)
                keys.add(key(" ".join(el.itertext())))
            for k in keys:
                self.by_text.setdefault(k, []).append(el)
                if len(k) >= 30:
                    self.by_prefix.setdefault(k[:_AFFIX], []).append(el)
                    self.by_suffix.setdefault(k[-_AFFIX:], []).append(el)

    def find(self, text: str, after: int = -1):
        """The block element of the page that holds `text` (else one that starts or ends like it),
        preferring the first after document position `after`; None if there is none."""
        k = key(text)
        if not k:
            return None
        found = self.by_text.get(k)
        if not found and len(k) >= 30:
            # the block lost or gained a few words at one end; not a container that merely starts alike
            near = [el for el in (self.by_prefix.get(k[:_AFFIX], []) + self.by_suffix.get(k[-_AFFIX:], []))
                    if len(key(el.text_content())) <= 1.3 * len(k) + 20]
            found = near
        if not found:
            return None
        members = set(found)
        inner = [el for el in dict.fromkeys(found) if not any(d in members for d in el.iterdescendants())]
        later = [el for el in inner if self.order.get(el, 0) > after]
        return lift((later or inner)[0])

    def position(self, el) -> int:
        return self.order.get(el, -1)

    def is_caption(self, text: str) -> bool:
        """The text repeats an image's alt / title text or a `<figcaption>`: a photo caption."""
        k = key(text)
        if word_count(k) < 4:
            return False
        return k in self.captions or any(c.startswith(k) and len(c) - len(k) <= 3 for c in self.captions)


def lift(el):
    """From the innermost element holding a text up to the block element that holds just that text:
    a heading tag if one wraps it (`<h3><strong>x</strong></h3>`, `<h3><ol><li>x</li></ol></h3>`),
    else the nearest paragraph-like tag, else the outermost generic wrapper (`<div><b>x</b></div>`)."""
    k = key(el.text_content())
    chain = [el]
    for anc in el.iterancestors():
        if key(anc.text_content()) != k:
            break
        chain.append(anc)
    for tags in (HEADING_TAGS, _PARAGRAPH_TAGS):
        for node in chain:
            if node.tag in tags:
                return node
    block = el  # climb generic and inline wrappers (`<div><b>x</b></div>` -> the div), not sections
    for node in chain[1:]:
        if node.tag not in _WRAPPER_TAGS:
            break
        block = node
    return block


def contains(a, b) -> bool:
    """`a` is `b` or one of its ancestors."""
    return a is b or any(anc is a for anc in b.iterancestors())


def in_chrome(el, stop=None) -> str | None:
    """`caption` when the element sits in a figure, `chrome` in a nav / aside / footer (or an element
    with such a role), `header` in a header; None otherwise. Ancestors from `stop` up are not looked at."""
    quoted = False  # a quotation set in a figure (an embedded post, a pull quote) is not a caption
    for anc in [el, *el.iterancestors()]:
        if anc is stop:
            break
        tag = anc.tag if isinstance(anc.tag, str) else ""
        quoted = quoted or tag == "blockquote"
        if tag == "figure" and quoted:
            continue
        if tag in CHROME_TAGS:
            return CHROME_TAGS[tag]
        role = CHROME_ROLES.get((anc.get("role") or "").lower())
        if role:
            return role
        if tag == "header" and anc is not el:
            return "header"
    return None


def widget_box(el, stop=None, depth: int = 2) -> str | None:
    """A widget word in the class / id of the element or of its `depth` nearest ancestors (below `stop`)."""
    for i, anc in enumerate([el, *el.iterancestors()]):
        if anc is stop or i > depth:
            break
        m = WIDGET_WORDS.search(f"{anc.get('class') or ''} {anc.get('id') or ''}")
        if m:
            return m.group(1).lower()
    return None


def link_share(el) -> float:
    """Share of the element's text that is inside links."""
    total = len(key(el.text_content()))
    if not total:
        return 0.0
    linked = sum(len(key(a.text_content())) for a in el.iter("a"))
    return min(1.0, linked / total)
