"""`topics.v1`: the partition algorithm, the article contract, and (slow) Pk on choi-dev."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import SegmentConfig, TopicsParams
from pipeline.errors import ConfigError
from pipeline.evaluation.segmentation import boundaries_to_labels, pk, windowdiff
from pipeline.records import Article, Block
from pipeline.segment import segment_article
from pipeline.segment.sentences import split_sentences
from pipeline.segment.topics import by_topics, topic_boundaries

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CHOI_DEV = SHARED / "datasets" / "segmentation" / "choi-dev.jsonl"

# Written for these tests: three topics, five sentences each.
COOKING = [
    "Preheat the oven to two hundred degrees and grease a round cake tin with butter.",
    "Whisk the eggs with the sugar until the mixture turns pale and fluffy.",
    "Fold the sifted flour into the batter gently so the air stays in.",
    "Bake the sponge for twenty-five minutes until a skewer comes out clean.",
    "Let the cake cool on a wire rack before spreading the jam and cream.",
]
FOOTBALL = [
    "The striker scored twice in the second half to win the league match.",
    "The goalkeeper saved a penalty in the final minute of the game.",
    "The coach praised the defenders after the team kept a clean sheet.",
    "Fans sang in the stadium as the club moved to the top of the table.",
    "The referee showed two yellow cards to midfielders for late tackles.",
]
ASTRONOMY = [
    "The telescope captured images of a distant galaxy billions of light years away.",
    "Astronomers measured the orbit of the planet around its faint red dwarf star.",
    "The comet's icy nucleus releases gas as it approaches the Sun.",
    "A supernova explosion briefly outshone every other star in its galaxy.",
    "Jupiter's moons were first observed through a telescope by Galileo.",
]


@pytest.fixture(scope="module")
def encoder():
    from pipeline.models.embedder import get_encoder

    return get_encoder("all-MiniLM-L6-v2")


def article(*blocks: tuple[str, str] | str) -> Article:
    """Blocks as plain strings (paragraphs) or ("heading", text)."""
    made = tuple(Block(b[1], "heading") if isinstance(b, tuple) else Block(b) for b in blocks)
    return Article(id="t", title="T", standfirst=None, blocks=made)


# --- the algorithm ------------------------------------------------------------------------------


def test_topic_boundaries_finds_the_three_topics(encoder):
    sentences = COOKING + FOOTBALL + ASTRONOMY
    embeddings = encoder.encode(sentences)
    assert embeddings.shape == (15, 384)
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-4)
    cuts = topic_boundaries(embeddings, penalty=1.5, min_units=2)
    assert len(cuts) == 2
    assert abs(cuts[0] - 5) <= 1 and abs(cuts[1] - 10) <= 1, cuts


def test_topic_boundaries_on_synthetic_vectors_is_exact_and_respects_sizes():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    x = np.vstack([c + 0.1 * rng.normal(size=(6, 16)) for c in centres])
    assert topic_boundaries(x, penalty=1.5) == [6, 12]
    assert topic_boundaries(x[:3], min_units=2) == []  # fewer than 2 * min_units units
    capped = topic_boundaries(x, max_units=4)
    assert np.diff([0, *capped, len(x)]).max() <= 4
    assert topic_boundaries(np.ones((10, 4))) == []  # identical units: nothing to split


def test_topic_boundaries_checks_its_parameters():
    with pytest.raises(ConfigError, match="max_units must be null or >= 2 \\* min_units - 1 = 5"):
        topic_boundaries(np.eye(10), min_units=3, max_units=4)
    with pytest.raises(ConfigError, match="penalty must be > 0"):
        topic_boundaries(np.eye(10), penalty=0)


def test_split_sentences_keeps_titles_and_initials():
    text = 'He said "no." Then Mr. Smith left. J. Doe agreed! Prices rose 3.5 percent.'
    assert split_sentences(text) == ['He said "no."', "Then Mr. Smith left.", "J. Doe agreed!",
                                     "Prices rose 3.5 percent."]


# --- the article contract -----------------------------------------------------------------------


def test_short_article_is_one_section_without_loading_a_model(monkeypatch):
    import pipeline.models.embedder as embedder

    monkeypatch.setattr(embedder, "get_encoder", lambda *a, **k: pytest.fail("model loaded"))
    sections = by_topics(article(*COOKING[:3]), TopicsParams())
    assert len(sections) == 1
    assert sections[0].heading is None and sections[0].paragraphs == tuple(COOKING[:3])
    assert by_topics(article(), TopicsParams()) == []


def test_heading_forces_a_boundary_and_its_section_carries_it(encoder):
    # Same topic on both sides: only the heading can put the boundary there.
    blocks = [*FOOTBALL[:3], ("heading", "After the match"), *FOOTBALL[3:]]
    sections = by_topics(article(*blocks), TopicsParams())
    assert [s.heading for s in sections] == [None, "After the match"]
    assert sections[0].paragraphs == tuple(FOOTBALL[:3])
    assert sections[1].paragraphs == tuple(FOOTBALL[3:])
    # Through the segment stage: `auto` falls back to topics for an article with one sub-heading.
    segmented = segment_article(article(*blocks), SegmentConfig())
    assert segmented.method == "topics.v1"
    assert [s.heading for s in segmented.sections] == [None, "After the match"]


def test_every_paragraph_appears_once_in_order(encoder):
    paragraphs = [
        " ".join(COOKING[:3]), " ".join(COOKING[3:]), COOKING[0],
        " ".join(FOOTBALL[:3]), " ".join(FOOTBALL[3:]), FOOTBALL[2],
        " ".join(ASTRONOMY[:3]), " ".join(ASTRONOMY[3:]), ASTRONOMY[4],
    ]
    blocks = [*paragraphs[:4], ("heading", "Empty heading is dropped"), ("heading", "Sport"),
              *paragraphs[4:]]
    for unit in ("paragraph", "sentence"):
        params = TopicsParams(unit=unit)
        sections = by_topics(article(*blocks), params)
        assert [p for s in sections for p in s.paragraphs] == paragraphs
        assert [s.index for s in sections] == list(range(len(sections)))
        assert all(len(s.paragraphs) >= params.min_units for s in sections)
        assert "Sport" in [s.heading for s in sections]
        assert "Empty heading is dropped" not in [s.heading for s in sections]


def test_bad_sizes_fail_when_segmenting_with_a_clear_message():
    with pytest.raises(ConfigError, match="raise max_units or lower min_units"):
        by_topics(article("a", "b"), TopicsParams(min_units=3, max_units=2))


# --- the benchmark (slow) -----------------------------------------------------------------------


@pytest.mark.slow
def test_choi_dev_pk(encoder):
    if not CHOI_DEV.is_file():
        pytest.skip(f"{CHOI_DEV} not found (the shared data sets are not checked out)")
    docs = [json.loads(line) for line in CHOI_DEV.read_text(encoding="utf-8").splitlines()][:30]
    params = TopicsParams(unit="sentence", max_units=None)  # as experiments/topics-choi/config.yaml
    pks, wds = [], []
    for doc in docs:
        n = len(doc["sentences"])
        cuts = topic_boundaries(encoder.encode(doc["sentences"], batch_size=64),
                                params.penalty, params.min_units, params.max_units)
        ref, hyp = boundaries_to_labels(doc["boundaries"], n), boundaries_to_labels(cuts, n)
        pks.append(pk(ref, hyp))
        wds.append(windowdiff(ref, hyp))
    assert np.mean(pks) <= 0.15, (np.mean(pks), np.mean(wds))
