"""A corpus job, whatever the engine: the output folder, the MLflow parent run, and what ends it.

``pipeline run CONFIG --input CORPUS --output DIR`` lands here (see `pipeline.api.run`). This module
locks DIR, sets aside results of another config or corpus, opens one MLflow parent run, and hands the
documents to the configured engine (`pipeline.corpus.local` or `pipeline.corpus.spark`), which runs the
shared per-batch work (`pipeline.corpus.work`) and commits part files into DIR/sections. A bad article
becomes a row of DIR/errors.parquet and the run goes on. Rerunning over the same DIR skips the articles
whose key (id, content, config, code) already has rows, also after ``kill -9``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import RunConfig
from pipeline.corpus.cache import StageCache
from pipeline.corpus.store import CACHE, OutputDir
from pipeline.corpus.work import Worker, check_config
from pipeline.errors import ConfigError, InputError
from pipeline.ingest import RawDoc, is_corpus, iter_corpus, list_corpus_files, read_document
from pipeline.interrupts import sigterm_as_interrupt
from pipeline.keys import changed_parts

Progress = Callable[[str, int, int], None]
DEFAULT_BATCH = 64
METRICS_EVERY_S = 2.0
#: The sections are logged to MLflow as one Parquet file up to this size (else a pointer to DIR).
LOG_SECTIONS_MAX_BYTES = 64_000_000
MAX_SHOWN_ERRORS = 5


@dataclass
class CorpusResult:
    """What a corpus run did, for the CLI to show."""

    run_id: str
    experiment_id: str
    tracking_uri: str
    run_name: str
    output: Path
    done: int = 0
    skipped: int = 0
    failed: int = 0
    sections: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    parts: int = 0
    errors: list[dict] = field(default_factory=list)
    cache: dict[str, float] = field(default_factory=dict)
    recomputed: int = 0
    """Articles done again that had results under another stage key or content."""
    recomputed_because: list[str] = field(default_factory=list)
    """The stage key parts that changed since the results this run replaced (``tone.model``, ...)."""

    @property
    def articles_per_s(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def sections_per_s(self) -> float:
        return self.sections / self.seconds if self.seconds else 0.0


def default_output(config_path: str | None, input_path: Path) -> Path:
    """outputs/<config name>-<input name>: the same command resumes in the same folder."""
    stem = Path(config_path).stem if config_path else "defaults"
    return Path("outputs") / f"{stem}-{input_path.stem or input_path.name}"


def count_items(path: Path) -> int:
    """How many documents the corpus holds (for the progress bar; cheap, streaming)."""
    if not is_corpus(path):
        return 1
    if path.is_dir():
        return len(list_corpus_files(path))
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path).metadata.num_rows
        except Exception:
            return 0
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def iter_documents(path: Path, config: RunConfig) -> Iterator[RawDoc | InputError]:
    """Each document of a corpus, or the one article file, as `iter_corpus` yields them."""
    if is_corpus(path):
        yield from iter_corpus(path, config.ingest)
        return
    try:
        yield read_document(path, config.ingest, config.input.format)
    except InputError as exc:
        exc.doc_id = path.stem  # type: ignore[attr-defined]
        yield exc


def batched(items: Iterator[Any], n: int) -> Iterator[list[Any]]:
    while batch := list(itertools.islice(items, n)):
        yield batch


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextlib.contextmanager
def _arrow_system_memory() -> Iterator[None]:
    """Arrow buffers from the system allocator during the run: the default (mimalloc) keeps freed
    memory per thread, so RSS would creep up with every part read or written."""
    import pyarrow as pa

    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def run_corpus(
    config: RunConfig,
    input_path: Path,
    config_path: str | None = None,
    output: str | Path | None = None,
    progress: Progress | None = None,
    models: dict[str, str] | None = None,
    batch_size: int | None = None,
    overrides: list[str] | None = None,
) -> CorpusResult:
    """Run the configured stages over a corpus into ``output`` (see the module docstring)."""
    from pipeline import tracking
    from pipeline.runner import default_run_name

    batch_size = batch_size or DEFAULT_BATCH
    if batch_size < 1:
        raise ConfigError(f"bad --batch-size {batch_size}: expected a whole number of articles, 1 or more")
    check_config(config)
    engine = job_class(config.engine.kind)  # pyspark or Java missing fails here, before any work
    uri = tracking.connect(config.tracking)  # a store that is down fails here, before any work
    out = OutputDir(output or default_output(config_path, input_path))
    out.lock()
    try:
        cache = engine.stage_cache(out)
        with cache, sigterm_as_interrupt(), _arrow_system_memory():
            worker = Worker(config, cache, models)
            total = count_items(input_path)
            documents = iter_documents(input_path, config)
            first = next(documents, None)  # an empty or unreadable corpus fails before the run starts
            if first is None:
                raise InputError(f"no articles in {input_path}")
            experiment = tracking.experiment_id(config.experiment, config.tracking)
            state = out.read_state()
            _close_dead_run(state, uri)
            source = str(input_path.resolve())
            replaced = Replaced()
            if out.has_results() and (state.get("run_hash"), state.get("input")) != (worker.run_hash, source):
                other_input = state.get("input") not in (None, source)
                replaced = Replaced(set(out.done_keys()), ["input"] if other_input else
                                    changed_parts(state.get("config"), worker.relevant) or ["unknown"])
                out.set_aside("another corpus" if other_input else "another config")
            name = config.run_name or default_run_name(config_path, input_path, overrides)
            tags = {"input": str(input_path), "output": str(out.root), "corpus": "true"}
            if state.get("mlflow_run_id"):
                tags["resumes"] = state["mlflow_run_id"]
            run = engine(config, worker, out, progress, total, batch_size, replaced, input_path)
            run.open()
            try:
                result = _tracked(run, documents=itertools.chain([first], documents), name=name,
                                  experiment=experiment, tags=tags, uri=uri, source=source, models=models,
                                  overrides=overrides)
            finally:
                run.close()
            return result
    finally:
        out.unlock()


def job_class(kind: str) -> type[CorpusJob]:
    """The engine's job class; the Spark engine checks here that pyspark and Java are there."""
    if kind == "spark":
        from pipeline.corpus.spark import SparkJob, check_spark

        check_spark()
        return SparkJob
    from pipeline.corpus.local import LocalJob

    return LocalJob


def _tracked(run: CorpusJob, documents: Iterator[RawDoc | InputError], name: str, experiment: str,
             tags: dict[str, str], uri: str, source: str, models: dict[str, str] | None,
             overrides: list[str] | None) -> CorpusResult:
    """The job inside one MLflow parent run: params, keys, lineage, then the engine's loop."""
    from pipeline import lineage, tracking

    config, worker, out, replaced, input_path = run.config, run.worker, run.out, run.replaced, run.input_path
    with tracking.run(name, experiment, tags=tags) as parent:
        result = CorpusResult(parent.info.run_id, experiment, uri, name, out.root)
        out.write_state({"run_hash": worker.run_hash, "input": source, "config": worker.relevant,
                         "mlflow_run_id": parent.info.run_id, "tracking_uri": uri,
                         "started": dt.datetime.now().isoformat(timespec="seconds")})
        tracking.log_config(config)
        tracking.log_params({"corpus.batch_size": run.batch_size, "key.run": worker.run_hash}
                            | run.params()
                            | {f"key.{stage}": k.digest for stage, k in worker.keys.items()})
        keys = {"keys": worker.relevant, "recomputed_because": replaced.because}
        tracking.log_text(json.dumps(keys, indent=2, default=str) + "\n", "keys.json")
        if replaced.because:
            tracking.set_tags({"recomputed_because": ", ".join(replaced.because)[:5000]})
        lineage.log_code_version()
        lineage.log_corpus_input(input_path)
        used = lineage.log_model_inputs(models) if models else {}
        if models:
            tracking.set_tags({f"model.{role}": m for role, m in models.items()})
        lineage.describe_run(input_path, used, overrides)
        run.execute(documents, result)
    return result


@dataclass
class Replaced:
    """Results set aside because a stage key changed: the ids they covered, and which key parts
    changed (dotted names from `pipeline.keys.changed_parts`, e.g. ``tone.model``)."""

    ids: set[str] = field(default_factory=set)
    because: list[str] = field(default_factory=list)


def _close_dead_run(state: dict, uri: str) -> None:
    """A run left RUNNING by a process killed with ``kill -9`` (we hold the lock: it is dead) -> KILLED."""
    run_id = state.get("mlflow_run_id")
    if not run_id or state.get("tracking_uri") != uri:
        return
    with contextlib.suppress(Exception):
        import mlflow

        client = mlflow.MlflowClient()
        if client.get_run(run_id).info.status == "RUNNING":
            client.set_tag(run_id, "error", "the process ended without closing the run (found by the next "
                                            "run over the same output folder)")
            client.set_terminated(run_id, "KILLED")


class CorpusJob:
    """One pass over a corpus by one engine, and what is logged at its end (also when it fails).

    An engine subclasses it and implements `_loop`, which fills the counters below; the rest (errors
    table, summary, metrics, sections artifact, stale rows) is the same for every engine.
    """

    engine = "?"

    def __init__(self, config: RunConfig, worker: Worker, out: OutputDir, progress: Progress | None,
                 total: int, batch_size: int, replaced: Replaced | None = None,
                 input_path: Path | None = None) -> None:
        self.config = config
        self.worker = worker
        self.out = out
        self.progress = progress
        self.total = total
        self.batch_size = batch_size
        self.input_path = input_path
        self.errors: list[dict] = []
        self.current: dict[str, str] = {}  # id -> key of every article read in this run
        self.errored_ids: set[str] = set()
        self.done_keys: dict[str, set[str]] = {}
        self.seen = 0
        self.start = time.perf_counter()
        self._last_metrics = 0.0
        self.first_scores_s: float | None = None  # seconds from process start to the first scores written
        self.replaced = replaced or Replaced()
        self.recomputed = {"keys": 0, "content": 0}  # articles redone: a stage key / their content changed

    @staticmethod
    def stage_cache(out: OutputDir) -> StageCache:
        """The stage cache the driver's worker uses (the local engine's: DIR/.cache/stages.sqlite)."""
        return StageCache(out.root / CACHE / "stages.sqlite")

    def open(self) -> None:
        """Start what the engine needs, before the MLflow run starts (a Spark session)."""

    def close(self) -> None:
        """Stop what `open` started."""

    def params(self) -> dict[str, Any]:
        """The engine's params for the parent run."""
        return {"engine": self.engine}

    def execute(self, documents: Iterator[RawDoc | InputError], result: CorpusResult) -> None:
        status, error = "finished", None
        self.result = result
        self.start = time.perf_counter()
        try:
            self._loop(documents)
            if result.done == 0 and result.skipped == 0:
                status = "failed"
                error = (f"every article failed ({result.failed}): {self.errors[0]['error']} "
                         f"(all errors in {self.out.root / 'errors.parquet'})")
        except KeyboardInterrupt as exc:
            status, error = "interrupted", str(exc) or "interrupted (KeyboardInterrupt)"
            with contextlib.suppress(Exception):
                self._finish(status, error)
            raise
        except BaseException as exc:
            status, error = "failed", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            with contextlib.suppress(Exception):
                self._finish(status, error)
            raise
        self._finish(status, error)
        if status == "failed":
            raise InputError(error)

    def _loop(self, documents: Iterator[RawDoc | InputError]) -> None:
        raise NotImplementedError

    def _metrics(self) -> dict[str, float]:
        r = self.result
        r.seconds = time.perf_counter() - self.start
        r.peak_rss_mb = peak_rss_mb()
        r.failed = len(self.errors)
        r.cache = self.worker.cache.metrics()
        first = {} if self.first_scores_s is None else {"seconds_to_first_scores": self.first_scores_s}
        return {"n_articles": self.seen, "n_done": r.done, "n_skipped": r.skipped, "n_failed": r.failed,
                "n_sections": r.sections, "segment.n_sections": r.sections, "seconds": r.seconds,
                "articles_per_s": r.articles_per_s, "sections_per_s": r.sections_per_s,
                "peak_rss_mb": r.peak_rss_mb} | r.cache | first | self._recomputed() | self._engine_metrics()

    def _engine_metrics(self) -> dict[str, float]:
        return {}

    def _recomputed(self) -> dict[str, float]:
        """``n_recomputed``: articles done again that had results under another key or content; and
        why: ``recomputed.<key part>`` (e.g. ``recomputed.tone.model``) and ``recomputed.content``."""
        by_keys, by_content = self.recomputed["keys"], self.recomputed["content"]
        self.result.recomputed, self.result.recomputed_because = by_keys + by_content, self.replaced.because
        out = {"n_recomputed": float(by_keys + by_content), "recomputed.content": float(by_content)}
        return out | {f"recomputed.{part}": float(by_keys) for part in self.replaced.because}

    def _log_metrics(self, step: int | None = None) -> None:
        from pipeline import tracking

        tracking.log_metrics(self._metrics(), step=step)
        self._last_metrics = time.perf_counter()

    def _finish(self, status: str, error: str | None) -> None:
        """Errors table and summary into DIR; metrics, errors, summary and sections into MLflow."""
        import pandas as pd

        from pipeline import tracking

        if status == "finished":
            self._purge_stale()
        self.out.write_errors(self.errors)
        metrics = self._metrics()
        r = self.result
        r.errors = self.errors
        r.parts = len(self.out.part_files())
        summary = {"status": status, "error": error, "input": self._input(), "output": str(self.out.root),
                   "done": r.done, "skipped": r.skipped, "failed": r.failed, "sections": r.sections,
                   "seconds": round(r.seconds, 3), "articles_per_s": round(r.articles_per_s, 3),
                   "peak_rss_mb": round(r.peak_rss_mb, 1), "parts": r.parts, "cache": r.cache,
                   "recomputed": metrics["n_recomputed"], "recomputed_because": self.replaced.because,
                   "mlflow_run_id": r.run_id}
        self.out.write_summary(summary)
        tracking.log_metrics(metrics, step=self.seen)
        tracking.log_text(json.dumps(summary, indent=2) + "\n", "summary.json")
        tracking.log_dataframe(pd.DataFrame(self.errors, columns=["id", "stage", "error"]), "errors")
        self._log_sections()
        self._log_table()

    def _log_table(self) -> None:
        """A stable sample of the sections (``tracking.table_rows``) for the UI's table views."""
        from pipeline import lineage

        limit = self.config.tracking.table_rows
        if limit <= 0 or not self.out.part_files():
            return
        sample = self.out.sample(limit).rename(columns={"id": "article_id"})
        lineage.log_section_table(sample, limit)

    def _input(self) -> str:
        return str(self.out.read_state().get("input", ""))

    def _purge_stale(self) -> None:
        """After a complete pass: drop rows of articles whose content changed or that left the corpus."""
        current, errored = self.current, self.errored_ids

        def keep(doc_id: str, key: str) -> bool:
            if doc_id in current:
                return current[doc_id] == key
            return doc_id in errored  # unreadable this time: keep what it had

        stale = any(k != current.get(i, k) or (i not in current and i not in errored)
                    for i, keys in self.done_keys.items() for k in keys)
        if stale:
            self.out.purge(keep)

    def _log_sections(self) -> None:
        from pipeline import tracking

        size = self.out.parts_bytes()
        if size == 0:
            return
        if size > LOG_SECTIONS_MAX_BYTES:
            tracking.log_text(f"{len(self.out.part_files())} part files, {size:,} bytes, in "
                              f"{self.out.sections.resolve()}\n", "sections.txt")
            return
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sections.parquet"
            self.out.concatenate(path, self.worker.schema())
            tracking.log_file(path, "sections.parquet")


def show_errors(errors: list[dict], limit: int = MAX_SHOWN_ERRORS) -> list[str]:
    """A few error rows as lines for the terminal."""
    return [f"{e['id'] or '?'} ({e['stage']}): {e['error']}" for e in errors[:limit]]
