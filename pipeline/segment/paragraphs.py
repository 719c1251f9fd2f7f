"""`paragraphs.v1`: fixed windows of paragraphs, the plain fallback."""

from __future__ import annotations

from pipeline.config import ParagraphsParams
from pipeline.records import Article, Section
from pipeline.segment import SEGMENTERS


@SEGMENTERS.register("paragraphs.v1")
def by_paragraph_windows(article: Article, params: ParagraphsParams) -> list[Section]:
    """Consecutive windows of `window` paragraphs; headings are ignored."""
    paragraphs = article.paragraphs
    return [
        Section(i, None, tuple(paragraphs[start : start + params.window]))
        for i, start in enumerate(range(0, len(paragraphs), params.window))
    ]
