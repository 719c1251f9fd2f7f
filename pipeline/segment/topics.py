"""`topics.v1`: topical segmentation on sentence embeddings.

PLACEHOLDER: falls back to paragraph windows until the embedding method lands.
"""

from __future__ import annotations

from pipeline.config import ParagraphsParams, TopicsParams
from pipeline.records import Article, Section
from pipeline.segment import SEGMENTERS
from pipeline.segment.paragraphs import by_paragraph_windows


@SEGMENTERS.register("topics.v1")
def by_topics(article: Article, params: TopicsParams) -> list[Section]:
    return by_paragraph_windows(article, ParagraphsParams())
