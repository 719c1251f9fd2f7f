"""Labelled pages for the learned line model: a page's `.txt` and its labelled blocks, line by line.

A labels file (`<id>.silver.json` or `<id>.gold.json`) lists the body `blocks`, each with its `type`
(heading or paragraph) and `txt_line`, the 1-based line of the `.txt` where it starts; every other
line of the page is `other` (boilerplate, title, standfirst). Pages are grouped by site, so that a
model is only ever judged on sites it did not learn from.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from pipeline.ingest.decode import decode_bytes
from pipeline.ingest.line_embeddings import MAX_TOKENS, LineEmbedder, embed_lines
from pipeline.ingest.line_features import page_features
from pipeline.ingest.line_model import CLASSES, LineModel, RulesFreeBlend, TaggerBlend
from pipeline.ingest.line_tagger import LineTagger
from pipeline.ingest.text import RuleVerdicts, rule_verdicts


@dataclass
class LabelledPage:
    """One page: its rules' verdicts, features, gold label per line, and what it is judged against."""

    id: str
    site: str
    lang: str | None
    kind: str
    """'silver' (machine labels) or 'gold' (reviewed)."""
    text: str
    verdicts: RuleVerdicts
    features: np.ndarray
    labels: np.ndarray
    gold: dict
    """The labels file: `headings`, `paragraphs` (and for gold pages `body_text`)."""
    embeddings: dict[int, np.ndarray] | None = None
    """Its lines' sentence embeddings by tokens read, computed on first use (`page_embeddings`)."""

    @property
    def body_text(self) -> str:
        """The labelled body: headings and paragraphs in order (gold pages: their `body_text`)."""
        if self.gold.get("body_text"):
            return self.gold["body_text"]
        return "\n\n".join(block["text"] for block in self.gold.get("blocks", []))


def site_of(page_id: str, url: str | None) -> str:
    """The site a page comes from: the host of its URL, else its id without source prefix and number
    (``aeb-bbc.com-c7e39ac49f`` -> ``bbc.com``, ``rdb-ehow-2`` -> ``ehow``)."""
    if url:
        host = urlparse(url).netloc.lower()
        return host.removeprefix("www.")
    parts = page_id.split("-", 1)
    rest = parts[1] if len(parts) == 2 else page_id
    if parts[0] == "aeb":
        return rest.rsplit("-", 1)[0].removeprefix("www.")
    return re.sub(r"-\d+$", "", rest)


#: Second-level labels of country-code suffixes (``bbc.co.uk``, ``folha.uol.com.br``).
_SECOND_LEVEL = {"co", "com", "org", "net", "gov", "ac", "edu", "uol"}


def site_name(site: str) -> str:
    """A site's name without subdomains and public suffix: ``en.wikipedia.org`` and ``wikipedia``
    are both ``wikipedia``; ``hacks.mozilla.org`` and ``mozilla.org`` both ``mozilla``."""
    parts = site.split(":")[0].split(".")
    if len(parts) > 1:
        parts = parts[:-1]
        while len(parts) > 1 and parts[-1] in _SECOND_LEVEL:
            parts = parts[:-1]
    return parts[-1]


def _long_lines(page: LabelledPage, min_chars: int = 20) -> set[str]:
    texts = (line.text.strip() for line in page.verdicts.lines)
    return {text.casefold() for text in texts if len(text) > min_chars}


def page_groups(pages: list[LabelledPage], shared: float = 0.5) -> list[int]:
    """A group number per page for cross-validation: pages of one site (by `site_name`) and pages
    that share at least `shared` of their long lines (one template under many names, such as a test
    suite's fixture pages) fall in one group, so that no page is judged by a model that saw its twin."""
    parent = list(range(len(pages)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        parent[root(i)] = root(j)

    first_of_site: dict[str, int] = {}
    for i, page in enumerate(pages):
        join(i, first_of_site.setdefault(site_name(page.site), i))
    lines = [_long_lines(page) for page in pages]
    for i, j in itertools.combinations(range(len(pages)), 2):
        if lines[i] and lines[j] and len(lines[i] & lines[j]) >= shared * min(len(lines[i]), len(lines[j])):
            join(i, j)
    roots = [root(i) for i in range(len(pages))]
    numbers = {r: k for k, r in enumerate(dict.fromkeys(roots))}
    return [numbers[r] for r in roots]


def line_labels(verdicts: RuleVerdicts, gold: dict) -> np.ndarray:
    """The class index (see `CLASSES`) of every line: the type of the block that starts on it, else
    'other'."""
    by_line = {}
    for block in gold.get("blocks", []):
        if block.get("txt_line") is not None and block.get("type") in ("heading", "paragraph"):
            by_line.setdefault(int(block["txt_line"]), block["type"])
    return np.asarray([CLASSES.index(by_line.get(line.number, "other")) for line in verdicts.lines],
                      dtype=np.int64)


def load_page(txt_path: Path, labels_path: Path, kind: str, lang: str | None = None) -> LabelledPage:
    """Read a page's `.txt` and labels file and compute its features and line labels."""
    text = decode_bytes(txt_path.read_bytes(), str(txt_path))
    gold = json.loads(labels_path.read_text(encoding="utf-8"))
    verdicts = rule_verdicts(text, any_script=True)
    page_id = gold.get("id") or txt_path.stem
    return LabelledPage(
        id=page_id,
        site=site_of(page_id, gold.get("url")),
        lang=lang or gold.get("lang"),
        kind=kind,
        text=text,
        verdicts=verdicts,
        features=page_features(verdicts),
        labels=line_labels(verdicts, gold),
        gold=gold,
    )


def load_review(*paths: Path) -> dict[str, dict[int, bool]]:
    """A review of candidate heading lines (JSON lines of `page`, `line`, `heading`), from one file or
    several rounds (a later file's verdict on the same line wins): page -> line -> verdict."""
    review: dict[str, dict[int, bool]] = {}
    for path in paths:
        for row in path.read_text(encoding="utf-8").splitlines():
            if row.strip():
                entry = json.loads(row)
                review.setdefault(entry["page"], {})[int(entry["line"])] = bool(entry["heading"])
    return review


def apply_review(page: LabelledPage, marks: dict[int, bool]) -> LabelledPage:
    """The page with its heading lines as reviewed: a reviewed line is a heading or not (a rejected
    heading becomes `other`); the page's `headings` become its heading lines' texts, in order."""
    heading, other = CLASSES.index("heading"), CLASSES.index("other")
    labels = page.labels.copy()
    for i, line in enumerate(page.verdicts.lines):
        verdict = marks.get(line.number)
        if verdict is True:
            labels[i] = heading
        elif verdict is False and labels[i] == heading:
            labels[i] = other
    gold = {**page.gold, "headings": [page.verdicts.lines[i].text for i in np.flatnonzero(labels == heading)]}
    return replace(page, labels=labels, gold=gold)


def load_folder(folder: Path, kind: str, review: dict[str, dict[int, bool]] | None = None
                ) -> list[LabelledPage]:
    """Every page of a folder with a `.txt` and a `.silver.json` or `.gold.json` beside it, sorted by id;
    with a `review` (`load_review`), every page's headings as reviewed (`apply_review`)."""
    suffix = ".silver.json" if kind == "silver" else ".gold.json"
    langs = {}
    manifest = folder / "manifest.jsonl"
    if manifest.exists():
        for row in manifest.read_text(encoding="utf-8").splitlines():
            if row.strip():
                entry = json.loads(row)
                langs[entry["id"]] = entry.get("lang")
    pages = []
    for labels_path in sorted(folder.glob(f"*{suffix}")):
        page_id = labels_path.name[: -len(suffix)]
        txt = folder / f"{page_id}.txt"
        if txt.exists():
            pages.append(load_page(txt, labels_path, kind, langs.get(page_id)))
    if review is not None:
        pages = [apply_review(page, review.get(page.id, {})) for page in pages]
    return pages


def page_weights(
    pages: list[LabelledPage], gold_weight: float = 3.0, heading_weight: float = 5.0
) -> np.ndarray:
    """One weight a line: each page counts about the same whatever its length (1/sqrt of its lines),
    reviewed gold pages `gold_weight` times a silver one, heading lines (rare: 2 % of lines)
    `heading_weight` times other lines.

    A line that silver labels call a paragraph where the rules see a sub-heading gets no weight: the
    silver labels miss sub-headings set as bold paragraphs, so that label says nothing either way.
    """
    weights = []
    heading, paragraph = CLASSES.index("heading"), CLASSES.index("paragraph")
    for page in pages:
        n = max(len(page.labels), 1)
        w = np.full(len(page.labels), (gold_weight if page.kind == "gold" else 1.0) / np.sqrt(n))
        w[page.labels == heading] *= heading_weight
        if page.kind == "silver":
            rule_heading = np.asarray([label == "heading" for label in page.verdicts.labels], dtype=bool)
            w[(page.labels == paragraph) & rule_heading] = 0.0
        weights.append(w)
    return np.concatenate(weights) if weights else np.zeros(0)


def page_embeddings(page: LabelledPage, max_tokens: int = MAX_TOKENS) -> np.ndarray:
    """The page's line embeddings from their first `max_tokens` tokens (`line_embeddings.embed_lines`),
    computed once and kept on the page."""
    if getattr(page, "embeddings", None) is None:
        page.embeddings = {}
    if max_tokens not in page.embeddings:
        page.embeddings[max_tokens] = embed_lines([line.text for line in page.verdicts.lines],
                                                  max_tokens=max_tokens)
    return page.embeddings[max_tokens]


def model_features(model: LineModel, page: LabelledPage) -> np.ndarray:
    """A labelled page's feature rows for `model`, from its kept shape features and line embeddings."""
    embedder = model.embedder
    embeddings = page_embeddings(page, embedder.max_tokens) if embedder is not None else None
    return model.features_of(page.verdicts, embeddings, rows=page.features)


def fit_line_model(pages: list[LabelledPage], seed: int = 0, gold_weight: float = 3.0,
                   heading_weight: float = 5.0, embedding_dims: int = 0, embedding_tokens: int = MAX_TOKENS,
                   rules_free_weight: float = 0.0, tagger_weight: float = 0.0, tagger: dict | None = None,
                   **params) -> LineModel:
    """Gradient-boosted trees over the lines of `pages` (scikit-learn's histogram GBM); with
    `embedding_dims`, line-embedding features too (principal components fitted on these pages' lines,
    each embedded from its first `embedding_tokens` tokens); with `rules_free_weight`, blended with a
    second model that does not read the rules' verdicts (`RulesFreeBlend`, v4); with `tagger_weight`,
    blended again with a BiGRU over each page's lines (`TaggerBlend`, v5; `tagger`: its settings)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from pipeline.ingest.line_features import feature_names, rules_free_columns

    pages = [p for p in pages if len(p.labels)]
    embedder = None
    if embedding_dims:
        embedder = LineEmbedder.fit(np.concatenate([page_embeddings(p, embedding_tokens) for p in pages]),
                                    embedding_dims, seed=seed, max_tokens=embedding_tokens)
    settings = {"max_iter": 300, "learning_rate": 0.08, "max_leaf_nodes": 31, "min_samples_leaf": 20,
                "l2_regularization": 1.0, **params}
    meta = {"params": settings, "seed": seed, "gold_weight": gold_weight, "heading_weight": heading_weight,
            "pages": len(pages), "lines": int(sum(len(p.labels) for p in pages)),
            "sites": len({p.site for p in pages}), "embedding_dims": embedding_dims}
    names = feature_names() + (embedder.names() if embedder else [])
    model = LineModel(HistGradientBoostingClassifier(random_state=seed, **settings), names, meta, embedder)
    features = np.concatenate([model_features(model, p) for p in pages])
    labels = np.concatenate([p.labels for p in pages])
    weights = page_weights(pages, gold_weight, heading_weight)
    model.estimator.fit(features, labels, sample_weight=weights)
    if rules_free_weight:
        columns = rules_free_columns(names)
        rules_free = HistGradientBoostingClassifier(random_state=seed, **settings)
        rules_free.fit(features[:, columns], labels, sample_weight=weights)
        model.estimator = RulesFreeBlend(model.estimator, rules_free, columns, rules_free_weight)
        meta["rules_free_weight"] = rules_free_weight
    if tagger_weight:
        rows = np.split(features, np.cumsum([len(p.labels) for p in pages])[:-1])  # one matrix a page
        fitted = LineTagger.fit(rows, [p.labels for p in pages],
                                [gold_weight if p.kind == "gold" else 1.0 for p in pages],
                                heading_weight=heading_weight, seed=seed, **(tagger or {}))
        model.estimator = TaggerBlend(model.estimator, fitted, tagger_weight)
        meta["tagger_weight"] = tagger_weight
        meta["tagger"] = fitted.settings
    return model
