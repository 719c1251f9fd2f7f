"""HTML pages: main text through trafilatura, sub-headings kept.

PLACEHOLDER: a first cut. Being replaced.
"""

from __future__ import annotations

from pipeline.ingest.parsed import Parsed
from pipeline.records import Block


def parse_html(html: str, *, max_heading_words: int = 16) -> Parsed:
    import trafilatura

    text = trafilatura.extract(html, output_format="markdown", include_formatting=False) or ""
    blocks = [Block(p.strip()) for p in text.split("\n") if p.strip()]
    return Parsed(None, None, blocks, [])
