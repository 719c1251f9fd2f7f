"""Corpus runs: layout, resume (also after kill -9), stage cache, MLflow under faults, safety."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.tools.corpus_testing import (
    assert_clean_layout,
    client,
    errors,
    kill_after_parts,
    run,
    sections,
    write_config,
    write_folder,
    write_jsonl,
)
from tests.tools.make_corpus import articles, write_corpus

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """One MLflow store for the module (creating a SQLite store costs seconds)."""
    return tmp_path_factory.mktemp("store")


@pytest.fixture
def cfg(tmp_path, store) -> Path:
    return write_config(tmp_path, store)


def parent_run(store: Path, run_id: str):
    return client(store).get_run(run_id)


def artifact_text(store: Path, run_id: str, name: str) -> str:
    import mlflow

    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=name,
                                               tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    return Path(path).read_text(encoding="utf-8")


# --- layout and resume --------------------------------------------------------------------------


def test_jsonl_corpus_layout_metrics_and_resume(tmp_path, store, cfg):
    corpus = write_corpus(tmp_path / "c.jsonl", 30, "jsonl")
    out = tmp_path / "out"
    result = run(cfg, corpus, out, batch_size=8)
    assert (result.done, result.skipped, result.failed) == (30, 0, 0)
    assert result.parts == 4 and len(list((out / "sections").glob("part-*.parquet"))) == 4
    rows = sections(out)
    assert rows["id"].nunique() == 30 and len(rows) == result.sections
    assert {"id", "key", "section_index", "heading", "n_paragraphs", "n_words", "method", "text"} <= set(rows)
    assert list(errors(out).columns) == ["id", "stage", "error"] and errors(out).empty
    assert_clean_layout(out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["done"] == 30

    parent = parent_run(store, result.run_id)
    assert parent.info.status == "FINISHED"
    m = parent.data.metrics
    assert (m["n_done"], m["n_skipped"], m["n_failed"], m["n_sections"]) == (30, 0, 0, len(rows))
    assert m["articles_per_s"] > 0 and m["peak_rss_mb"] > 0
    assert parent.data.params["segment.method"] == "headings"
    assert parent.data.tags["output"] == str(out)
    logged = {a.path for a in client(store).list_artifacts(result.run_id)}
    assert {"config.yaml", "summary.json", "errors.parquet", "sections.parquet"} <= logged

    again = run(cfg, corpus, out, batch_size=8)
    assert (again.done, again.skipped, again.failed) == (0, 30, 0)
    assert len(sections(out)) == len(rows)
    assert parent_run(store, again.run_id).data.tags["resumes"] == result.run_id


def test_folder_and_parquet_corpora_give_the_same_rows(tmp_path, cfg):
    texts = dict(articles(12))
    a = run(cfg, write_folder(tmp_path / "folder", texts), tmp_path / "a")
    b = run(cfg, write_corpus(tmp_path / "c.parquet", 12, "parquet"), tmp_path / "b")
    assert a.done == b.done == 12
    cols = ["id", "section_index", "heading", "text"]
    ra, rb = (sections(tmp_path / x)[cols].sort_values(cols[:2]).reset_index(drop=True) for x in "ab")
    assert ra.equals(rb)


def test_changed_and_removed_articles_are_redone_and_dropped(tmp_path, cfg):
    texts = dict(articles(10))
    corpus = write_jsonl(tmp_path / "c.jsonl", texts)
    out = tmp_path / "out"
    run(cfg, corpus, out, batch_size=4)
    texts["a000003"] = texts["a000003"].replace("Skip to content", "Skip to content\n\nFresh Title Here", 1)
    texts["a000003"] = texts["a000003"].replace("The ", "A ", 1)
    del texts["a000005"]
    write_jsonl(corpus, texts)
    result = run(cfg, corpus, out, batch_size=4)
    assert (result.done, result.skipped) == (1, 8)
    rows = sections(out)
    assert sorted(rows["id"].unique()) == sorted(texts)
    assert rows.groupby("id")["key"].nunique().max() == 1  # the old version's rows are gone
    assert_clean_layout(out)


def test_another_config_sets_old_results_aside(tmp_path, cfg):
    corpus = write_corpus(tmp_path / "c.jsonl", 6, "jsonl")
    out = tmp_path / "out"
    run(cfg, corpus, out)
    result = run(cfg, corpus, out, "segment.method=paragraphs", "segment.paragraphs.window=1")
    assert (result.done, result.skipped) == (6, 0)
    assert set(sections(out)["method"]) == {"paragraphs.v1"}
    assert len(list((out / ".replaced").iterdir())) == 1


def test_default_output_folder_resumes(tmp_path, cfg, monkeypatch):
    from pipeline import api

    monkeypatch.chdir(tmp_path)
    corpus = write_corpus(tmp_path / "news.jsonl", 5, "jsonl")
    first = api.run(str(cfg), [], str(corpus))
    assert first.output == Path("outputs/cfg-news") and first.done == 5
    assert api.run(str(cfg), [], str(corpus)).skipped == 5


def test_output_folder_in_use_is_refused(tmp_path, cfg):
    from pipeline.corpus.store import OutputDir
    from pipeline.errors import InputError

    corpus = write_corpus(tmp_path / "c.jsonl", 3, "jsonl")
    holder = OutputDir(tmp_path / "out")
    holder.lock()
    try:
        with pytest.raises(InputError, match="in use by another run"):
            run(cfg, corpus, tmp_path / "out")
    finally:
        holder.unlock()


# --- stage cache --------------------------------------------------------------------------------


def test_stage_cache_skips_ingest_and_segment_it_has_done(tmp_path, cfg, monkeypatch):
    from pipeline import segment as segment_stage

    corpus = write_corpus(tmp_path / "c.jsonl", 10, "jsonl")
    out = tmp_path / "out"
    first = run(cfg, corpus, out, "segment.method=paragraphs")
    assert first.cache["cache.segment.misses"] == 10
    other = run(cfg, corpus, out, "segment.method=paragraphs", "segment.paragraphs.window=2")
    assert other.cache["cache.segment.misses"] == 10  # the segment config is part of the key

    calls = []
    real = segment_stage.segment_article
    monkeypatch.setattr(segment_stage, "segment_article", lambda *a, **k: calls.append(1) or real(*a, **k))
    back = run(cfg, corpus, out, "segment.method=paragraphs")
    assert back.done == 10 and back.cache["cache.segment.hits"] == 10
    assert back.cache.get("cache.segment.misses") == 0
    assert calls == []
    assert sections(out)["id"].nunique() == 10


class FakeClassifier:
    """Deterministic probabilities from the text; counts the texts it is asked about."""

    calls: dict[str, int] = {}

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels

    def configure_windows(self, max_length=None, stride=0.5, batch_size=None) -> None:
        pass

    def predict_proba(self, texts, targets=None, about_target=False):
        role = "stance" if targets is not None else "tone"
        FakeClassifier.calls[role] = FakeClassifier.calls.get(role, 0) + len(texts)
        rows = [[1.0 + (len(t) + i) % 3 for i in range(3)] for t in texts]
        return np.array([[v / sum(r) for v in r] for r in rows])


def test_score_stage_rows_and_changing_targets_redoes_only_stance(tmp_path, store, monkeypatch):
    from pipeline.score import models as score_models

    FakeClassifier.calls = {}
    labels = {"tone": ["negative", "neutral", "positive"], "stance": ["against", "neutral", "favor"]}
    monkeypatch.setattr(score_models, "load_resolved",
                        lambda model, device="cpu": FakeClassifier(
                            labels["stance" if "stance" in model.uri else "tone"]))
    (tmp_path / "tone").mkdir()
    (tmp_path / "stance").mkdir()
    cfg = write_config(tmp_path, store, f"score:\n  tone:\n    model: {tmp_path / 'tone'}\n"
                                        f"  stance:\n    model: {tmp_path / 'stance'}\n"
                                        "    targets: {Farmers: [Teachers]}\n")
    corpus = write_jsonl(tmp_path / "c.jsonl", dict(articles(8)))
    out = tmp_path / "out"
    first = run(cfg, corpus, out, "stages=[ingest, segment, score]")
    rows = sections(out)
    assert first.done == 8 and rows["tone_label"].notna().all()
    assert {"p_negative", "tone_score", "Farmers.stance_label", "Farmers.mentions"} <= set(rows)
    assert rows["Farmers.stance_score"].notna().any() and rows["Farmers.stance_score"].isna().any()
    n = len(rows)
    assert FakeClassifier.calls["tone"] <= n

    FakeClassifier.calls = {}
    second = run(cfg, corpus, out, "stages=[ingest, segment, score]",
                 "score.stance.targets={Farmers: [Teachers], Doctors: []}")
    assert second.done == 8 and second.cache["cache.segment.hits"] == 8
    assert second.cache.get("cache.segment.misses", 0) == 0
    assert second.cache.get("cache.tone.misses", 0) == 0 and "tone" not in FakeClassifier.calls
    assert second.cache["cache.stance.misses"] > 0
    assert {"Farmers.stance_label", "Doctors.stance_label"} <= set(sections(out))


def train_baselines(folder: Path) -> dict[str, Path]:
    """Tiny real classifiers (TF-IDF + logistic regression) on the labelled sets the project ships."""
    classifier = pytest.importorskip("pipeline.models.classifier", reason="classifiers not available yet")
    pytest.importorskip("pipeline.models.mlflow_model", reason="model loading by URI not available yet")
    labels = {"tone": ["negative", "neutral", "positive"], "stance": ["against", "neutral", "favor"]}
    for task in labels:
        lines = (REPO / "pipeline" / "data" / "train" / f"{task}.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        model = classifier.BaselineClassifier(labels[task], task)
        model.fit([r["text"] for r in rows], [r["label"] for r in rows],
                  [r["target"] for r in rows] if task == "stance" else None)
        model.save(folder / task)
    return {task: folder / task for task in labels}


def test_score_stage_with_tiny_real_classifiers(tmp_path, store):
    models = train_baselines(tmp_path / "models")
    cfg = write_config(tmp_path, store, f"score:\n  tone:\n    model: {models['tone']}\n"
                                        f"  stance:\n    model: {models['stance']}\n"
                                        "    targets: {Farmers: [Teachers]}\n")
    out = tmp_path / "out"
    result = run(cfg, write_corpus(tmp_path / "c.jsonl", 6, "jsonl"), out, "stages=[ingest, segment, score]")
    rows = sections(out)
    assert result.done == 6 and set(rows["tone_label"]) <= {"negative", "neutral", "positive"}
    total = rows[["p_negative", "p_neutral", "p_positive"]].sum(axis=1)
    assert ((total - 1).abs() < 1e-6).all()
    mentioned = rows["Farmers.mentions"] > 0
    assert mentioned.any() and rows.loc[mentioned, "Farmers.stance_label"].notna().all()
    assert rows.loc[~mentioned, "Farmers.stance_label"].isna().all()
    assert parent_run(store, result.run_id).info.status == "FINISHED"


# --- MLflow under faults ------------------------------------------------------------------------


def _fail_on_part(monkeypatch, n: int, exc: BaseException) -> None:
    from pipeline.corpus.store import OutputDir

    real = OutputDir.write_part
    count = {"n": 0}

    def write_part(self, table):
        count["n"] += 1
        if count["n"] == n:
            raise exc
        return real(self, table)

    monkeypatch.setattr(OutputDir, "write_part", write_part)


def _only_run(store: Path, out: Path):
    state = json.loads((out / ".run.json").read_text())
    return client(store).get_run(state["mlflow_run_id"])


def test_exception_mid_run_marks_failed_with_error_tag_and_partial_results(tmp_path, store, cfg, monkeypatch):
    corpus = write_corpus(tmp_path / "c.jsonl", 20, "jsonl")
    out = tmp_path / "out"
    _fail_on_part(monkeypatch, 3, OSError(28, "No space left on device"))
    with pytest.raises(OSError):
        run(cfg, corpus, out, batch_size=5)
    failed = _only_run(store, out)
    assert failed.info.status == "FAILED"
    assert "OSError" in failed.data.tags["error"] and "No space left" in failed.data.tags["error"]
    assert failed.data.metrics["n_done"] == 10
    summary = json.loads(artifact_text(store, failed.info.run_id, "summary.json"))
    assert summary["status"] == "failed" and summary["done"] == 10
    logged = {a.path for a in client(store).list_artifacts(failed.info.run_id)}
    assert {"sections.parquet", "errors.parquet", "summary.json"} <= logged
    assert sections(out)["id"].nunique() == 10

    monkeypatch.undo()
    result = run(cfg, corpus, out, batch_size=5)
    assert (result.done, result.skipped) == (10, 10)
    assert sections(out)["id"].nunique() == 20
    assert_clean_layout(out)


def test_keyboard_interrupt_marks_killed(tmp_path, store, cfg, monkeypatch):
    corpus = write_corpus(tmp_path / "c.jsonl", 12, "jsonl")
    out = tmp_path / "out"
    _fail_on_part(monkeypatch, 2, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        run(cfg, corpus, out, batch_size=4)
    killed = _only_run(store, out)
    assert killed.info.status == "KILLED" and "interrupted" in killed.data.tags["error"]
    assert json.loads(artifact_text(store, killed.info.run_id, "summary.json"))["status"] == "interrupted"
    assert sections(out)["id"].nunique() == 4


def test_kill_9_mid_run_then_rerun_has_every_article_once(tmp_path, store, cfg):
    from pipeline.corpus.cache import code_digest

    n = 300
    corpus = write_corpus(tmp_path / "c.jsonl", n, "jsonl")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pipeline", "run", str(cfg), "--input", str(corpus),
               "--output", str(out), "--batch-size", "3"]
    code = kill_after_parts(command, out, 3, tmp_path, {**os.environ, "PYTHONPATH": str(REPO)})
    assert code == -signal.SIGKILL, "the run ended before it could be killed"
    before = sections(out)["id"].nunique()
    assert 0 < before < n

    code_digest.cache_clear()  # read the code as the killed process did
    result = run(cfg, corpus, out, batch_size=50)
    if not (out / ".replaced").exists():  # (unless the code changed on disk in between)
        assert result.skipped == before and result.done == n - before
    rows = sections(out)
    assert rows["id"].nunique() == n
    assert_clean_layout(out)
    clean = run(cfg, corpus, tmp_path / "clean", batch_size=100)
    assert len(rows) == clean.sections
    killed_id = client(store).get_run(result.run_id).data.tags["resumes"]
    killed = client(store).get_run(killed_id)
    assert killed.info.status == "KILLED" and "process ended" in killed.data.tags["error"]


# --- safety -------------------------------------------------------------------------------------


def test_secrets_are_never_logged(tmp_path, store, cfg, monkeypatch):
    import mlflow

    from pipeline import tracking
    from pipeline.config import load_config

    secrets = {"MY_API_TOKEN": "tok-s3cr3t-1", "DB_PASSWORD": "pw-s3cr3t-2",
               "AWS_SECRET_ACCESS_KEY": "aws-s3cr3t-3", "OPENAI_API_KEY": "key-s3cr3t-4"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    result = run(cfg, write_corpus(tmp_path / "c.jsonl", 3, "jsonl"), tmp_path / "out")
    logged = parent_run(store, result.run_id).data
    everything = json.dumps([logged.params, logged.tags])
    assert not any(v in everything for v in secrets.values())

    # a password in a config value (a tracking URI with credentials) is masked in params and config.yaml
    config = load_config(None, ["tracking.uri=http://alice:hunter2@mlflow.example:5000"])
    mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
    with tracking.run("secret-check", client(store).get_experiment_by_name("corpus-test").experiment_id) as r:
        tracking.log_config(config)
        tracking.log_params({"API_TOKEN": "tok-s3cr3t-1", "db.password": "x"})
        tracking.set_tags({"service_key": "y", "where": "https://bob:pw-s3cr3t-2@host/x"})
    data = client(store).get_run(r.info.run_id).data
    assert data.params["tracking.uri"] == "http://alice:***@mlflow.example:5000"
    assert not {"API_TOKEN", "db.password", "service_key"} & (set(data.params) | set(data.tags))
    assert data.tags["where"] == "https://bob:***@host/x"
    assert "hunter2" not in artifact_text(store, r.info.run_id, "config.yaml")


def test_yaml_is_loaded_safely(tmp_path):
    from pipeline.config import load_config
    from pipeline.errors import ConfigError

    marker = tmp_path / "pwned"
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"experiment: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    assert not marker.exists()


def test_ui_binds_localhost_by_default():
    from pipeline.cli import build_parser

    assert build_parser().parse_args(["ui"]).host == "127.0.0.1"
