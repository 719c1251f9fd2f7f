"""The learned line model for plain text: every line of a page labelled heading, paragraph or other.

The rules of `text.py` run first (their title, standfirst, body region and verdicts are features);
a gradient-boosted tree model (scikit-learn) trained on labelled pages of many sites then gives
each line class probabilities from its features (`line_features.py`; v4 blends in a second model
that does not read the rules, `RulesFreeBlend`; v5 also a BiGRU over the page's lines, v6 two,
`TaggerBlend`). A decision rule turns them into labels line by line (v1-v3, `label_lines`), or a
decoder reads the page as one sequence (v4-v6: `decoded_labels`,
`line_decoding.py`). The model that ships lies in `pipeline/data/line_model/<version>/` (`model.pkl`
and `meta.json`), written by `python experiments/article-structure/train.py`; it loads in well under a
second and needs no network.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from dataclasses import asdict, dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from pipeline.errors import ConfigError
from pipeline.ingest.line_decoding import SequenceDecoder
from pipeline.ingest.line_embeddings import MAX_TOKENS, LineEmbedder
from pipeline.ingest.parsed import Parsed
from pipeline.ingest.text import RuleVerdicts, parsed_from_labels, rule_verdicts

CLASSES = ("other", "paragraph", "heading")
MODELS_DIR = Path(__file__).resolve().parents[1] / "data" / "line_model"
#: Most lines (pictures, credits) between a heading and the paragraph under it.
HEADING_GAP_LINES = 3
#: The rules' labels for a line dropped by its own words or its neighbours (not by its place on the page).
DROPPED_BY_WORDS = frozenset({"caption", "credit", "byline", "date", "share", "newsletter"})
#: Fewer words than this, not prose, dropped by the rules: text only between text (`_drop_added_stubs`).
STUB_WORDS = 5


@dataclass
class LineModel:
    """A fitted classifier over `line_features.page_features` rows, with what made it."""

    estimator: object
    feature_names: list[str]
    meta: dict = field(default_factory=dict)
    embedder: LineEmbedder | None = None
    """Line-embedding features after the shape features (v3), or none (v1, v2)."""

    @property
    def decision(self) -> DecisionRule:
        """The decision rule chosen for this model (in `meta`), else the plain argmax-like default."""
        return DecisionRule(**self.meta.get("decision", {}))

    @cached_property
    def decoder(self) -> SequenceDecoder | None:
        """The page-sequence decoder (v4, in `meta`), or none: the decision rule labels line by line."""
        data = self.meta.get("decoder")
        return SequenceDecoder.from_dict(data) if data else None

    def features_of(self, verdicts: RuleVerdicts, embeddings: np.ndarray | None = None,
                    rows: np.ndarray | None = None) -> np.ndarray:
        """The model's feature rows for a page: shape features (`rows` when already computed), then
        (v3) line-embedding features (`embeddings` when already computed, else they are computed)."""
        if rows is None:
            from pipeline.ingest.line_features import page_features

            rows = page_features(verdicts)
        if self.embedder is None:
            return rows
        if embeddings is None:
            embeddings = self.embedder.embed([line.text for line in verdicts.lines])
        return np.hstack([rows, self.embedder.features(embeddings)])

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Probabilities of `CLASSES` for each row (zero rows: an empty array)."""
        if len(features) == 0:
            return np.zeros((0, len(CLASSES)))
        with _thread_controller().limit(limits=1):  # one page is small: threads cost more than they give
            return self.estimator.predict_proba(features)

    def save(self, folder: Path) -> None:
        """Write `model.pkl` and `meta.json` (with the pickle's sha256) to `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        blob = pickle.dumps(self.estimator, protocol=5)
        meta = {**self.meta, "feature_names": self.feature_names, "classes": list(CLASSES),
                "sha256": hashlib.sha256(blob).hexdigest()}
        if self.embedder is not None:
            reduction = _embedder_bytes(self.embedder)
            meta["embedder"] = {"encoder": self.embedder.encoder, "dims": self.embedder.dims,
                                "sha256": hashlib.sha256(reduction).hexdigest()}
            if self.embedder.max_tokens != MAX_TOKENS:  # absent: v3's 64, so that v3 retrains byte for byte
                meta["embedder"]["max_tokens"] = self.embedder.max_tokens
            (folder / "embedder.npy").write_bytes(reduction)
        (folder / "model.pkl").write_bytes(blob)
        (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LineModel:
        """Read a model written by `save`; refuse one whose features do not match this code."""
        from pipeline.ingest.line_features import feature_names

        meta_path, model_path = folder / "meta.json", folder / "model.pkl"
        if not meta_path.exists() or not model_path.exists():
            raise ConfigError(f"no line model in {folder}: expected model.pkl and meta.json "
                              "(python experiments/article-structure/train.py writes them)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        blob = model_path.read_bytes()
        if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
            raise ConfigError(f"line model in {folder} does not match its meta.json (sha256): retrain it")
        embedder = _load_embedder(folder, meta)
        expected = feature_names() + (embedder.names() if embedder else [])
        if meta.get("feature_names") != expected:
            raise ConfigError(f"line model in {folder} was trained on other features than this code "
                              "computes: retrain it with python experiments/article-structure/train.py")
        return cls(pickle.loads(blob), meta["feature_names"], meta, embedder)


@dataclass
class RulesFreeBlend:
    """Two classifiers over the same feature rows, their probabilities blended (v4): one reads every
    feature, the other only the columns that do not come from the rules' body region and verdicts
    (`line_features.rules_free_columns`), so that a page whose body the rules misplace (a list-bodied
    page, a table) still gets its lines judged on their own shape and wording."""

    full: object
    rules_free: object
    columns: list[int]
    """The rules-free classifier's columns of a feature row."""
    weight: float
    """The rules-free classifier's share of the blended probabilities."""

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return ((1.0 - self.weight) * self.full.predict_proba(features)
                + self.weight * self.rules_free.predict_proba(features[:, self.columns]))


@dataclass
class TaggerBlend:
    """The tree models' probabilities blended with a BiGRU tagger's over the whole page (v5, v6,
    `line_tagger.py`); the feature rows must be one page's lines in order."""

    lines: object
    tagger: object
    weight: float
    """The tagger's share of the blended probabilities."""

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        lines = self.lines.predict_proba(features)
        return (1.0 - self.weight) * lines + self.weight * self.tagger.predict_proba(features)


def _embedder_bytes(embedder: LineEmbedder) -> bytes:
    """The reduction as one .npy array: the mean as row 0, the components below it."""
    buffer = io.BytesIO()
    np.save(buffer, np.vstack([embedder.mean[None, :], embedder.components]).astype(np.float32))
    return buffer.getvalue()


def _load_embedder(folder: Path, meta: dict) -> LineEmbedder | None:
    """The model's line-embedding reduction (`embedder.npy`, checked against meta.json), if it has one."""
    info = meta.get("embedder")
    if not info:
        return None
    path = folder / "embedder.npy"
    blob = path.read_bytes() if path.exists() else b""
    if hashlib.sha256(blob).hexdigest() != info.get("sha256"):
        raise ConfigError(f"line model in {folder}: embedder.npy is missing or does not match meta.json")
    array = np.load(io.BytesIO(blob))
    return LineEmbedder(info["encoder"], array[1:], array[0], int(info.get("max_tokens", MAX_TOKENS)))


@cache
def _thread_controller():
    """threadpoolctl's view of the loaded thread pools, made once (a fresh one costs ~2 ms a call)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@cache
def shipped_model(version: str = "v2") -> LineModel:
    """A line model inside the package (`pipeline/data/line_model/<version>/`), loaded once a process."""
    return LineModel.load(MODELS_DIR / version)


@dataclass(frozen=True)
class DecisionRule:
    """How the model's probabilities overrule the rules' verdict on a line.

    The rules stand unless the model is sure: a line the rules call a heading stays one unless its
    heading probability is below `keep_heading`; a line they do not call one becomes one above
    `add_heading`. Likewise a rules' paragraph is dropped only where the model gives it less than
    `keep_paragraph`, and a line they dropped becomes text above `add_paragraph`.
    """

    add_heading: float = 0.5
    keep_heading: float = 0.5
    add_paragraph: float = 0.5
    keep_paragraph: float = 0.5
    lone_heading: float = 0.0
    """A page's only heading stays one only with this heading probability: sub-headings come in
    twos or more, a lone one is more often a label or a pull quote."""
    stub_runs: float = 0.0
    """1: a run of short lines the model added as text ("Share", "Related") is judged as a whole, text
    only with text on both sides of the run (v2); 0: line by line, so that the run's inner lines
    stay (v1)."""

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _decide(rule: str, p: np.ndarray, decision: DecisionRule) -> str:
    """The label of one line from the rules' verdict and the model's probabilities."""
    p_heading, p_paragraph = p[CLASSES.index("heading")], p[CLASSES.index("paragraph")]
    if rule == "heading":
        if p_heading >= decision.keep_heading:
            return "heading"
    elif p_heading >= decision.add_heading and p_heading >= p_paragraph:
        return "heading"
    threshold = decision.keep_paragraph if rule in ("paragraph", "heading") else decision.add_paragraph
    return "paragraph" if p_paragraph + p_heading >= threshold else "other"


def _drop_added_stubs(verdicts: RuleVerdicts, labels: list[str], runs: bool = False) -> None:
    """A short line the rules dropped and the model took as text ("Share", "Read more") stays text
    only inside the body, with text on both sides; at the body's edges it is page furniture. With
    `runs`, the sides of a run of such lines are the lines around the whole run."""
    text = ("paragraph", "heading")
    stubs = [
        label == "paragraph" and verdicts.labels[i] not in text and not verdicts.prose[i]
        and verdicts.lines[i].n_words < STUB_WORDS
        for i, label in enumerate(labels)
    ]
    sides = list(labels) if runs else labels  # v1 reads its own earlier verdicts, as it always did
    for i in range(len(labels)):
        if not stubs[i]:
            continue
        before, after = i - 1, i + 1
        while runs and before >= 0 and stubs[before]:
            before -= 1
        while runs and after < len(labels) and stubs[after]:
            after += 1
        if not (before >= 0 and after < len(labels) and sides[before] in text and sides[after] in text):
            labels[i] = "other"


def label_lines(
    verdicts: RuleVerdicts, probabilities: np.ndarray, decision: DecisionRule | None = None
) -> list[str]:
    """One label a line: the rules' title and standfirst; else the rules' verdict as the model
    confirms or overrules it (`DecisionRule`), then made coherent.

    A heading needs a paragraph under it (within `HEADING_GAP_LINES` lines), else it is dropped; one
    above the first paragraph opens the article's first section (a body that starts with a
    sub-heading) and is kept. Dropped lines keep the rules' reason where
    the rules dropped them, else `chrome` above the body and `related` below it.
    """
    decision = decision or DecisionRule()
    labels: list[str] = []
    for i, rule in enumerate(verdicts.labels):
        if rule in ("title", "standfirst"):
            labels.append(rule)
            continue
        label = _decide(rule, probabilities[i], decision)
        if label == "heading" and verdicts.line_reasons[i] is not None:
            label = "other"  # a credit, byline, share bar ... by its own words: never a heading
        labels.append(label)
    _drop_added_stubs(verdicts, labels, runs=decision.stub_runs >= 0.5)
    return _settle(verdicts, labels, probabilities, decision.lone_heading)


def decoded_labels(verdicts: RuleVerdicts, probabilities: np.ndarray, decoder: SequenceDecoder) -> list[str]:
    """One label a line: the rules' title and standfirst; else the class the decoder finds for the
    line within the whole page's sequence (`line_decoding.py`), then made coherent as `label_lines`
    does (short lines the rules dropped are text only between text, as v2's `stub_runs`). A line the
    rules drop by its own words (a credit, a share bar) is never a heading, and pays the decoder's
    `dropped_penalty` to be text; a decoded heading below `min_heading` is a paragraph where the rules
    took it for text, else dropped."""
    pairs = zip(verdicts.labels, verdicts.line_reasons, strict=True)
    dropped = np.asarray([rule in DROPPED_BY_WORDS or reason is not None for rule, reason in pairs],
                         dtype=bool)
    classes = decoder.decode(probabilities, dropped)
    p_heading = probabilities[:, CLASSES.index("heading")]
    labels: list[str] = []
    for i, rule in enumerate(verdicts.labels):
        if rule in ("title", "standfirst"):
            labels.append(rule)
            continue
        decoded = CLASSES[classes[i]]
        rejected = verdicts.line_reasons[i] is not None or p_heading[i] < decoder.min_heading
        if decoded == "heading" and rejected:  # the rules' text stays text
            decoded = "paragraph" if rule in ("heading", "paragraph") else "other"
        labels.append(decoded)
    _drop_added_stubs(verdicts, labels, runs=True)
    return _settle(verdicts, labels, probabilities, decoder.lone_heading)


def _settle(verdicts: RuleVerdicts, labels: list[str], probabilities: np.ndarray,
            lone_heading: float) -> list[str]:
    """A heading needs a paragraph under it (within `HEADING_GAP_LINES` lines); a page's only heading
    needs `lone_heading`; `other` lines get the rules' reason, else `chrome` or `related` by place."""
    paragraphs = [i for i, label in enumerate(labels) if label == "paragraph"]
    first = paragraphs[0] if paragraphs else len(labels)
    for i, label in enumerate(labels):
        if label != "heading":
            continue
        below = labels[i + 1 : i + 2 + HEADING_GAP_LINES]
        if "paragraph" not in below:
            labels[i] = "other"
    headings = [i for i, label in enumerate(labels) if label == "heading"]
    if len(headings) == 1 and probabilities[headings[0], CLASSES.index("heading")] < lone_heading:
        labels[headings[0]] = "other"
    for i, label in enumerate(labels):
        if label == "other":
            rule = verdicts.labels[i]
            if rule not in ("paragraph", "heading", "title", "standfirst"):
                labels[i] = rule
            else:
                labels[i] = "chrome" if i < first else "related"
    return labels


def parse_plain_text_learned(
    text: str, *, drop_boilerplate: bool = True, max_heading_words: int = 16, model: LineModel | None = None
) -> Parsed:
    """Title, standfirst, body blocks and dropped lines of a page, by the learned line model.

    With `drop_boilerplate` off the rules' parse is returned as it is (nothing to learn there).
    """
    verdicts = rule_verdicts(text, drop_boilerplate=drop_boilerplate, max_heading_words=max_heading_words,
                             any_script=True)
    if not drop_boilerplate or not verdicts.lines:
        return parsed_from_labels(verdicts.lines, verdicts.labels)
    model = model or shipped_model()
    labels = learned_labels(verdicts, model.predict_proba(model.features_of(verdicts)), model.decision,
                            model.decoder)
    return parsed_from_labels(verdicts.lines, labels)


def learned_labels(
    verdicts: RuleVerdicts, probabilities: np.ndarray, decision: DecisionRule | None,
    decoder: SequenceDecoder | None = None,
) -> list[str]:
    """`decoded_labels` with a decoder (v4), else `label_lines`; the rules' own labels where the
    model finds no text (the better guess then)."""
    if decoder is not None:
        labels = decoded_labels(verdicts, probabilities, decoder)
    else:
        labels = label_lines(verdicts, probabilities, decision)
    return labels if "paragraph" in labels else verdicts.labels
