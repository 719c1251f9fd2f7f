"""The BiGRU line tagger (`line_tagger.py`, learned.v5): it learns what a line is from lines far from
it, which a model of one line's own features cannot, and it survives a pickle round trip."""

from __future__ import annotations

import pickle

import numpy as np

from pipeline.ingest.line_model import TaggerBlend
from pipeline.ingest.line_tagger import LineTagger


def _pages(count: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pages of random 0/1 feature rows where a line is a heading (2) when the line three above it
    has its first feature set, a paragraph (1) otherwise: nothing on the line itself tells."""
    rng = np.random.default_rng(seed)
    pages, labels = [], []
    for _ in range(count):
        rows = rng.integers(0, 2, size=(int(rng.integers(20, 40)), 4)).astype(float)
        y = np.ones(len(rows), dtype=int)
        y[3:][rows[:-3, 0] == 1] = 2
        pages.append(rows)
        labels.append(y)
    return pages, labels


def test_the_tagger_learns_a_label_set_by_a_line_three_lines_away() -> None:
    pages, labels = _pages(60, seed=0)
    tagger = LineTagger.fit(pages, labels, [1.0] * len(pages), heading_weight=1.0, seed=0,
                            hidden=16, epochs=25, dropout=0.0)
    test_pages, test_labels = _pages(20, seed=1)
    predicted = np.concatenate([tagger.predict_proba(rows).argmax(1) for rows in test_pages])
    truth = np.concatenate(test_labels)
    assert (predicted == truth).mean() > 0.95  # a per-line model is at chance (about 0.5) here
    # the rows' own feature alone says nothing: headings are spread evenly over its values
    rows = np.concatenate(test_pages)
    assert abs((truth[rows[:, 0] == 1] == 2).mean() - (truth[rows[:, 0] == 0] == 2).mean()) < 0.1


def test_a_pickled_tagger_and_blend_predict_the_same_and_training_is_deterministic() -> None:
    pages, labels = _pages(12, seed=2)
    tagger = LineTagger.fit(pages, labels, [1.0] * len(pages), seed=3, hidden=8, epochs=3)
    again = LineTagger.fit(pages, labels, [1.0] * len(pages), seed=3, hidden=8, epochs=3)
    first = tagger.predict_proba(pages[0])
    assert first.shape == (len(pages[0]), 3) and np.allclose(first.sum(1), 1.0)
    assert np.array_equal(first, again.predict_proba(pages[0]))
    restored = pickle.loads(pickle.dumps(tagger))
    assert np.array_equal(restored.predict_proba(pages[0]), first)
    assert tagger.predict_proba(np.zeros((0, 4))).shape == (0, 3)

    class Uniform:
        def predict_proba(self, rows: np.ndarray) -> np.ndarray:
            return np.full((len(rows), 3), 1 / 3)

    blend = TaggerBlend(Uniform(), restored, 0.25)
    assert np.allclose(blend.predict_proba(pages[0]), 0.75 / 3 + 0.25 * first)


def test_a_tagger_of_several_seeds_averages_networks_trained_alike_from_each_seed() -> None:
    pages, labels = _pages(12, seed=4)
    settings = {"hidden": 8, "epochs": 3}
    both = LineTagger.fit(pages, labels, [1.0] * len(pages), seed=5, seeds=2, **settings)
    first = LineTagger.fit(pages, labels, [1.0] * len(pages), seed=5, **settings)
    second = LineTagger.fit(pages, labels, [1.0] * len(pages), seed=6, **settings)
    assert len(both.weights) == 2 and len(first.weights) == 1
    one, two = first.predict_proba(pages[1]), second.predict_proba(pages[1])
    assert not np.allclose(one, two)  # the seeds differ
    assert np.allclose(both.predict_proba(pages[1]), (one + two) / 2)
    assert np.allclose(pickle.loads(pickle.dumps(both)).predict_proba(pages[1]), (one + two) / 2)


def _style_pages(count: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pages whose lines each have one of four styles (one-hot, columns 0-3); one line somewhere on the
    page is marked (column 4), and a line is a heading when it shares the marked line's style."""
    rng = np.random.default_rng(seed)
    pages, labels = [], []
    for _ in range(count):
        n = int(rng.integers(30, 60))
        styles = rng.integers(0, 4, size=n)
        rows = np.zeros((n, 5))
        rows[np.arange(n), styles] = 1.0
        marked = int(rng.integers(0, n))
        rows[marked, 4] = 1.0
        pages.append(rows)
        labels.append(np.where(styles == styles[marked], 2, 1))
    return pages, labels


def test_attention_heads_read_the_lines_of_a_style_anywhere_on_the_page() -> None:
    pages, labels = _style_pages(80, seed=7)
    tagger = LineTagger.fit(pages, labels, [1.0] * len(pages), heading_weight=1.0, seed=0, hidden=16,
                            epochs=30, dropout=0.0, attention_heads=2)
    test_pages, test_labels = _style_pages(20, seed=8)
    predicted = np.concatenate([tagger.predict_proba(rows).argmax(1) for rows in test_pages])
    # 1.00 here; the same BiGRU without attention 0.76, no better than calling every line a paragraph
    assert (predicted == np.concatenate(test_labels)).mean() > 0.95
    restored = pickle.loads(pickle.dumps(tagger))
    assert restored.settings["attention_heads"] == 2
    assert np.array_equal(restored.predict_proba(test_pages[0]), tagger.predict_proba(test_pages[0]))


def test_a_padded_batch_reads_each_page_as_the_page_alone() -> None:
    import torch

    from pipeline.ingest.line_tagger import _module

    torch.manual_seed(0)
    network = _module(5, 8, 0.0, attention_heads=2).eval()
    long, short = torch.randn(30, 5), torch.randn(12, 5)
    batch = torch.nn.utils.rnn.pad_sequence([long, short], batch_first=True)
    with torch.no_grad():
        together = network(batch, torch.tensor([30, 12]))
        assert torch.allclose(together[0], network(long[None])[0], atol=1e-5)
        assert torch.allclose(together[1, :12], network(short[None])[0], atol=1e-5)
