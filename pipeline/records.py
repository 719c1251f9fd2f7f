"""Plain, frozen records that flow between stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["paragraph", "heading"]


@dataclass(frozen=True)
class Block:
    """One body block of an article, in reading order: a paragraph or a sub-heading."""

    text: str
    kind: BlockKind = "paragraph"


@dataclass(frozen=True)
class Dropped:
    """A line removed during ingest, with the reason (e.g. ``chrome``, ``promo``, ``caption``)."""

    text: str
    reason: str


@dataclass(frozen=True)
class Article:
    """A cleaned article: title and standfirst apart from the body blocks."""

    id: str
    title: str | None
    standfirst: str | None
    blocks: tuple[Block, ...]
    dropped: tuple[Dropped, ...] = ()
    source: str = ""
    format: str = "text"

    @property
    def paragraphs(self) -> list[str]:
        return [b.text for b in self.blocks if b.kind == "paragraph"]

    @property
    def headings(self) -> list[str]:
        return [b.text for b in self.blocks if b.kind == "heading"]


@dataclass(frozen=True)
class Section:
    """A run of paragraphs, optionally under a sub-heading."""

    index: int
    heading: str | None
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True)
class Segmented:
    """An article split into sections by a named, versioned method."""

    article: Article
    sections: tuple[Section, ...]
    method: str
    meta: dict = field(default_factory=dict, compare=False)

    def to_json_dict(self, with_id: bool = False) -> dict:
        """The `pipeline segment --json` object (see README: other tools read it)."""
        out: dict = {}
        if with_id:
            out["id"] = self.article.id
        out["title"] = self.article.title
        out["standfirst"] = self.article.standfirst
        out["sections"] = [
            {"index": s.index, "heading": s.heading, "paragraphs": list(s.paragraphs)}
            for s in self.sections
        ]
        out["dropped"] = [{"text": d.text, "reason": d.reason} for d in self.article.dropped]
        return out
