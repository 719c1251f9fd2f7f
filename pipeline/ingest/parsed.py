"""What each format parser returns: the article's parts before it gets an id and a source."""

from __future__ import annotations

from typing import NamedTuple

from pipeline.records import Block, Dropped


class Parsed(NamedTuple):
    title: str | None
    standfirst: str | None
    blocks: list[Block]
    dropped: list[Dropped]
