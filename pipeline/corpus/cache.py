"""Stage cache: finished stage outputs keyed by a content hash and a config hash, in one SQLite file.

A stage's output is looked up under ``(stage, config_hash, content_key)``:

- ``segment``: the ingest + segment output of one document, keyed by a hash of its format and text,
  under the segment stage key (`pipeline.keys.segment_key`: config, code, libraries, precision, encoder);
- ``tone`` / ``stance``: the scores of one section, keyed by a hash of the section's text, under the
  score stage key (`pipeline.keys.score_key`: the resolved model, the scoring settings and, for
  stance, the targets, code, libraries, precision).

So changing only the stance targets recomputes stance and nothing else. Values are JSON, compressed.
SQLite commits atomically, so a process killed with ``kill -9`` leaves the cache usable (it loses at
most the entries of the batch it was working on). Hits and misses are counted for the run's metrics.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.keys import code_digest, config_digest, digest

__all__ = ["NullCache", "StageCache", "code_digest", "config_digest", "digest"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS stage_cache (
    stage TEXT NOT NULL,
    config TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (stage, config, key)
) WITHOUT ROWID
"""


class StageCache:
    """A key-value cache per stage and config hash, in a SQLite file (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(SCHEMA)
        self._pending: list[tuple[str, str, str, bytes]] = []
        self.stats: Counter[str] = Counter()

    def get_many(self, stage: str, config: str, keys: Iterable[str]) -> dict[str, Any]:
        """The cached values of ``keys`` that are present; counts hits and misses."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, value FROM stage_cache WHERE stage = ? AND config = ? AND key IN ({marks})",
                [stage, config, *chunk],
            )
            for key, value in rows:
                found[key] = json.loads(zlib.decompress(value))
        self.stats[f"{stage}.hits"] += len(found)
        self.stats[f"{stage}.misses"] += len(wanted) - len(found)
        return found

    def get(self, stage: str, config: str, key: str) -> Any | None:
        return self.get_many(stage, config, [key]).get(key)

    def put(self, stage: str, config: str, key: str, value: Any) -> None:
        """Buffer a value; it is written by the next `commit`."""
        blob = zlib.compress(json.dumps(value, ensure_ascii=False).encode("utf-8"), 3)
        self._pending.append((stage, config, key, blob))

    def commit(self) -> None:
        """Write the buffered values in one transaction."""
        if not self._pending:
            return
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO stage_cache (stage, config, key, value) VALUES (?, ?, ?, ?)",
                self._pending,
            )
        self._pending.clear()

    def metrics(self) -> dict[str, float]:
        """``cache.<stage>.hits`` / ``.misses`` counters, for MLflow."""
        return {f"cache.{name}": float(n) for name, n in sorted(self.stats.items())}

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self._db.close()

    def __enter__(self) -> StageCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NullCache(StageCache):
    """No stage cache: every lookup misses, nothing is kept (Spark executors, whose disks are not
    shared; a rerun there skips finished articles by their resume key instead)."""

    def __init__(self) -> None:  # no file
        self._pending = []
        self.stats = Counter()

    def get_many(self, stage: str, config: str, keys: Iterable[str]) -> dict[str, Any]:
        wanted = list(dict.fromkeys(keys))
        self.stats[f"{stage}.misses"] += len(wanted)
        return {}

    def put(self, stage: str, config: str, key: str, value: Any) -> None:
        pass

    def commit(self) -> None:
        pass

    def close(self) -> None:
        pass
