"""Plain functions behind the commands; the CLI, tests and notebooks share them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pipeline.config import RunConfig, load_config
from pipeline.errors import ConfigError, InputError
from pipeline.ingest import is_corpus, iter_corpus, parse, read_document
from pipeline.records import Segmented
from pipeline.runner import Progress, RunResult, run_pipeline
from pipeline.segment import segment_article


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
        yield segment_article(parse(read_document(path, config.ingest, config.input.format), config.ingest),
                              config.segment, method)
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
) -> RunResult:
    """Run the configured stages over the configured (or given) input, tracked in MLflow."""
    config = load_run_config(config_path, overrides)
    path = input_path or config.input.path
    if not path:
        raise ConfigError(f"{config_path or 'config'}: no input: set input.path or pass --input PATH")
    if input_path is None and config_path and not Path(path).is_absolute() and not Path(path).exists():
        # a relative input.path in a config file is also tried relative to the config's folder
        beside = Path(config_path).parent / path
        path = str(beside) if beside.exists() else path
    if not Path(path).exists():
        raise InputError(f"input not found: {path} (check --input or input.path)")
    return run_pipeline(config, Path(path), config_path, progress)
