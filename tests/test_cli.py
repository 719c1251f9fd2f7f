"""The command line as a user meets it: formats, exit codes, one-line errors, tracked runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.articles import PLAIN_NO_HEADINGS, SCRAPED_WITH_HEADINGS

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def article(tmp_path: Path) -> Path:
    path = tmp_path / "ferry.txt"
    path.write_text(SCRAPED_WITH_HEADINGS, encoding="utf-8")
    return path


def config_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(
        "experiment: cli-test\n"
        f"tracking:\n  uri: sqlite:///{tmp_path / 'mlflow.db'}\n  artifact_root: {tmp_path / 'art'}\n"
        + extra,
        encoding="utf-8",
    )
    return path


def run_statuses(tmp_path: Path) -> list[str]:
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exps = client.search_experiments()
    return [r.info.status for r in client.search_runs([e.experiment_id for e in exps])]


def test_help_lists_commands(tmp_path):
    result = cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("segment", "run", "ui", "train", "evaluate"):
        assert command in result.stdout


def test_segment_json_format(article, tmp_path):
    result = cli("segment", str(article), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert list(out) == ["title", "standfirst", "sections", "dropped"]
    assert out["title"] == "Harbour Town Council Approves New Ferry Link"
    assert out["standfirst"].startswith("A second crossing")
    assert [s["heading"] for s in out["sections"]] == [None, "Why the vote was close", "What happens next"]
    assert [s["index"] for s in out["sections"]] == [0, 1, 2]
    assert all(list(s) == ["index", "heading", "paragraphs"] for s in out["sections"])
    assert out["sections"][1]["paragraphs"][1].startswith("“We are building")  # curly quote kept
    dropped = {d["text"] for d in out["dropped"]}
    assert "Skip to content" in dropped and "Sign up for our morning newsletter" in dropped
    assert all(set(d) == {"text", "reason"} and d["reason"] for d in out["dropped"])


def test_segment_method_override(article, tmp_path):
    result = cli("segment", str(article), "--json", "--method", "paragraphs", cwd=tmp_path)
    out = json.loads(result.stdout)
    assert all(s["heading"] is None for s in out["sections"])
    assert sum(len(s["paragraphs"]) for s in out["sections"]) == 6


def test_segment_corpus_jsonl_has_ids(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {"id": "a1", "text": SCRAPED_WITH_HEADINGS},
        {
            "id": "a2",
            "html": "<html><body><article><h1>T</h1>"
            + "".join(f"<p>{p}</p>" for p in PLAIN_NO_HEADINGS.split("\n\n")[1:])
            + "</article></body></html>",
        },
    ]
    corpus.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = cli("segment", str(corpus), "--json", "--method", "headings", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    outs = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [o["id"] for o in outs] == ["a1", "a2"]
    assert all(o["sections"] for o in outs)


BAD_INPUTS = {
    "empty": (b"", "empty"),
    "binary": (bytes(range(256)) * 40, "binary"),
    "html-without-article": (
        b"<html><head><title>x</title></head><body><nav><a href='/'>Home</a></nav></body></html>",
        "no article text",
    ),
}


@pytest.mark.parametrize("case", [*BAD_INPUTS, "missing"])
@pytest.mark.parametrize("command", ["segment", "run"])
def test_bad_input_one_line_exit_2(case, command, tmp_path):
    if case == "missing":
        path, expected = tmp_path / "nope.txt", "not found"
    else:
        data, expected = BAD_INPUTS[case]
        path = tmp_path / ("page.html" if case.startswith("html") else "page.txt")
        path.write_bytes(data)
    if command == "segment":
        result = cli("segment", str(path), "--json", cwd=tmp_path)
    else:
        result = cli("run", str(config_file(tmp_path)), "--input", str(path), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout.strip() == "" if command == "segment" else True
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0] and str(path.name) in lines[0]
    assert "Traceback" not in result.stderr
    if command == "run" and (tmp_path / "mlflow.db").exists():
        assert "RUNNING" not in run_statuses(tmp_path)


@pytest.mark.parametrize("command", ["segment", "run"])
def test_misspelt_config_key(command, article, tmp_path):
    cfg = config_file(tmp_path, "segment:\n  min_headngs: 2\n")
    args = (
        ["segment", str(article), "--config", str(cfg)]
        if command == "segment"
        else ["run", str(cfg), "--input", str(article)]
    )
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "segment.min_headngs" in line and "segment.min_headings" in line and str(cfg) in line
    assert not (tmp_path / "mlflow.db").exists() or "RUNNING" not in run_statuses(tmp_path)


def test_set_override_bad_type_names_key(article, tmp_path):
    result = cli("segment", str(article), "--set", "segment.paragraphs.window=many", cwd=tmp_path)
    assert result.returncode == 2
    assert "segment.paragraphs.window" in result.stderr and "'many'" in result.stderr


def test_run_records_parent_and_stage_runs(article, tmp_path):
    import mlflow

    cfg = config_file(tmp_path, "segment:\n  method: headings\n")
    result = cli(
        "run", str(cfg), "--input", str(article), "--set", "segment.paragraphs.window=3", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "run id:" in result.stdout and "pipeline ui" in result.stdout
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("cli-test")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.run_name.startswith("cfg+window=3-ferry-")  # the --set setting shows in the name
    children = {
        r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id
    }
    assert set(children) == {"ingest", "segment"}
    assert all(r.info.status == "FINISHED" for r in runs)
    assert parent.data.params["segment.method"] == "headings"
    assert parent.data.params["segment.paragraphs.window"] == "3"
    assert parent.data.metrics["segment.n_sections"] == 3
    assert parent.data.metrics["ingest.n_dropped"] >= 2
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert "config.yaml" in artifacts
    seg_artifacts = {a.path for a in client.list_artifacts(children["segment"].info.run_id)}
    assert {"sections.parquet", "sections.csv", "segments.jsonl"} <= seg_artifacts
    ingest_artifacts = {a.path for a in client.list_artifacts(children["ingest"].info.run_id)}
    assert "dropped.csv" in ingest_artifacts
    assert (tmp_path / "art").is_dir()  # artifacts go to the configured folder, not ./mlruns
    assert not (tmp_path / "mlruns").exists()


def test_python_dash_m_and_console_script_agree(article, tmp_path):
    import shutil

    exe = shutil.which("pipeline")
    if exe is None:
        pytest.skip("console script not installed")
    a = subprocess.run([exe, "segment", str(article), "--json"], capture_output=True, text=True, cwd=tmp_path)
    b = cli("segment", str(article), "--json", cwd=tmp_path)
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout


def test_ui_serves_the_store_on_localhost(tmp_path):
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = config_file(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "ui", "--config", str(cfg), "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 150
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the UI did not answer on 127.0.0.1 within 150 s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    stderr = proc.stderr.read()
    assert str(tmp_path / "mlflow.db") in stderr
    assert f"http://127.0.0.1:{port}/#/experiments?workflowType=machine_learning" in stderr  # model training


def test_segment_seed_article_json_matches_gold(shared, tmp_path):
    page = shared / "articles" / "azerbaijan-israel.txt"
    gold = json.loads((shared / "articles" / "azerbaijan-israel.gold.json").read_text(encoding="utf-8"))
    result = cli("segment", str(page), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    lines = [" ".join(line.split()) for line in page.read_text(encoding="utf-8").split("\n")]
    assert (out["title"], out["standfirst"]) == (gold["title"], gold["standfirst"])
    assert [s["heading"] for s in out["sections"]] == [s["heading"] for s in gold["sections"]]
    for got, want in zip(out["sections"], gold["sections"], strict=True):
        assert [" ".join(p.split()) for p in got["paragraphs"]] == [
            lines[n - 1] for n in want["paragraph_lines"]
        ]
    assert [" ".join(d["text"].split()) for d in out["dropped"]] == [
        lines[n - 1] for n in gold["boilerplate_lines"]
    ]
    body = " ".join(p for s in out["sections"] for p in s["paragraphs"])
    assert body.count("Israel was one of the first countries to recognize") == 1
