"""`headings.v1`: a new section at each of the article's own sub-headings."""

from __future__ import annotations

from pipeline.config import HeadingsParams
from pipeline.records import Article, Section
from pipeline.segment import SEGMENTERS


@SEGMENTERS.register("headings.v1")
def by_headings(article: Article, params: HeadingsParams) -> list[Section]:
    """The lead (paragraphs before the first heading) has no heading; each heading opens a section.

    A heading with no paragraphs under it is dropped unless `keep_empty` is set.
    """
    sections: list[Section] = []
    heading: str | None = None
    paragraphs: list[str] = []

    def close() -> None:
        if paragraphs or (heading is not None and params.keep_empty):
            sections.append(Section(len(sections), heading, tuple(paragraphs)))

    for block in article.blocks:
        if block.kind == "heading":
            close()
            heading, paragraphs = block.text, []
        else:
            paragraphs.append(block.text)
    close()
    return sections
