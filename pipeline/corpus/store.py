"""The output folder of a corpus run: committed Parquet parts, the error table, resume state.

Layout (other tools read it: keep it exactly)::

    DIR/sections/part-000000.parquet ...   one row per section, with the article's `id` and `key`
                                           (a Spark run's parts: part-00000-<uuid>-c000.snappy.parquet)
    DIR/errors.parquet                     id, stage, error: one row per article that failed
    DIR/summary.json                       counts and timings of the latest run
    DIR/.run.json  DIR/.lock  DIR/.cache/  DIR/.replaced/   state (hidden)

Every file is written to a hidden temporary name in its own folder, flushed with fsync and renamed
into place, so a reader (or a process killed with ``kill -9``) never sees a partial file. The set of
articles already done is read back from the committed parts themselves (their `key` column), so it is
exactly what is on disk: nothing is done twice and nothing is lost.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import InputError

log = logging.getLogger("pipeline.corpus")

SECTIONS = "sections"
ERRORS = "errors.parquet"
SUMMARY = "summary.json"
STATE = ".run.json"
LOCK = ".lock"
CACHE = ".cache"
REPLACED = ".replaced"
ERROR_COLUMNS = ["id", "stage", "error"]
_PART = re.compile(r"^part-(\d{5,})(-[0-9A-Za-z.-]+)?\.parquet$")
"""A committed part: ``part-000000.parquet`` (local engine) or ``part-00000-<uuid>-c000.snappy.parquet``
(Spark's committer). Names starting with ``.`` or ``_`` (temp files, Spark's ``_temporary``) are not."""
SPARK_TEMPORARY = "_temporary"


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a hidden temp file beside ``path``, fsync it, and rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def read_part(path: Path, columns: list[str] | None = None) -> Any:
    """One part file as a pyarrow table (single-threaded: parts are small, and memory stays flat)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read(columns=columns, use_threads=False)


def write_table(table: Any, path: Path) -> None:
    """Write a pyarrow table as Parquet atomically."""
    import pyarrow.parquet as pq

    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


class OutputDir:
    """One corpus run's output folder, locked for the life of the run."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"output is not a folder: {self.root} (give --output a folder path)")
        self.sections = self.root / SECTIONS
        self.sections.mkdir(parents=True, exist_ok=True)
        self._lock_handle: Any = None
        self._next_part = 0

    # --- lock and state -------------------------------------------------------------------------

    def lock(self) -> None:
        """Hold an exclusive lock on DIR/.lock (released by the OS even after ``kill -9``)."""
        import fcntl

        handle = (self.root / LOCK).open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise InputError(
                f"output folder {self.root} is in use by another run: wait for it to end, or use --output"
            ) from None
        self._lock_handle = handle
        self._remove_temp_files()

    def unlock(self) -> None:
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    def _remove_temp_files(self) -> None:
        """Temp files of a killed run (never visible as results: hidden names ending in .tmp, and the
        uncommitted task output of a killed Spark job under ``sections/_temporary``)."""
        import shutil

        for folder in (self.root, self.sections):
            for tmp in folder.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    tmp.unlink()
        shutil.rmtree(self.sections / SPARK_TEMPORARY, ignore_errors=True)

    def read_state(self) -> dict:
        try:
            return json.loads((self.root / STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def write_state(self, state: dict) -> None:
        text = json.dumps(state, indent=2, ensure_ascii=False, default=str)
        atomic_write(self.root / STATE, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def write_summary(self, summary: dict) -> None:
        text = json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n"
        atomic_write(self.root / SUMMARY, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def has_results(self) -> bool:
        return any(self.part_files()) or (self.root / ERRORS).exists()

    def set_aside(self, reason: str) -> Path:
        """Move the results of another config or corpus to DIR/.replaced/<time>/ (never deleted)."""
        target = self.root / REPLACED / f"{dt.datetime.now():%Y%m%d-%H%M%S-%f}"
        target.mkdir(parents=True)
        for name in (SECTIONS, ERRORS, SUMMARY, STATE):
            if (self.root / name).exists():
                os.replace(self.root / name, target / name)
        fsync_dir(self.root)
        self.sections.mkdir()
        log.warning("%s: results of %s moved to %s", self.root, reason, target)
        return target

    # --- parts ----------------------------------------------------------------------------------

    def part_files(self) -> list[Path]:
        return sorted(p for p in self.sections.glob("part-*.parquet") if _PART.match(p.name))

    def done_keys(self) -> dict[str, set[str]]:
        """Article id -> the keys it has rows under, read from the committed parts."""
        done: dict[str, set[str]] = {}
        last = -1
        for part in self.part_files():
            match = _PART.match(part.name)
            if not match.group(2):  # a local part: number the next one after it
                last = max(last, int(match.group(1)))
            try:
                table = read_part(part, ["id", "key"])
            except Exception as exc:  # not written by us (parts are atomic): keep it out of the way
                bad = part.with_name(f".{part.name}.unreadable")
                os.replace(part, bad)
                log.warning("%s is not readable (%s): moved to %s", part, str(exc).splitlines()[0], bad)
                continue
            for doc_id, key in zip(table.column("id").to_pylist(), table.column("key").to_pylist(),
                                   strict=True):
                done.setdefault(doc_id, set()).add(key)
        self._next_part = last + 1
        return done

    def write_part(self, table: Any) -> Path:
        """Commit one batch's rows as the next part file."""
        path = self.sections / f"part-{self._next_part:06d}.parquet"
        while path.exists():  # never overwrite a committed part
            self._next_part += 1
            path = self.sections / f"part-{self._next_part:06d}.parquet"
        write_table(table, path)
        self._next_part += 1
        return path

    def write_errors(self, errors: list[dict]) -> None:
        import pyarrow as pa

        schema = pa.schema([(c, pa.string()) for c in ERROR_COLUMNS])
        rows = [{c: (None if e.get(c) is None else str(e[c])) for c in ERROR_COLUMNS} for e in errors]
        write_table(pa.Table.from_pylist(rows, schema=schema), self.root / ERRORS)

    def purge(self, keep: Callable[[str, str], bool]) -> int:
        """Rewrite (atomically) each part that holds rows for which ``keep(id, key)`` is false.

        Returns the number of rows removed. Used at the end of a complete run to drop the rows of
        articles whose content changed or that left the corpus.
        """
        import pyarrow as pa

        removed = 0
        for part in self.part_files():
            ids_keys = read_part(part, ["id", "key"])
            mask = [keep(i, k) for i, k in zip(ids_keys.column("id").to_pylist(),
                                                  ids_keys.column("key").to_pylist(), strict=True)]
            if all(mask):
                continue
            removed += mask.count(False)
            if not any(mask):
                part.unlink()
                with contextlib.suppress(OSError):
                    (part.parent / f".{part.name}.crc").unlink()
                fsync_dir(self.sections)
                continue
            table = read_part(part).filter(pa.array(mask))
            write_table(table, part)
            with contextlib.suppress(OSError):  # Hadoop's checksum of a Spark part no longer matches
                (part.parent / f".{part.name}.crc").unlink()
        return removed

    def iter_parts(self) -> Iterator[Any]:
        for part in self.part_files():
            yield read_part(part)

    def parts_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.part_files())

    def sample(self, limit: int) -> Any:
        """A stable sample of at most ``limit`` section rows: whole articles, lowest id hash first.

        Two passes, one part in memory at a time: the ids and their row counts, then the chosen rows.
        Two runs over the same corpus pick the same articles, so their tables line up side by side.
        """
        import hashlib

        import pandas as pd
        import pyarrow.parquet as pq

        counts: dict[str, int] = {}
        for part in self.part_files():
            for doc_id in pq.read_table(part, columns=["id"]).column("id").to_pylist():
                counts[doc_id] = counts.get(doc_id, 0) + 1
        chosen: set[str] = set()
        total = 0
        for doc_id in sorted(counts, key=lambda i: hashlib.sha256(str(i).encode()).hexdigest()):
            if total + counts[doc_id] > limit and chosen:
                break
            chosen.add(doc_id)
            total += counts[doc_id]
        frames = []
        for table in self.iter_parts():
            frame = table.to_pandas()
            frames.append(frame[frame["id"].isin(chosen)])
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def concatenate(self, target: Path, schema: Any) -> int:
        """Stream every part into one Parquet file (one part in memory at a time); returns rows."""
        import pyarrow.parquet as pq

        rows = 0
        with pq.ParquetWriter(target, schema) as writer:
            for table in self.iter_parts():
                writer.write_table(table.cast(schema))
                rows += table.num_rows
        return rows
