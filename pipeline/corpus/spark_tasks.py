"""What the Spark engine runs on its executors: Arrow batches in, the shared per-batch work, Arrow out.

Two functions for ``DataFrame.mapInArrow``, both plain picklable objects:

- `ReadRows`: rows of a Parquet corpus -> documents, through the reader the local engine uses
  (`pipeline.ingest._row_doc`: ids, size limit, empty text), as `DOC_SCHEMA` records;
- `ProcessDocs`: documents -> section rows, error rows and one row per article (its key and what
  was done with it), through the driver's `pipeline.corpus.work.Worker` (ingest, segment, score).

Models are loaded once per executor Python worker: `Worker` loads through
`pipeline.score.models.load_resolved`, which keeps each resolved model for the life of the process,
and Spark reuses its Python workers across tasks and jobs (``spark.python.worker.reuse``, on by default).
Nothing here starts an MLflow run: executors only read models from the tracking store.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from pipeline.corpus.work import Worker, duplicate_error, error_row, triage
from pipeline.errors import InputError
from pipeline.ingest import RawDoc

DOC_SCHEMA = pa.schema([("_number", pa.int64()), ("id", pa.string()), ("text", pa.string()),
                        ("format", pa.string()), ("source", pa.string()), ("_error", pa.string())])
"""One document of the corpus in reading order (``_number`` from 1), or the error that reading it gave."""

META_FIELDS = [("_kind", pa.string()), ("_number", pa.int64()), ("_status", pa.string()),
               ("_done", pa.bool_()), ("_sections", pa.int64()), ("_stage", pa.string()),
               ("_error", pa.string()), ("_pid", pa.int64()), ("_loads", pa.int64())]
"""``_kind``: ``section`` (a row of DIR/sections), ``error`` (a row of errors.parquet), ``doc`` (one per
article read: its `key`, ``_status`` from `triage`, ``_done``, ``_sections``) or ``worker`` (``_pid`` and
the models it has loaded, ``_loads``)."""


def doc_record(number: int, item: RawDoc | InputError) -> dict[str, Any]:
    """A document (or its read error) as a `DOC_SCHEMA` record."""
    if isinstance(item, InputError):
        doc_id = getattr(item, "doc_id", None)
        return {"_number": number, "id": doc_id, "_error": error_row(doc_id, "read", item)["error"]}
    return {"_number": number, "id": item.id, "text": item.text, "format": item.format, "source": item.source}


def output_schema(worker: Worker) -> pa.Schema:
    """The rows `ProcessDocs` yields: the meta fields, then exactly the sections table's columns."""
    return pa.schema([pa.field(n, t) for n, t in META_FIELDS] + list(worker.schema()))


@dataclass
class ReadRows:
    """Parquet corpus rows (with ``_number``, their row number from 1) -> `DOC_SCHEMA` batches."""

    path: str
    max_bytes: int

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pipeline.ingest import _row_doc  # the local reader's own row check

        for batch in batches:
            records = []
            for row in batch.to_pylist():
                number = row.pop("_number")
                doc_id = str(row["id"]) if row.get("id") is not None else f"row-{number}"
                records.append(doc_record(number, _row_doc(row, doc_id, f"{self.path}:row {number}",
                                                            self.max_bytes)))
            yield pa.RecordBatch.from_pylist(records, schema=DOC_SCHEMA)


_SETUP: dict[str, Any] = {}


def setup_worker(tracking_uri: str, threads: int) -> None:
    """Once per Python worker: the tracking store models are read from, torch threads, quiet logs."""
    if _SETUP.get("uri") == tracking_uri:
        return
    import logging
    import warnings

    import mlflow

    warnings.filterwarnings("ignore")
    for name in ("mlflow", "alembic", "transformers", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)
    mlflow.set_tracking_uri(tracking_uri)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    _SETUP["uri"] = tracking_uri


def models_loaded() -> int:
    """How many classifiers this Python worker has loaded (each once)."""
    from pipeline.score import models

    return len(models._LOADED)


@dataclass
class ProcessDocs:
    """`DOC_SCHEMA` batches -> `output_schema` batches, the local engine's batches of ``batch_size``."""

    worker: Worker
    tracking_uri: str
    batch_size: int
    threads: int = 1
    first_of: dict[str, int] = field(default_factory=dict)
    """For each id read more than once (without a read error): the ``_number`` of the one kept."""
    done_keys: Any = None
    """A Spark broadcast of {id: {keys}}: the articles committed before this run."""
    replaced_ids: Any = None
    """A Spark broadcast of the ids whose rows were set aside (another config)."""
    reader: ReadRows | None = None
    """For a Parquet corpus: its rows become documents here, in the same Python worker (one worker a
    task, so each loads the models once)."""

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Rows sorted by ``_number``; each run of rows with the same ``(_number - 1) // batch_size`` is
        one batch, exactly the batch the local engine forms (so the models see the same inputs)."""
        setup_worker(self.tracking_uri, self.threads)
        self._done = self.done_keys.value if self.done_keys is not None else {}
        self._replaced = self.replaced_ids.value if self.replaced_ids is not None else set()
        schema = output_schema(self.worker)
        group: list[dict] = []
        if self.reader is not None:
            batches = self.reader(batches)
        for batch in batches:
            for record in batch.to_pylist():
                if group and self._index(group[0]) != self._index(record):
                    yield pa.RecordBatch.from_pylist(self._batch(group), schema=schema)
                    group = []
                group.append(record)
        if group:
            yield pa.RecordBatch.from_pylist(self._batch(group), schema=schema)
        worker = {"_kind": "worker", "_pid": os.getpid(), "_loads": models_loaded()}
        yield pa.RecordBatch.from_pylist([worker], schema=schema)

    def _index(self, record: dict) -> int:
        return (record["_number"] - 1) // self.batch_size

    def _batch(self, records: list[dict]) -> list[dict]:
        """One batch through the shared work, as section, error and doc rows (mirrors `LocalJob._loop`)."""
        out: list[dict] = []
        todo: list[tuple[RawDoc, str]] = []
        docs: dict[str, dict] = {}
        numbers: dict[str, int] = {}
        for rec in records:
            number = rec["_number"]
            if rec["_error"] is not None:
                out.append({"_kind": "error", "_number": number, "id": rec["id"], "_stage": "read",
                            "_error": rec["_error"]})
                continue
            doc = RawDoc(rec["id"], rec["text"], rec["format"], rec["source"])
            if self.first_of.get(doc.id, number) != number:
                err = duplicate_error(doc)
                out.append({"_kind": "error", "_number": number, "id": doc.id, "_stage": "read",
                            "_error": err["error"]})
                continue
            key = self.worker.article_key(doc)
            status = triage(doc.id, key, self._done, self._replaced)
            docs[doc.id] = {"_kind": "doc", "_number": number, "id": doc.id, "key": key, "_status": status,
                            "_done": False, "_sections": 0}
            numbers[doc.id] = number
            if status != "skip":
                todo.append((doc, key))
        done, errors, rows = self.worker.process(todo)
        for item in done:
            docs[item.doc.id]["_done"] = True
        for row in rows:
            docs[row["id"]]["_sections"] += 1
            out.append(row | {"_kind": "section", "_number": numbers[row["id"]]})
        for err in errors:
            out.append({"_kind": "error", "_number": numbers.get(err["id"]), "id": err["id"],
                        "_stage": err["stage"], "_error": err["error"]})
        return out + list(docs.values())
