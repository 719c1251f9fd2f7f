"""The Spark engine: the same per-batch work, run by Spark's executors, committed by Spark's committer.

What runs where:

- **driver** (this module): the session (an existing one is used as it is), reading a Parquet corpus
  with Spark (or, for a folder or JSONL corpus, reading it with the local reader into a Parquet file
  under DIR/.cache first), finding duplicate ids, and one Spark job per ``engine.articles_per_job``
  articles; after each job, the error and per-article rows it returns update the counts, errors.parquet
  and the MLflow metrics, as the local engine does after each batch;
- **executors** (`pipeline.corpus.spark_tasks`, through ``mapInArrow``): reading rows, ingest, segment
  and score, by the driver's `Worker` (the same code as the local engine), models loaded once per
  Python worker.

Each job appends its section rows to DIR/sections with Spark's file output committer: task output is
written under ``sections/_temporary`` and moved into place when the job commits, so a failed or killed
job leaves no part file visible (the next run over DIR removes ``_temporary``). A rerun skips every
article whose key is in a committed part and redoes the rest: no duplicate and no missing rows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.corpus.cache import NullCache, StageCache
from pipeline.corpus.job import CorpusJob
from pipeline.corpus.spark_tasks import DOC_SCHEMA, ProcessDocs, ReadRows, doc_record, output_schema
from pipeline.corpus.store import CACHE, OutputDir
from pipeline.errors import EngineError, InputError
from pipeline.ingest import RawDoc

log = logging.getLogger("pipeline.corpus.spark")
INSTALL_PYSPARK = 'pip install -e ".[spark]"'
INSTALL_JAVA = "apt-get install -y openjdk-17-jre-headless"
JAVA_MAJOR = 17
STAGED = "spark-input.parquet"
#: Settings of a session the run starts itself (``engine.conf`` overrides any of them).
DEFAULT_CONF = {
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.python.worker.reuse": "true",
}


def check_spark() -> None:
    """Fail with one line, before any work, where pyspark or Java 17 is missing."""
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(f"engine spark needs pyspark: install it with {INSTALL_PYSPARK} "
                          "(or pip install pyspark)") from None
    if SparkSession.getActiveSession() is not None:
        return  # a running session has its Java already
    major = java_major()
    if major is None:
        raise EngineError(f"engine spark needs Java {JAVA_MAJOR}, and no java was found (JAVA_HOME or "
                          f"PATH): install it with {INSTALL_JAVA}")
    if major < JAVA_MAJOR:
        raise EngineError(f"engine spark needs Java {JAVA_MAJOR} or newer, found Java {major}: install it "
                          f"with {INSTALL_JAVA} (and point JAVA_HOME at it)")


def java_major() -> int | None:
    """The major version of the java that Spark would start (JAVA_HOME first, else PATH); None if none."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


class SparkJob(CorpusJob):
    """The corpus through Spark: one job per ``engine.articles_per_job`` articles (see the module doc)."""

    engine = "spark"

    @staticmethod
    def stage_cache(out: OutputDir) -> StageCache:
        return NullCache()  # executors share no disk; a rerun skips finished articles by their key

    def open(self) -> None:
        """Use the session that exists, or start one on ``engine.master`` with ``engine.conf``."""
        import warnings

        from pyspark.sql import SparkSession

        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
        engine = self.config.engine
        active = SparkSession.getActiveSession()
        self.owned = active is None
        if active is None:
            builder = SparkSession.builder.master(engine.master).appName("pipeline-corpus")
            conf = dict(DEFAULT_CONF)
            if engine.master.startswith("local"):  # the workers run this interpreter (and its packages)
                conf["spark.pyspark.python"] = sys.executable
                conf["spark.pyspark.driver.python"] = sys.executable
            conf |= {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in engine.conf.items()}
            for key, value in conf.items():
                builder = builder.config(key, value)
            try:
                active = builder.getOrCreate()
            except Exception as exc:
                raise EngineError(f"cannot start Spark on {engine.master}: {str(exc).splitlines()[0][:300]}"
                                  ) from None
            active.sparkContext.setLogLevel("ERROR")
        self.spark = active
        self.partitions = engine.partitions or active.sparkContext.defaultParallelism
        self.jobs = 0
        self.workers: dict[int, int] = {}
        self.phases: dict[str, float] = {}
        self._keys: list[int] | None = None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            shutil.rmtree(self.out.root / CACHE / STAGED)
        if getattr(self, "owned", False):
            stop_session(self.spark)

    def params(self) -> dict[str, Any]:
        sc = self.spark.sparkContext
        return {"engine": "spark", "spark.master": sc.master, "spark.version": self.spark.version,
                "spark.partitions": self.partitions, "spark.executors": executors(self.spark),
                "spark.articles_per_job": self.config.engine.articles_per_job,
                "spark.session": "started" if self.owned else "existing"}

    def _engine_metrics(self) -> dict[str, float]:
        return {"spark.jobs": float(self.jobs), "spark.python_workers": float(len(self.workers)),
                "spark.model_loads": float(sum(self.workers.values()))} \
            | {f"spark.seconds.{name}": value for name, value in self.phases.items()}

    # --- the loop -------------------------------------------------------------------------------

    def _loop(self, documents: Iterator[RawDoc | InputError]) -> None:
        try:
            self._run(documents)
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):
                self.spark.sparkContext.cancelAllJobs()
            raise
        except Exception as exc:
            if type(exc).__module__.startswith(("pyspark", "py4j")):
                raise EngineError(f"a Spark job failed: {task_error(exc)}") from None
            raise

    def _run(self, documents: Iterator[RawDoc | InputError]) -> None:
        from pyspark.sql import functions as F

        self.done_keys = self.out.done_keys()
        raw, count, reader = self._corpus(documents)
        self.total = count
        sc = self.spark.sparkContext
        first_of = self._duplicates(raw, reader)
        self.phases["read_and_duplicates"] = time.perf_counter() - self.start
        task = ProcessDocs(self.worker, self._tracking_uri(), self.batch_size,
                           threads=int(self.spark.conf.get("spark.task.cpus", "1")),
                           first_of=first_of,
                           done_keys=sc.broadcast(self.done_keys),
                           replaced_ids=sc.broadcast(self.replaced.ids), reader=reader)
        batches_per_job = -(-self.config.engine.articles_per_job // self.batch_size)  # rounded up
        per_job = batches_per_job * self.batch_size
        for low in range(1, count + 1, per_job):
            wave = raw.filter((F.col("_number") >= low) & (F.col("_number") < low + per_job))
            self._job(self._by_batch(wave), task)

    def _by_batch(self, docs: Any) -> Any:
        """Whole local batches (``batch_size`` articles in reading order) dealt out over the partitions in
        turn, each partition sorted by ``_number``: every executor batch is one the local engine makes."""
        from pyspark.sql import functions as F

        batch = F.floor((F.col("_number") - 1) / self.batch_size).cast("long")
        keys = F.array(*[F.lit(k) for k in self._partition_keys()])
        slot = F.element_at(keys, (F.pmod(batch, F.lit(self.partitions)) + 1).cast("int"))
        return (docs.withColumn("_part", slot).repartition(self.partitions, "_part")
                .sortWithinPartitions("_number").drop("_part"))

    def _partition_keys(self) -> list[int]:
        """For each partition p, a long that Spark's hash partitioning sends to p (pmod(hash(k), n) == p)."""
        if self._keys is None:
            from pyspark.sql import functions as F

            n = self.partitions
            rows = self.spark.range(0, 256 * n).select(
                "id", F.pmod(F.hash("id"), F.lit(n)).alias("p")).collect()
            first: dict[int, int] = {}
            for row in rows:
                first.setdefault(row["p"], row["id"])
            self._keys = [first.get(p, p) for p in range(n)]
        return self._keys

    def _corpus(self, documents: Iterator[RawDoc | InputError]) -> tuple[Any, int, ReadRows | None]:
        """The corpus as a DataFrame with ``_number``, its size, and the reader its rows need (if any).

        A Parquet file is read by Spark (each row's ``_number`` is its position in the file), and rows
        become documents on the executors; a folder or JSONL corpus is read here by the local reader
        into DIR/.cache/spark-input.parquet, one document a row."""
        from pyspark.sql import functions as F


        path = Path(self.input_path)
        if path.is_file() and path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            names = set(pq.ParquetFile(path).schema_arrow.names)
            columns = [F.col(c) for c in ("id", "text", "html", "format") if c in names]
            if "id" not in names:  # every row gets the id row-N, as locally
                columns.append(F.lit(None).cast("string").alias("id"))
            raw = self.spark.read.parquet(str(path.resolve())).select(
                *columns, (F.col("_metadata.row_index") + 1).alias("_number"))
            reader = ReadRows(str(self.input_path), self.config.ingest.max_bytes)
            return raw, pq.ParquetFile(path).metadata.num_rows, reader
        staged, count = self._stage(documents)
        return self.spark.read.parquet(str(staged.resolve())), count, None

    def _stage(self, documents: Iterator[RawDoc | InputError]) -> tuple[Path, int]:
        """Write the documents, read in order by the local reader, as a Parquet file for Spark."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        target = self.out.root / CACHE / STAGED
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        count = 0
        with pq.ParquetWriter(target / "part-0.parquet", DOC_SCHEMA) as writer:
            chunk: list[dict] = []
            for count, item in enumerate(documents, start=1):
                chunk.append(doc_record(count, item))
                if len(chunk) == 1000:
                    writer.write_table(pa.Table.from_pylist(chunk, schema=DOC_SCHEMA))
                    chunk = []
            if chunk:
                writer.write_table(pa.Table.from_pylist(chunk, schema=DOC_SCHEMA))
        return target, count

    def _duplicates(self, raw: Any, reader: ReadRows | None) -> dict[str, int]:
        """For each id read more than once: the ``_number`` of the first one read without an error (the
        one kept, as locally). Ids are counted by Spark alone; only the rows of repeated ids are read."""
        from pyspark.sql import functions as F

        number = F.col("_number").cast("string")
        doc_id = F.coalesce(F.col("id").cast("string"), F.concat(F.lit("row-"), number))
        repeated = [r["key"] for r in raw.groupBy(doc_id.alias("key")).count().filter(F.col("count") > 1)
                    .select("key").collect()]
        if not repeated:
            return {}
        docs = raw.filter(doc_id.isin(repeated))
        if reader is not None:
            docs = docs.mapInArrow(reader, _spark_schema(DOC_SCHEMA))
        rows = docs.filter(F.col("_error").isNull())
        rows = rows.select("id", "_number")
        first: dict[str, int] = {}
        for row in rows.collect():
            first[row["id"]] = min(first.get(row["id"], row["_number"]), row["_number"])
        return first

    def _job(self, docs: Any, task: ProcessDocs) -> None:
        """One Spark job: process, commit the sections, then take in the error and article rows."""
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        started = time.perf_counter()
        schema = output_schema(self.worker)
        section_columns = [F.col(f"`{name}`") for name in self.worker.schema().names]
        processed = docs.mapInArrow(task, _spark_schema(schema)).persist(StorageLevel.DISK_ONLY)
        try:
            (processed.filter(F.col("_kind") == "section").select(*section_columns).write.mode("append")
             .option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
             .parquet(str(self.out.sections.resolve())))
            meta = (processed.filter(F.col("_kind") != "section")
                    .select("_kind", "_number", "id", "key", "_status", "_done", "_sections", "_stage",
                            "_error", "_pid", "_loads").collect())
        finally:
            processed.unpersist()
        self.jobs += 1
        seconds = time.perf_counter() - started
        self.phases["first_job" if self.jobs == 1 else "last_job"] = seconds
        log.info("spark job %d: %d rows back in %.1f s", self.jobs, len(meta), seconds)
        self._take(meta)

    def _take(self, meta: list[Any]) -> None:
        """Counts, errors and the ids read, from one job's rows (in reading order, as locally)."""
        result = self.result
        numbers: set[int] = set()
        errors = []
        for row in meta:
            if row["_kind"] == "worker":
                self.workers[row["_pid"]] = max(self.workers.get(row["_pid"], 0), row["_loads"])
                continue
            numbers.add(row["_number"])
            if row["_kind"] == "error":
                errors.append((row["_number"],
                               {"id": row["id"], "stage": row["_stage"], "error": row["_error"]}))
                if row["_stage"] == "read" and row["id"] is not None:
                    self.errored_ids.add(row["id"])
                continue
            self.current[row["id"]] = row["key"]
            if row["_status"] == "skip":
                result.skipped += 1
            elif row["_status"] in self.recomputed:
                self.recomputed[row["_status"]] += 1
            if row["_done"]:
                result.done += 1
                result.sections += row["_sections"]
                self.errored_ids.discard(row["id"])
        self.errors += [e for _, e in sorted(errors, key=lambda pair: pair[0] or 0)]
        self.seen += len(numbers)
        result.failed = len(self.errors)
        if errors:
            self.out.write_errors(self.errors)
        if self.progress:
            self.progress("articles", self.seen, max(self.total, self.seen))
        self._log_metrics(step=self.seen)

    def _tracking_uri(self) -> str:
        import mlflow

        return mlflow.get_tracking_uri()


def stop_session(spark: Any) -> None:
    """Stop a session and the JVM behind it (PySpark keeps its gateway JVM for the life of the Python
    process otherwise); a later session starts a new one."""
    from pyspark import SparkContext

    spark.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    proc = getattr(gateway, "proc", None)
    with contextlib.suppress(Exception):
        gateway.shutdown()
    if proc is not None:  # the JVM exits when its stdin closes
        with contextlib.suppress(Exception):
            proc.stdin.close()
            proc.wait(timeout=60)
    SparkContext._gateway = None
    SparkContext._jvm = None


def task_error(exc: BaseException) -> str:
    """The Python error a failed Spark task raised (its last ``Name: message`` line), else the first line."""
    text = str(exc)
    found = re.findall(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.+)$", text, flags=re.MULTILINE)
    if found:
        name, message = found[-1]
        return f"{name}: {message.strip()}"[:500]
    return (text.strip().splitlines() or [type(exc).__name__])[0][:500]


def executors(spark: Any) -> int:
    """Executors of the session (local mode: the driver is the one executor)."""
    try:
        n = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size()
    except Exception:
        return 0
    return max(1, n - 1) if n > 1 else 1


def _spark_schema(schema: Any) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)
