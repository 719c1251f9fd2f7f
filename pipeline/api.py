"""Plain functions behind the commands; the CLI, tests and notebooks share them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import RunConfig, load_config
from pipeline.errors import ConfigError, InputError
from pipeline.ingest import is_corpus, iter_corpus, parse, read_document
from pipeline.records import Segmented
from pipeline.runner import Progress, RunResult, run_pipeline
from pipeline.segment import segment_article

if TYPE_CHECKING:
    from pipeline.corpus import CorpusResult


def load_run_config(config_path: str | None, overrides: list[str] | None = None) -> RunConfig:
    config = load_config(config_path, overrides or [], model=RunConfig)
    assert isinstance(config, RunConfig)
    return config


def segment(
    input_path: str | Path, config: RunConfig, method: str | None = None
) -> Iterator[Segmented | InputError]:
    """Segment one article, or each article of a corpus (bad ones come back as InputError)."""
    path = Path(input_path)
    if not is_corpus(path):
        yield segment_article(
            parse(read_document(path, config.ingest, config.input.format), config.ingest),
            config.segment,
            method,
        )
        return
    for doc in iter_corpus(path, config.ingest):
        if isinstance(doc, InputError):
            yield doc
            continue
        try:
            yield segment_article(parse(doc, config.ingest), config.segment, method)
        except InputError as exc:
            yield InputError(f"{doc.id}: {exc}")


def run(
    config_path: str | None,
    overrides: list[str] | None = None,
    input_path: str | None = None,
    progress: Progress | None = None,
    output: str | None = None,
    batch_size: int | None = None,
    engine: str | None = None,
) -> RunResult | CorpusResult:
    """Run the configured stages over the configured (or given) input, tracked in MLflow.

    A corpus (a folder, JSONL or Parquet file), or any input given an ``output`` folder, is streamed
    into ``output`` by `pipeline.corpus.run_corpus` (resumable); a single article keeps the in-memory
    run of `pipeline.runner.run_pipeline`. ``engine`` (``local`` or ``spark``) overrides ``engine.kind``.
    """
    config = load_run_config(config_path, overrides)
    if engine:
        from pipeline.config import EngineConfig, validate

        settings = config.engine.model_dump() | {"kind": engine}
        config = config.model_copy(update={"engine": validate(settings, EngineConfig, "--engine")})
    path = input_path or config.input.path
    if not path:
        raise ConfigError(f"{config_path or 'config'}: no input: set input.path or pass --input PATH")
    if input_path is None:  # a relative input.path in a config file is also tried from the config's folder
        path = str(_beside(path, config_path))
    if not Path(path).exists():
        raise InputError(f"input not found: {path} (check --input or input.path)")
    if config.engine.kind != "local" and not (output or is_corpus(path)):
        raise ConfigError(f"engine {config.engine.kind} runs corpora: give --input a corpus (a folder, JSONL "
                          f"or Parquet file) or an --output folder, or use --engine local for {path}")
    models = prepare_models(config, config_path) if "score" in config.stages else {}
    if output or is_corpus(path):
        from pipeline.corpus import run_corpus

        return run_corpus(config, Path(path), config_path, output, progress, models, batch_size, overrides)
    return run_pipeline(config, Path(path), config_path, progress, models, overrides)


def prepare_models(config: RunConfig, config_path: str | None) -> dict[str, str]:
    """Train (or reuse) the models that the score stage names a train config for; check the others.

    Returns the model URI to score with per role ("tone", "stance").
    """
    from pipeline import tracking
    from pipeline.score.models import check_model_reference

    tracking.connect(config.tracking)
    models: dict[str, str] = {}
    for role in ("tone", "stance"):
        section = getattr(config.score, role)
        if section is None:
            continue
        if section.train:
            from pipeline.training.api import train_from_config

            train_path = _beside(section.train, config_path)
            summary = train_from_config(
                str(train_path), [f"tracking.uri={tracking.resolve_uri(config.tracking)}"]
            )
            models[role] = summary["model_uri"]
        else:
            check_model_reference(section.model)
            models[role] = section.model
    return models


def _beside(path: str, config_path: str | None) -> Path:
    """A path as given if it exists, else relative to the config file's folder."""
    p = Path(path)
    if p.exists() or p.is_absolute() or not config_path:
        return p
    return Path(config_path).parent / p
