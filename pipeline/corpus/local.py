"""The local engine: one process reads the corpus in order and runs each batch through the shared work.

Each batch's section rows are committed as one part file (``part-NNNNNN.parquet``, written to a hidden
temp name and renamed), so memory stays flat and a killed run keeps every batch it committed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from pipeline import STARTED
from pipeline.corpus.job import METRICS_EVERY_S, CorpusJob, batched
from pipeline.corpus.work import duplicate_error, error_row, triage
from pipeline.errors import InputError
from pipeline.ingest import RawDoc


class LocalJob(CorpusJob):
    """The batch loop in this process, through the stage cache in DIR/.cache."""

    engine = "local"

    def _loop(self, documents: Iterator[RawDoc | InputError]) -> None:
        done_keys = self.out.done_keys()
        self.done_keys = done_keys
        result = self.result
        for batch in batched(documents, self.batch_size):
            todo: list[tuple[RawDoc, str]] = []
            before = len(self.errors)
            for item in batch:
                self.seen += 1
                if isinstance(item, InputError):
                    doc_id = getattr(item, "doc_id", None)
                    self.errors.append(error_row(doc_id, "read", item))
                    if doc_id is not None:
                        self.errored_ids.add(doc_id)
                    continue
                if item.id in self.current:
                    self.errors.append(duplicate_error(item))
                    continue
                key = self.worker.article_key(item)
                self.current[item.id] = key
                what = triage(item.id, key, done_keys, self.replaced.ids)
                if what == "skip":
                    result.skipped += 1
                    continue
                if what in self.recomputed:
                    self.recomputed[what] += 1
                todo.append((item, key))
            done, errors, rows = self.worker.process(todo)
            self.errors += errors
            self.worker.cache.commit()
            if rows:
                import pyarrow as pa

                self.out.write_part(pa.Table.from_pylist(rows, schema=self.worker.schema()))
            if rows and self.worker.scoring and self.first_scores_s is None:
                self.first_scores_s = time.perf_counter() - STARTED
            result.done += len(done)
            result.sections += len(rows)
            result.failed = len(self.errors)
            for item in done:
                self.errored_ids.discard(item.doc.id)
            if len(self.errors) != before:
                self.out.write_errors(self.errors)
            if self.progress:
                self.progress("articles", self.seen, max(self.total, self.seen))
            if time.perf_counter() - self._last_metrics >= METRICS_EVERY_S:
                self._log_metrics(step=self.seen)
