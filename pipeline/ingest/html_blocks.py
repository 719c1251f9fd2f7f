"""Trafilatura's XML body -> a flat list of candidate blocks with the hints the rules need.

Trafilatura (with `include_formatting` and `include_links`) returns a small XML tree: `<head rend="h2">`,
`<p>`, `<list><item>`, `<quote>`, `<table><row><cell>`, inline `<hi rend="#b">` and `<ref>`, `<lb/>`.
Each paragraph-like element becomes one candidate per line (a `<lb/>`, i.e. a `<br>` of the page, starts
a new one: lines set apart on the page are read as separate blocks); list items, quotes and table rows
are paragraphs; inline text between blocks is a paragraph of its own. A table whose cells hold
paragraphs or headings (a layout table) is read as a container. First, a sentence that
trafilatura cut at a link or an emphasis is glued back (`glue_split_paragraphs`). `largest_block_body`
builds the same kind of tree from the page itself, for when trafilatura finds nothing.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass

from lxml import etree

from pipeline.ingest.html_meta import clean_text
from pipeline.ingest.scripts import ends_sentence, word_count

_BOLD = {"#b", "#strong"}
_LINE = "\n"


@dataclass
class Candidate:
    """One block before the rules: text, kind, and where it came from."""

    text: str
    kind: str = "paragraph"  # "paragraph" | "heading"
    source: str = "p"  # "head", "p", "item", "quote", "cell"
    level: int = 0  # heading level (2 for h2 ...), 0 if none
    bold_only: bool = False  # all its text is bold (`<p><strong>...</strong></p>`)
    link_share: float = 0.0  # share of its characters inside links
    node: object | None = None  # the element of the original page it matches, when found
    order: float = 0  # its place in trafilatura's output (to list dropped blocks in reading order)

    @property
    def words(self) -> int:
        return word_count(self.text)


def _segments(el) -> list[tuple[str, bool, bool]]:
    """(text, bold, link) runs of an inline element tree, with `_LINE` for each `<lb/>`."""
    out: list[tuple[str, bool, bool]] = []

    def walk(node, bold: bool, link: bool) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        inner_bold = bold or (tag == "hi" and (node.get("rend") or "") in _BOLD)
        inner_link = link or tag == "ref"
        if tag == "lb":
            out.append((_LINE, bold, link))
        elif node.text:
            out.append((node.text, inner_bold, inner_link))
        for child in node:
            walk(child, inner_bold, inner_link)
            if child.tail:
                out.append((child.tail, inner_bold, inner_link))

    walk(el, False, False)
    return out


def _lines(el) -> list[tuple[str, bool, float]]:
    """The lines of an element: (clean text, all bold, share of characters in links)."""
    lines: list[list[tuple[str, bool, bool]]] = [[]]
    for text, bold, link in _segments(el):
        if text == _LINE:
            lines.append([])
        else:
            lines[-1].append((text, bold, link))
    out = []
    for runs in lines:
        text = clean_text("".join(t for t, _, _ in runs))
        if not text:
            continue
        visible = [(t, b, lk) for t, b, lk in runs if t.strip()]
        bold_only = bool(visible) and all(b for _, b, _ in visible)
        total = sum(len(t.strip()) for t, _, _ in visible) or 1
        linked = sum(len(t.strip()) for t, _, lk in visible if lk)
        out.append((text, bold_only, linked / total))
    return out


def _append_text(run, text: str) -> None:
    if len(run):
        run[-1].tail = (run[-1].tail or "") + text
    else:
        run.text = (run.text or "") + text


_BLOCKS = {"p", "head", "item", "quote", "list", "table", "row", "cell", "code", "div"}
_INLINE = {"hi", "ref"}
_CONTAINERS = ("list", "quote", "item", "div", "body", "cell")
# What a sentence cut in two at a link or an emphasis goes on with: a lower-case letter (or any letter
# of a script without case), or punctuation that cannot start a sentence.
_CONTINUATION = ",.;:!?)]}»”’，。；：、）」』،؛"


def _inline_text(el) -> str:
    """The text of an element's inline content on one line (`<lb/>` read as a space)."""
    return clean_text("".join(t if t != _LINE else " " for t, _, _ in _segments(el)))


def _has_block_children(el) -> bool:
    return any(isinstance(c.tag, str) and c.tag in _BLOCKS for c in el)


def _continues(before, after) -> bool:
    """`after` carries on the sentence that `before` left unfinished: `before` does not end like a
    sentence and `after` starts with a lower-case letter, a caseless letter, or continuing punctuation."""
    head = _inline_text(after)
    if not head or before.tag != "p" or after.tag != "p" or ends_sentence(_inline_text(before)):
        return False
    first = head[0]
    return first in _CONTINUATION or (first.isalpha() and not first.isupper())


def _absorb(target, others: list) -> None:
    """Move the inline elements and the last paragraph of `others` into paragraph `target`."""
    *inline, last = others
    for el in inline:
        target.append(el)  # keeps its tail
    _append_text(target, last.text or "")
    for child in list(last):
        target.append(child)
    last.getparent().remove(last)


def glue_split_paragraphs(body) -> None:
    """Repair trafilatura's split of a sentence around a link or an emphasis.

    Text set directly in a `<div>` (lines apart by `<br>`) comes back as `<p>text </p><hi>DigiTimes</hi>
    <p>, a preview ...</p>`: one paragraph in three pieces. A `<p>` that does not end like a sentence,
    followed by inline elements only (`<hi>`, `<ref>`) and then a `<p>` that goes on with the sentence
    (`_continues`), is joined into one paragraph, in place."""
    for parent in list(body.iter()):
        i = 0
        while i < len(parent):
            first = parent[i]
            j = i + 1
            while j < len(parent) and parent[j].tag in _INLINE:
                j += 1
            if j > i + 1 and j < len(parent) and _continues(first, parent[j]):
                _absorb(first, list(parent[i + 1:j + 1]))
                continue
            i += 1


def body_to_candidates(body) -> list[Candidate]:
    """Walk trafilatura's body tree in reading order and return its blocks."""
    out: list[Candidate] = []
    if body is None:
        return out
    glue_split_paragraphs(body)

    def add_lines(el, source: str) -> None:
        for text, bold_only, link_share in _lines(el):
            out.append(Candidate(text, "paragraph", source, 0, bold_only, link_share))

    def visit_table(table, source: str) -> None:
        """A data table gives a paragraph per row (its cells' text); a layout table, whose cells hold
        paragraphs or headings of their own, is read as the container it is."""
        for row in table.iter("row"):
            texts: list[str] = []
            for cell in row:
                if _has_block_children(cell):
                    flush(texts)
                    texts = []
                    visit(cell, source)
                else:
                    texts.append(_inline_text(cell))
            flush(texts)

    def flush(cells: list[str]) -> None:
        text = " ".join(c for c in cells if c)
        if text:
            out.append(Candidate(text, "paragraph", "cell"))

    def visit_container(el, tag: str, source: str) -> None:
        """Block children in order; inline content between them (text, links, emphasis) forms its own
        paragraph."""
        child_source = "item" if tag in ("list", "item") else ("quote" if tag == "quote" else source)
        if tag == "body":
            child_source = "p"
        run = etree.Element("p")
        run.text = el.text
        for child in el:
            if isinstance(child.tag, str) and child.tag in _BLOCKS:
                add_lines(run, child_source)
                visit(child, child_source)
                run = etree.Element("p")
                run.text = child.tail
            elif isinstance(child.tag, str) and child.tag != "graphic":
                run.append(copy.deepcopy(child))
            elif child.tail:  # an image or a comment: keep only the text after it
                _append_text(run, child.tail)
        add_lines(run, child_source)

    def visit(el, source: str) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "head":
            text = _inline_text(el)
            if text:
                rend = el.get("rend") or ""
                level = int(rend[1]) if len(rend) == 2 and rend[0] == "h" and rend[1].isdigit() else 0
                segs = _lines(el)
                link = segs[0][2] if len(segs) == 1 else 0.0
                out.append(Candidate(text, "heading", "head", level or 3, False, link))
        elif tag == "table":
            visit_table(el, source)
        elif tag in _CONTAINERS and _has_block_children(el):
            visit_container(el, tag, source)
        elif tag != "graphic":
            add_lines(el, {"item": "item", "quote": "quote", "list": "item"}.get(tag, source))

    visit(body, "p")
    return out


_FALLBACK_BLOCKS = ("p", "li", "blockquote", "pre", "dd", "h2", "h3", "h4", "h5", "h6")


def largest_block_body(root):
    """A trafilatura-shaped `<body>` (`<p>` and `<head rend="hN">`) from the page element that directly
    holds the most words of paragraph-like children, outside navs, asides, footers and figures; None
    when the page has no such element. The fallback when trafilatura finds no article text."""
    from pipeline.ingest.html_dom import in_chrome

    held: Counter = Counter()
    for el in root.iter(*_FALLBACK_BLOCKS):
        parent = el.getparent()
        if parent is not None and not in_chrome(el):
            held[parent] += word_count(clean_text(el.text_content()))
    if not held:
        return None
    best = max(held, key=held.get)
    body = etree.Element("body")
    for el in best.iter(*_FALLBACK_BLOCKS):
        if _inside_block(el, best):
            continue
        text = clean_text(el.text_content())
        if not text or in_chrome(el, stop=best):
            continue
        if el.tag.startswith("h"):
            etree.SubElement(body, "head", rend=el.tag).text = text
        else:
            etree.SubElement(body, "p").text = text
    return body if len(body) else None


def _inside_block(el, stop) -> bool:
    """`el` sits inside another paragraph-like element below `stop` (`<li><p>`: the `<li>` is read)."""
    for anc in el.iterancestors():
        if anc is stop:
            return False
        if anc.tag in _FALLBACK_BLOCKS:
            return True
    return False
