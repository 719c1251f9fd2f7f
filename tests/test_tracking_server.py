"""Runs against a remote MLflow tracking server (started here, stopped by its PID), and a server
that is down failing fast with one line before any work."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.articles import SCRAPED_WITH_HEADINGS
from tests.tools.make_corpus import write_corpus

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def config(tmp_path: Path) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text("experiment: server-test\nstages: [ingest, segment]\nsegment:\n  method: headings\n")
    return path


def stop(proc: subprocess.Popen) -> None:
    """Terminate the server (and the workers it started: its process group), then kill if it lingers."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`mlflow server` on 127.0.0.1 with a SQLite backend; yields its URI."""
    root = tmp_path_factory.mktemp("server")
    port = free_port()
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'db.sqlite'}",
         "--artifacts-destination", str(root / "art"), "--workers", "1"],
        cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(uri + "/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield uri
    finally:
        stop(proc)
        log.close()
    assert proc.poll() is not None


def test_corpus_and_single_article_runs_on_a_tracking_server(server, tmp_path):
    import mlflow

    corpus = write_corpus(tmp_path / "c.jsonl", 20, "jsonl")
    article = tmp_path / "ferry.txt"
    article.write_text(SCRAPED_WITH_HEADINGS)
    env = {"MLFLOW_TRACKING_URI": server}
    a = cli("run", str(config(tmp_path)), "--input", str(corpus), "--output", str(tmp_path / "out"),
            "--batch-size", "8", cwd=tmp_path, env=env)
    assert a.returncode == 0, a.stderr
    assert "done 20  skipped 0  failed 0" in a.stdout
    b = cli("run", str(config(tmp_path)), "--input", str(article), cwd=tmp_path, env=env)
    assert b.returncode == 0, b.stderr

    client = mlflow.MlflowClient(server)
    exp = client.get_experiment_by_name("server-test")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 2 and all(r.info.status == "FINISHED" for r in runs)
    corpus_run = next(r for r in parents if r.data.tags.get("corpus") == "true")
    assert corpus_run.data.metrics["n_done"] == 20
    assert {"sections.parquet", "summary.json", "errors.parquet"} <= {
        x.path for x in client.list_artifacts(corpus_run.info.run_id)}
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()


def test_tracking_server_down_fails_at_start_with_one_line(tmp_path):
    port = free_port()
    corpus = write_corpus(tmp_path / "c.jsonl", 3, "jsonl")
    result = cli("run", str(config(tmp_path)), "--input", str(corpus), "--output", str(tmp_path / "out"),
                 "--set", f"tracking.uri=http://127.0.0.1:{port}", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: MLflow tracking server http://127.0.0.1:{port} "
                                                    "is not reachable"), result.stderr
    assert not (tmp_path / "out").exists()  # nothing was done
