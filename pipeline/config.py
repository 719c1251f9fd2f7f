"""Validated run configs: YAML in, pydantic models out; a bad key fails with its dotted path."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import ConfigError


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors, values are checked."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


# --- ingest -------------------------------------------------------------------------------------


class InputConfig(Strict):
    path: str | None = None
    """Article file, folder of articles, or JSONL corpus (`--input` overrides)."""
    format: Literal["auto", "text", "html", "markdown", "jsonl"] = "auto"


class IngestConfig(Strict):
    text_parser: str = "learned"
    """How plain text is read: `learned` (a line model trained on pages of 100+ sites, see
    experiments/article-structure) or `rules` (the hand-written rules it builds on); a bare name takes
    the newest version (`learned.v6`, `rules.v1`)."""
    drop_boilerplate: bool = True
    """Drop site chrome, promos, 'recommended' lists, captions and credits from plain text."""
    max_heading_words: int = Field(16, ge=1)
    """A plain-text line longer than this many words is never taken as a sub-heading."""

    @field_validator("text_parser")
    @classmethod
    def _known_text_parser(cls, name: str) -> str:
        from pipeline.ingest.parsers import TEXT_PARSERS  # lazy: the ingest package imports this module

        TEXT_PARSERS.resolve(name)  # ConfigError (a ValueError) listing the known names
        return name
    max_bytes: int = Field(5_000_000, gt=0)
    """Refuse a single article larger than this many bytes."""


# --- segment ------------------------------------------------------------------------------------


class HeadingsParams(Strict):
    keep_empty: bool = False
    """Keep a heading with no paragraphs under it as an empty section (else it is merged away)."""


class TopicsParams(Strict):
    model: str = "all-MiniLM-L6-v2"
    """Sentence encoder: a local folder, a Hub id, or all-MiniLM-L6-v2 from the PyPI package."""
    unit: Literal["paragraph", "sentence"] = "paragraph"
    """What is embedded. Sections are always whole paragraphs, so in an article boundaries fall between
    paragraphs either way. paragraph: one vector per paragraph (a paragraph longer than the model
    window, 256 tokens, is truncated). sentence: each paragraph is split into sentences and its vector
    is the mean of theirs (no truncation; slower). For a bare sequence of sentences (the Choi
    benchmark) the sentences themselves are the units."""
    min_units: int = Field(2, ge=1)
    """Fewest units in a topical section; a span of fewer than 2 * min_units units is one section."""
    max_units: int | None = Field(8, ge=1)
    """Most units in a topical section (null: no limit). Keeps article sections readable (a section
    every few paragraphs); set to null for sentence-level benchmarks whose segments are longer."""
    penalty: float = Field(1.5, gt=0)
    """Cost of one more section, in units of the span's mean squared distance to its centroid:
    higher gives fewer, longer sections (chosen on choi-dev: 1.5; see experiments/topics-choi)."""
    batch_size: int = Field(32, ge=1)
    """Texts per encoder batch."""


class ParagraphsParams(Strict):
    window: int = Field(4, ge=1)
    """Paragraphs per section."""


class SegmentConfig(Strict):
    method: Literal["auto", "headings", "topics", "paragraphs"] = "auto"
    """auto: `headings` where the article has at least `min_headings` sub-headings, else `topics`."""
    min_headings: int = Field(2, ge=1)
    headings: HeadingsParams = HeadingsParams()
    topics: TopicsParams = TopicsParams()
    paragraphs: ParagraphsParams = ParagraphsParams()


# --- score --------------------------------------------------------------------------------------


class ToneScoreConfig(Strict):
    model: str = "models:/tone@champion"
    """Tone classifier: a model URI (models:/NAME@ALIAS, runs:/...), a local model folder, or a Hub id."""
    train: str | None = None
    """A train config to run first; an already registered model with the same config and data is reused."""


class StanceScoreConfig(Strict):
    model: str = "models:/stance@champion"
    """Stance classifier (target-aware): a model URI, a local model folder, or a Hub id."""
    train: str | None = None
    """A train config to run first; an already registered model with the same config and data is reused."""
    targets: dict[str, list[str]] = Field(default_factory=dict)
    """Target name -> aliases, e.g. {Iran: [Iranian, Tehran]}. Stance is scored only where mentioned."""
    case_sensitive: bool = True
    """Match names and aliases with their case as written (so 'Turkey' is not 'turkey')."""
    context: Literal["mentions", "section"] = "mentions"
    """What the stance model reads: the target's mentions in context, or the whole section."""
    mention_words: int | None = Field(12, ge=0)
    """With context 'mentions': words kept either side of a mention, within its sentence (null: whole
    sentences)."""

    @field_validator("targets")
    @classmethod
    def _targets_are_distinct(cls, targets: dict[str, list[str]]) -> dict[str, list[str]]:
        if not targets:
            raise ValueError("no targets: list at least one, e.g. {Iran: [Iranian, Tehran]}")
        seen: dict[str, str] = {}
        for name, aliases in targets.items():
            for term in [name, *aliases]:
                key = " ".join(str(term).split()).casefold()
                if not key:
                    raise ValueError(f"target {name!r} has an empty name or alias")
                if key in seen:
                    raise ValueError(f"duplicate target or alias {term!r} (in {seen[key]!r} and {name!r})")
                seen[key] = name
        return targets


class ScoreConfig(Strict):
    tone: ToneScoreConfig | None = ToneScoreConfig()
    """Tone of every section (null: off)."""
    stance: StanceScoreConfig | None = None
    """Stance of every section toward each target that it mentions (null: off)."""
    batch_size: int = Field(64, ge=1)
    """Most windows per forward pass (a batch also holds at most 2,048 padded tokens)."""
    max_length: int | None = Field(None, ge=16)
    """Tokens per window (null: the model's own). Longer sections are split into overlapping windows."""
    stride: float = Field(0.5, gt=0, le=1)
    """Window step as a fraction of the window: 0.5 means windows overlap by half."""
    device: str = "auto"
    """Where the models score: ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        from pipeline.models.device import check_device_setting

        return check_device_setting(value)


# --- tracking -----------------------------------------------------------------------------------


class TrackingConfig(Strict):
    uri: str | None = None
    """MLflow tracking URI; default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db here."""
    artifact_root: str = "mlartifacts"
    """Where a new experiment on a local store keeps its artifacts."""
    table_rows: int = Field(1000, ge=0)
    """Sections logged as the run's table for the UI's table and compare views (`sections_table.json`);
    a corpus run logs a stable sample of this many. 0: none."""


# --- engine -------------------------------------------------------------------------------------


class EngineConfig(Strict):
    kind: Literal["local", "spark"] = "local"
    """Where a corpus run's batches run: `local` (this process) or `spark` (a Spark session: needs
    `pip install -e ".[spark]"` and Java 17). `--engine` overrides it."""
    master: str = "local[*]"
    """Spark master URL when the run starts its own session (`local[2]`, `spark://HOST:7077`, `yarn`,
    `k8s://...`); a session that already exists (a notebook, spark-submit) is used as it is."""
    partitions: int | None = Field(None, ge=1)
    """Spark tasks per job (null: the session's default parallelism, one per core)."""
    articles_per_job: int = Field(10_000, ge=1)
    """Articles per Spark job (rounded up to whole batches of `--batch-size`): each job's output is
    committed at once by Spark's committer, so a killed run loses at most one job's work (a rerun skips
    every committed article)."""
    conf: dict[str, str | int | float | bool] = Field(default_factory=dict)
    """Any Spark setting for a session the run starts, e.g. {spark.executor.memory: 4g}."""


class RunConfig(Strict):
    experiment: str = "news-tone-stance"
    """MLflow experiment the runs go to."""
    run_name: str | None = None
    """Readable run name; default: '<config name>-<input name>'."""
    stages: list[Literal["ingest", "segment", "score"]] = ["ingest", "segment"]
    input: InputConfig = InputConfig()
    ingest: IngestConfig = IngestConfig()
    segment: SegmentConfig = SegmentConfig()
    score: ScoreConfig = ScoreConfig()
    tracking: TrackingConfig = TrackingConfig()
    engine: EngineConfig = EngineConfig()


# --- loading ------------------------------------------------------------------------------------


def parse_override(item: str) -> tuple[list[str], Any]:
    """``a.b=c`` -> (["a", "b"], value parsed as a YAML scalar)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"bad --set {item!r}: expected KEY.PATH=VALUE, e.g. segment.method=topics")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Set each dotted key in a copy of ``data``."""
    data = _deep_copy(data)
    for item in overrides:
        path, value = parse_override(item)
        node = data
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise ConfigError(f"bad --set {item!r}: {part!r} is a value, not a section")
            node = child
        node[path[-1]] = value
    return data


def load_config(
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    model: type[Strict] = RunConfig,
) -> Strict:
    """Read YAML (or built-in defaults when ``path`` is None), apply overrides, validate."""
    source = str(path) if path else "built-in defaults"
    data: dict = {}
    if path is not None:
        data = read_yaml(path)
    data = apply_overrides(data, overrides or [])
    return validate(data, model, source)


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p} (check the path)")
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{p}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a UTF-8 text file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping of sections at the top, found {type(data).__name__}")
    return data


def validate(data: dict, model: type[Strict], source: str) -> Strict:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_error(exc, model)}") from None


def describe_error(exc: ValidationError, model: type[BaseModel]) -> str:
    """One line for the first error: key path, what was expected, what was found."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc)
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if err["type"] == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        close = difflib.get_close_matches(loc[-1], known, n=1)
        hint = f"did you mean '{'.'.join([*loc[:-1], close[0]])}'? " if close else ""
        return f"unknown key '{key}': {hint}expected one of: {', '.join(known)}{more}"
    found = err.get("input")
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "value_error":
        return f"bad value for '{key}': {message}{more}"
    shown = repr(found) if not isinstance(found, dict) else "a mapping"
    return f"bad value for '{key}': {message[:1].lower()}{message[1:]}, found {shown}{more}"


def _known_keys(model: type[BaseModel], loc: list[str]) -> list[str]:
    node: Any = model
    for part in loc:
        field = node.model_fields.get(part) if isinstance(node, type) else None
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        node = annotation
    return sorted(node.model_fields)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dict -> {"a.b.c": value}; lists are kept as one value."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, full))
        else:
            out[full] = value
    return out


def to_yaml(config: BaseModel) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def _deep_copy(data: dict) -> dict:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in data.items()}
