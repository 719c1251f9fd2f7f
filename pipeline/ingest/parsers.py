"""Plain-text parsers by versioned name (`rules.v1`, `learned.v1` ... `learned.v6`):
`ingest.text_parser` picks one.

Kept apart from `pipeline.ingest` so that the config can check a name without importing the ingest
package (which imports the config).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pipeline.ingest.parsed import Parsed
from pipeline.registry import Registry

if TYPE_CHECKING:
    from pipeline.config import IngestConfig

TextParser = Callable[[str, "IngestConfig"], Parsed]
TEXT_PARSERS: Registry[TextParser] = Registry("plain-text parser")


@TEXT_PARSERS.register("rules.v1")
def _rules_v1(text: str, config: IngestConfig) -> Parsed:
    """The hand-written plain-text rules (`text.py`)."""
    from pipeline.ingest.text import parse_plain_text

    return parse_plain_text(text, drop_boilerplate=config.drop_boilerplate,
                            max_heading_words=config.max_heading_words)


def _learned(text: str, config: IngestConfig, version: str) -> Parsed:
    """The rules' verdicts relabelled by the shipped line model `version` (`line_model.py`)."""
    from pipeline.ingest.line_model import parse_plain_text_learned, shipped_model

    return parse_plain_text_learned(text, drop_boilerplate=config.drop_boilerplate,
                                    max_heading_words=config.max_heading_words, model=shipped_model(version))


@TEXT_PARSERS.register("learned.v1")
def _learned_v1(text: str, config: IngestConfig) -> Parsed:
    """The rules' verdicts relabelled by the shipped line model v1 (`line_model.py`)."""
    return _learned(text, config, "v1")


@TEXT_PARSERS.register("learned.v2")
def _learned_v2(text: str, config: IngestConfig) -> Parsed:
    """The rules' verdicts with the body (paragraphs against boilerplate) relabelled by the line model;
    sub-headings stay the rules' (v2's decision rule: on sites it never saw, v1's heading overrides
    did not beat the rules; experiments/article-structure/NOTES.md)."""
    return _learned(text, config, "v2")


@TEXT_PARSERS.register("learned.v3")
def _learned_v3(text: str, config: IngestConfig) -> Parsed:
    """v2's reading with a line model that also reads each line's wording (a sentence embedding per
    line, `line_embeddings.py`), trained on reviewed silver headings; it may add and drop sub-headings."""
    return _learned(text, config, "v3")


@TEXT_PARSERS.register("learned.v4")
def _learned_v4(text: str, config: IngestConfig) -> Parsed:
    """v3's line model blended with one that does not read the rules' verdicts, its probabilities
    decoded as one sequence over the page's shape (chrome, article, related: `line_decoding.py`)
    instead of line by line."""
    return _learned(text, config, "v4")


@TEXT_PARSERS.register("learned.v5")
def _learned_v5(text: str, config: IngestConfig) -> Parsed:
    """v4 with a BiGRU over the page's lines blended into the tree models' probabilities
    (`line_tagger.py`): each line judged beside the whole page, then decoded as v4 does."""
    return _learned(text, config, "v5")


@TEXT_PARSERS.register("learned.v6")
def _learned_v6(text: str, config: IngestConfig) -> Parsed:
    """v5's make with two BiGRU networks averaged, trained on three review rounds of the silver pages'
    sub-headings instead of one (experiments/article-structure/REVIEW-GUIDE.md)."""
    return _learned(text, config, "v6")
