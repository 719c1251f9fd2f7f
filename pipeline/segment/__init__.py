"""Segment: split an article into sections with a named, versioned method."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from pipeline.config import SegmentConfig
from pipeline.records import Article, Section, Segmented
from pipeline.registry import Registry

Segmenter = Callable[[Article, BaseModel], list[Section]]
SEGMENTERS: Registry[Segmenter] = Registry("segmentation method")


def _load_builtin() -> None:
    # Importing registers them; topics pulls in torch only when it runs.
    from pipeline.segment import headings, paragraphs, topics  # noqa: F401


def choose_method(article: Article, config: SegmentConfig, method: str | None = None) -> str:
    """`auto` picks `headings` where the article has at least `min_headings` sub-headings."""
    method = method or config.method
    if method == "auto":
        method = "headings" if len(article.headings) >= config.min_headings else "topics"
    return method


def segment_article(article: Article, config: SegmentConfig, method: str | None = None) -> Segmented:
    """Run the chosen method and number the sections from 0."""
    _load_builtin()
    name = choose_method(article, config, method)
    full_name = SEGMENTERS.resolve(name)
    params = getattr(config, name)
    sections = SEGMENTERS.get(full_name)(article, params)
    numbered = tuple(Section(i, s.heading, s.paragraphs) for i, s in enumerate(sections))
    return Segmented(article, numbered, full_name)
