"""Corpus runs: a corpus in, one row per section out, resumable, in one MLflow parent run.

Shared by both engines:

- `work`: the per-batch work (ingest + segment, score, rows) that every engine calls;
- `store`: the output folder (DIR/sections/ parts, DIR/errors.parquet, summary, state, lock);
- `cache`: the stage cache (finished stage outputs by content and stage key);
- `job`: the job around an engine (lock, set-aside, MLflow parent run, errors, summary, metrics).

One module per engine: `local` (batches in this process) and `spark` (the same work through Spark's
``mapInArrow``, with `spark_tasks` the part that runs on the executors).
"""

from __future__ import annotations

from pipeline.corpus.job import CorpusResult, default_output, run_corpus, show_errors

__all__ = ["CorpusResult", "default_output", "run_corpus", "show_errors"]
