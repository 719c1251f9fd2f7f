"""A teacher's probabilities per text, cached by content: one SQLite file per teacher identity.

The key of a row is sha256(target + "\\x00" + text) (an empty target for tone) and whether the text was
read as about its target (a corpus mention window: the relatedness gate is skipped, as the scorer does).
Each batch the teacher labels is committed at once, so a killed labelling keeps what it did and a rerun,
or a bigger corpus, sends only the texts not yet labelled.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BATCH = 256
"""Texts sent to the teacher at a time (and committed together)."""


def text_key(text: str, target: str | None) -> str:
    return hashlib.sha256(f"{target or ''}\x00{text}".encode()).hexdigest()


def default_cache() -> Path:
    from pipeline.models.locate import cache_dir

    return cache_dir() / "teacher-labels"


@dataclass
class Labelled:
    """Probabilities (rows x labels, in the order asked for) and how many came from the cache."""

    probs: np.ndarray
    hits: int
    sent: int


class TeacherLabels:
    """The cache of one teacher (by its resolved identity) in ``folder``."""

    def __init__(self, folder: str | Path, identity: str) -> None:
        self.folder = Path(folder).expanduser()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{hashlib.sha256(identity.encode()).hexdigest()[:24]}.sqlite"
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS labels "
            "(key TEXT, about INTEGER, probs TEXT, PRIMARY KEY (key, about))"
        )
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('identity', ?)", (identity,))
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def get(self, keys: Sequence[str], about: bool) -> dict[str, dict[str, float]]:
        found: dict[str, dict[str, float]] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT key, probs FROM labels WHERE about = ? AND key IN ({marks})",  # noqa: S608
                (int(about), *chunk),
            )
            found.update((key, json.loads(probs)) for key, probs in rows)
        return found

    def put(self, items: dict[str, dict[str, float]], about: bool) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO labels VALUES (?, ?, ?)",
            [(key, int(about), json.dumps(probs)) for key, probs in items.items()],
        )
        self.db.commit()

    def label(
        self,
        teacher: Callable[[], Any],
        texts: Sequence[str],
        targets: Sequence[str | None] | None,
        labels: Sequence[str],
        about_target: bool = False,
        desc: str = "teacher",
    ) -> Labelled:
        """The teacher's probabilities for each text (columns in ``labels`` order); only texts not in the
        cache go to the teacher (``teacher()`` returns the loaded classifier, called only then)."""
        from tqdm.auto import tqdm

        pairs = list(zip(texts, targets if targets is not None else [None] * len(texts), strict=True))
        keys = [text_key(text, target) for text, target in pairs]
        found = self.get(keys, about_target)
        hits = sum(key in found for key in keys)
        todo = {key: pair for key, pair in zip(keys, pairs, strict=True) if key not in found}
        if todo:
            model = teacher()
            items = list(todo.items())
            with tqdm(total=len(items), desc=f"labelling ({desc})", unit="text", file=sys.stderr) as bar:
                for start in range(0, len(items), BATCH):
                    batch = items[start : start + BATCH]
                    batch_texts = [text for _, (text, _) in batch]
                    batch_targets = [target for _, (_, target) in batch] if targets is not None else None
                    probs = model.predict_proba(batch_texts, batch_targets, about_target=about_target)
                    new = {key: {lab: float(p) for lab, p in zip(model.labels, row, strict=True)}
                           for (key, _), row in zip(batch, probs, strict=True)}
                    self.put(new, about_target)
                    found.update(new)
                    bar.update(len(batch))
        out = np.array([[found[key][lab] for lab in labels] for key in keys], dtype=np.float32)
        return Labelled(out.reshape(len(keys), len(labels)), hits, len(todo))
