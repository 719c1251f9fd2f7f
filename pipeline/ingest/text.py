"""Plain text as a scraper saved it: find title, standfirst, sub-headings; drop boilerplate.

PLACEHOLDER: a first cut (blank-line paragraphs, first line title). Being replaced.
"""

from __future__ import annotations

import re

from pipeline.ingest.parsed import Parsed
from pipeline.records import Block


def parse_plain_text(text: str, *, drop_boilerplate: bool = True, max_heading_words: int = 16) -> Parsed:
    chunks = [c.strip() for c in re.split(r"\n\s*\n", text) if c.strip()]
    title = chunks[0] if chunks else None
    blocks = [Block(c) for c in chunks[1:]]
    return Parsed(title, None, blocks, [])
