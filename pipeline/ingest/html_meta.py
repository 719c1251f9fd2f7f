"""HTML pages: loading the DOM, the title and the description (the standfirst candidate).

Everything here works on the page's own markup (meta tags, `<title>`, `<h1>`), never on site names.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html

from pipeline.ingest.scripts import word_count

_SPACE = re.compile(r"\s+")
# `Headline | Section | Site`, `Headline - Site`, `Headline — Site`, `Headline :: Site`, `Headline · Site`.
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|•|»)\s+")


def clean_text(text: str | None) -> str:
    """Collapse runs of whitespace (including non-breaking spaces) to one space and trim."""
    if not text:
        return ""
    return _SPACE.sub(" ", text.replace("\u00a0", " ").replace("\u200b", "")).strip()


def load_dom(html: str) -> lxml_html.HtmlElement | None:
    """The page as an lxml tree, or None when there is nothing parseable (empty or not HTML at all).

    The text is encoded back to UTF-8 so that an `<?xml encoding=...?>` declaration or a stale
    `<meta charset>` cannot make lxml re-decode it wrongly.
    """
    if not html or not html.strip():
        return None
    parser = lxml_html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        root = lxml_html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    if root is None or not isinstance(root.tag, str):
        return None
    for el in list(root.iter("script", "style", "template")):  # never text; slow to search
        if el.getparent() is not None:
            el.drop_tree()
    return root


def meta_content(root: lxml_html.HtmlElement, *names: str) -> str:
    """The first non-empty `<meta property|name=NAME content=...>` among `names`, cleaned."""
    for name in names:
        for node in root.iterfind(".//meta"):
            key = (node.get("property") or node.get("name") or node.get("itemprop") or "").strip().lower()
            if key == name:
                value = clean_title(node.get("content"))
                if value:
                    return value
    return ""


def clean_title(text: str | None) -> str:
    """Trim a title and fold line breaks, keeping the publisher's inner spacing otherwise."""
    if not text:
        return ""
    text = text.replace("\u00a0", " ").replace("\u200b", "")
    return re.sub(r"\s*[\r\n\t]+\s*", " ", text).strip()


def strip_site_suffix(title: str, site_name: str = "") -> str:
    """`Headline | Section | Site` -> `Headline`: trailing parts after a separator are dropped while they
    are short (4 words or fewer) or equal the declared site name, and 3+ words of headline remain."""
    pieces = _TITLE_SEPARATORS.split(title)
    seps = _TITLE_SEPARATORS.findall(title)
    site = site_name.strip().lower()
    while len(pieces) > 1:
        last = pieces[-1].strip()
        rest = pieces[0] + "".join(sep + piece for sep, piece in zip(seps, pieces[1:-1], strict=False))
        if word_count(rest) < 3 or not (word_count(last) <= 4 or last.lower() == site):
            break
        pieces, seps = pieces[:-1], seps[:-1]
    return clean_title(pieces[0] + "".join(sep + piece for sep, piece in zip(seps, pieces[1:], strict=False)))


def find_title(root: lxml_html.HtmlElement) -> str | None:
    """The article's headline.

    In order: `og:title` / `twitter:title` (what the publisher declares as the headline, kept as
    written), then an `<h1>` that the `<title>` contains or that is the page's only `<h1>`, then
    `<title>` with a trailing site / section name removed.
    """
    declared = meta_content(root, "og:title", "twitter:title", "headline", "dc.title")
    if declared:
        return declared
    site = meta_content(root, "og:site_name", "application-name")
    title_el = root.find(".//title")
    page_title = clean_title(title_el.text_content()) if title_el is not None else ""
    h1s = [clean_text(h.text_content()) for h in root.iter("h1")]
    h1s = [h for h in h1s if h and word_count(h) >= 2]
    for h1 in h1s:
        if page_title and h1.lower() in page_title.lower():
            return h1
    if len(set(h1s)) == 1 and not page_title:
        return h1s[0]
    if page_title:
        return strip_site_suffix(page_title, site)
    return h1s[0] if h1s else None


def find_description(root: lxml_html.HtmlElement) -> str:
    """The page's declared summary (`og:description`, `description`, `twitter:description`)."""
    return meta_content(root, "og:description", "description", "twitter:description", "dc.description")
