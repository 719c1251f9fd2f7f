"""`topics.v1`: topical segmentation on sentence embeddings by penalised optimal partition.

Each unit (paragraph, or sentence) is embedded as a unit-length vector (all-MiniLM-L6-v2, mean pooling).
A span of units is split where the split lowers the within-section scatter enough:

    minimise   sum over sections S of  sum_{i in S} ||e_i - mean(S)||^2   +   penalty * scale * (#sections)

with ``scale`` the span's mean squared distance to its own centroid, so ``penalty`` does not depend on
the encoder or on how varied the text is. Exact dynamic programming, O(n^2) for n units; sections have
between ``min_units`` and ``max_units`` units. This is kernel change-point detection with a linear
kernel. The number of sections is not given: it follows from ``penalty``, chosen on choi-dev
(experiments/topics-choi: mean Pk 0.055 where TextTiling gets 0.32).

:func:`topic_boundaries` is the pure algorithm over any sequence of unit vectors; the Choi evaluation
calls it with sentences as units, :func:`by_topics` with an article's paragraphs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.config import TopicsParams
from pipeline.errors import ConfigError
from pipeline.records import Article, Section
from pipeline.segment import SEGMENTERS
from pipeline.segment.sentences import split_sentences

_MIN_SCALE = 1e-6  # floor of the penalty scale, so identical vectors still give one section


def topic_boundaries(
    embeddings: np.ndarray,
    penalty: float = 1.5,
    min_units: int = 2,
    max_units: int | None = None,
) -> list[int]:
    """Indices of the units that start a new section (0 excluded), ascending.

    ``embeddings`` is an (n, d) array, one row per unit in reading order (unit-length rows expected,
    as :class:`pipeline.models.embedder.SentenceEncoder` gives). Fewer than ``2 * min_units`` units
    give no boundary. With ``max_units`` set, every section has at most that many units.
    """
    check_sizes(min_units, max_units)
    if not penalty > 0:
        raise ConfigError(f"topics penalty must be > 0, found {penalty}")
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be a 2-d array (units x dimensions), found shape {x.shape}")
    n = len(x)
    if n < 2 * min_units:
        return []

    # Prefix sums: the scatter of x[a:b] is sq[b]-sq[a] - ||c[b]-c[a]||^2 / (b-a).
    c = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    sq = np.concatenate([[0.0], np.cumsum(np.einsum("ij,ij->i", x, x))])
    total = sq[n] - c[n] @ c[n] / n
    cost_per_section = penalty * max(total / n, _MIN_SCALE)

    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    prev = np.zeros(n + 1, dtype=np.int64)
    for b in range(min_units, n + 1):
        lo = 0 if max_units is None else max(0, b - max_units)
        starts = np.arange(lo, b - min_units + 1)
        starts = starts[(starts == 0) | (starts >= min_units)]  # the first section too has min_units
        if len(starts) == 0:
            continue
        sums = c[b] - c[starts]
        scatter = sq[b] - sq[starts] - np.einsum("ij,ij->i", sums, sums) / (b - starts)
        values = best[starts] + scatter + cost_per_section
        j = int(np.argmin(values))
        best[b], prev[b] = values[j], starts[j]

    if not np.isfinite(best[n]):  # cannot happen with the checks above; be safe
        return []
    cuts: list[int] = []
    b = n
    while b > 0:
        b = int(prev[b])
        if b > 0:
            cuts.append(b)
    return sorted(cuts)


def check_sizes(min_units: int, max_units: int | None) -> None:
    """Every span of at least 2 * min_units units must be splittable into allowed section sizes."""
    if min_units < 1:
        raise ConfigError(f"topics min_units must be >= 1, found {min_units}")
    if max_units is not None and max_units < 2 * min_units - 1:
        raise ConfigError(
            f"topics max_units must be null or >= 2 * min_units - 1 = {2 * min_units - 1}, found "
            f"max_units={max_units} with min_units={min_units}: raise max_units or lower min_units"
        )


def embed_units(texts: Sequence[str], params: TopicsParams) -> np.ndarray:
    """One unit-length vector per text, with the encoder ``params.model``.

    ``unit == "sentence"``: each text is split into sentences and its vector is the normalised mean of
    theirs; ``paragraph``: each text is embedded whole (truncated to the model window).
    """
    from pipeline.models.embedder import get_encoder

    encoder = get_encoder(params.model)
    if params.unit == "paragraph":
        return encoder.encode(list(texts), batch_size=params.batch_size)
    pieces = [split_sentences(t) for t in texts]
    flat = encoder.encode([s for p in pieces for s in p], batch_size=params.batch_size)
    out = np.zeros((len(texts), flat.shape[1]), dtype=np.float32)
    start = 0
    for i, p in enumerate(pieces):
        mean = flat[start : start + len(p)].mean(axis=0)
        out[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        start += len(p)
    return out


@SEGMENTERS.register("topics.v1")
def by_topics(article: Article, params: TopicsParams) -> list[Section]:
    """Sections of whole paragraphs, split where the topic changes.

    Each sub-heading is a forced boundary: the section that starts at it carries the heading, and
    topical boundaries are found inside each heading-delimited span (the lead before the first
    heading is one such span). Topical sections not started by a heading have heading None. A heading
    with no paragraphs under it is dropped (as `headings.v1` does by default). A span of fewer than
    ``2 * min_units`` paragraphs is one section, and then no model is loaded.
    """
    check_sizes(params.min_units, params.max_units)
    spans: list[tuple[str | None, list[str]]] = [(None, [])]
    for block in article.blocks:
        if block.kind == "heading":
            spans.append((block.text, []))
        else:
            spans[-1][1].append(block.text)
    spans = [(h, ps) for h, ps in spans if ps]

    to_embed = [ps for _, ps in spans if len(ps) >= 2 * params.min_units]
    vectors: list[np.ndarray] = []
    if to_embed:
        flat = embed_units([p for ps in to_embed for p in ps], params)
        offsets = np.cumsum([0] + [len(ps) for ps in to_embed])
        vectors = [flat[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]

    sections: list[Section] = []
    next_vectors = iter(vectors)
    for heading, paragraphs in spans:
        cuts: list[int] = []
        if len(paragraphs) >= 2 * params.min_units:
            cuts = topic_boundaries(next(next_vectors), params.penalty, params.min_units, params.max_units)
        edges = [0, *cuts, len(paragraphs)]
        for k, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            sections.append(Section(len(sections), heading if k == 0 else None, tuple(paragraphs[a:b])))
    return sections
