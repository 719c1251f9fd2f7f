"""Resumable training state: a long fine-tune survives a killed process or a session that ends.

One folder per (config, data): ``$PIPELINE_CACHE/train-checkpoints/<resume key>-<data hash>/``
holds ``state.pt`` (weights, optimizer, scheduler, position in the epoch, random states, the best
state so far and the caller's extra state) and ``run_id`` (the MLflow run to continue). ``state.pt``
is written to a temporary name, fsynced and renamed, so a kill during a save leaves the previous
state intact. The folder is removed once the model is registered.

Rerunning ``pipeline train CONFIG`` picks the state up; ``--fresh`` discards it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import Any

STATE_FILE = "state.pt"
RUN_FILE = "run_id"
FORMAT = 1


class TrainCheckpoints:
    """Save and load one training's resumable state in ``folder``, at most every ``every_minutes``."""

    def __init__(self, folder: str | Path, every_minutes: float = 10.0) -> None:
        self.folder = Path(folder)
        self.every_seconds = every_minutes * 60
        self.run_id: str | None = None
        """The MLflow run being trained in, written beside each saved state."""
        self._last_save = time.monotonic()

    @property
    def state_path(self) -> Path:
        return self.folder / STATE_FILE

    def exists(self) -> bool:
        return self.state_path.is_file()

    def due(self) -> bool:
        """True when the last save is older than ``every_minutes`` (0: never due)."""
        return self.every_seconds > 0 and time.monotonic() - self._last_save >= self.every_seconds

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is none (or it is from another format version)."""
        if not self.exists():
            return None
        import torch

        # our own file in our own cache: it holds numpy arrays and dicts, not only tensors
        state = torch.load(self.state_path, map_location="cpu", weights_only=False)
        return state if state.get("format") == FORMAT else None

    def save(self, state: dict[str, Any]) -> None:
        import torch

        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{STATE_FILE}.tmp"
        with open(tmp, "wb") as handle:
            torch.save({**state, "format": FORMAT}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.state_path)
        if self.run_id:
            (self.folder / RUN_FILE).write_text(self.run_id)
        self._last_save = time.monotonic()

    def saved_run_id(self) -> str | None:
        """The MLflow run the saved state belongs to (None: no saved state)."""
        path = self.folder / RUN_FILE
        if not self.exists() or not path.is_file():
            return None
        return path.read_text().strip() or None

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.folder)


def checkpoint_folder(resume_key: str, data_hash: str) -> Path:
    from pipeline.models.locate import cache_dir

    return cache_dir() / "train-checkpoints" / f"{resume_key}-{data_hash[:16]}"
