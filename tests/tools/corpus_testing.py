"""Helpers shared by the corpus-run tests: a config on a test store, a run, the rows it wrote."""

from __future__ import annotations

import json
from pathlib import Path

from tests.articles import PLAIN_NO_HEADINGS, SCRAPED_WITH_HEADINGS

GOOD = {"good-1": SCRAPED_WITH_HEADINGS, "good-2": PLAIN_NO_HEADINGS,
        "good-3": SCRAPED_WITH_HEADINGS.replace("Harbour Town", "Port Elm")}


def write_config(folder: Path, store: Path, extra: str = "", name: str = "cfg.yaml") -> Path:
    """A run config that segments without a model, on the SQLite store in ``store``."""
    path = folder / name
    path.write_text(
        "experiment: corpus-test\n"
        "stages: [ingest, segment]\n"
        "segment:\n  method: headings\n"
        f"tracking:\n  uri: sqlite:///{store / 'mlflow.db'}\n  artifact_root: {store / 'art'}\n" + extra,
        encoding="utf-8",
    )
    return path


def write_jsonl(path: Path, rows: list[dict] | dict[str, str], extra_lines: list[str] = ()) -> Path:
    if isinstance(rows, dict):
        rows = [{"id": k, "text": v} for k, v in rows.items()]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_folder(folder: Path, articles: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, text in articles.items():
        (folder / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    return folder


def run(config: Path, corpus: Path, out: Path, *overrides: str, batch_size: int = 8):
    from pipeline import api

    return api.run(str(config), list(overrides), str(corpus), output=str(out), batch_size=batch_size)


def sections(out: Path):
    """All committed rows (pandas), reading every part file on its own (each must be readable)."""
    import pandas as pd
    import pyarrow.parquet as pq

    parts = sorted((out / "sections").glob("*.parquet"))
    frames = [pq.read_table(p).to_pandas() for p in parts]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["id", "section_index"])


def errors(out: Path):
    import pandas as pd

    return pd.read_parquet(out / "errors.parquet")


def client(store: Path):
    import mlflow

    return mlflow.MlflowClient(f"sqlite:///{store / 'mlflow.db'}")


def assert_clean_layout(out: Path) -> None:
    """Every part readable, no temp file visible, no duplicated section row."""
    import pyarrow.parquet as pq

    visible = [p.name for p in (out / "sections").iterdir() if not p.name.startswith(".")]
    assert all(name.startswith("part-") and name.endswith(".parquet") for name in visible), visible
    for part in (out / "sections").glob("*.parquet"):
        pq.read_table(part)
    rows = sections(out)
    assert not rows.duplicated(["id", "section_index"]).any()


def kill_after_parts(command: list[str], out: Path, parts: int, cwd: Path, env: dict[str, str],
                     timeout: float = 120, poll: float = 0.005) -> int:
    """Start ``command``, ``kill -9`` it once ``out/sections`` holds ``parts`` committed part files (or
    when ``timeout`` is up), and return its exit status (``-9`` when it was killed)."""
    import os
    import signal
    import subprocess
    import time

    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.time() + timeout
        while time.time() < deadline and proc.poll() is None:
            if len(list((out / "sections").glob("part-*.parquet"))) >= parts:
                break
            time.sleep(poll)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    return proc.returncode
