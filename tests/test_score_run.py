"""The score stage end to end, with tiny classifiers these tests train on the shipped example data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline import api
from pipeline.records import Article, Block, Section, Segmented
from pipeline.score import NOT_MENTIONED, score_sections
from pipeline.score.targets import Target
from tests.articles import SCRAPED_WITH_HEADINGS

REPO = Path(__file__).resolve().parents[1]

ARTICLE = SCRAPED_WITH_HEADINGS.replace(
    "Opponents argued that the money",
    "Turkish engineers praised the design, while Iranian officials criticised it. "
    "Opponents argued that the money",
)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """A tracking store with `tiny-tone` (MiniLM, a few steps) and `tiny-stance` (TF-IDF baseline)."""
    from pipeline.training.api import train_from_config

    root = tmp_path_factory.mktemp("score-store")
    tracking = [f"tracking.uri=sqlite:///{root / 'mlflow.db'}", f"tracking.artifact_root={root / 'art'}"]
    data = f"data.root={REPO / 'pipeline' / 'data' / 'train'}"
    tone = train_from_config(
        str(REPO / "configs" / "train" / "example-tone.yaml"),
        [
            *tracking,
            data,
            "register.name=tiny-tone",
            "model.epochs=0.3",
            "model.max_length=48",
            "model.batch_size=32",
        ],
    )
    stance = train_from_config(
        str(REPO / "configs" / "train" / "example-stance.yaml"),
        [*tracking, data, "register.name=tiny-stance", "model.kind=baseline"],
    )
    return {"root": root, "tracking": tracking, "tone": tone["model_uri"], "stance": stance["model_uri"]}


def write_config(store: dict, tmp_path: Path, **score: object) -> Path:
    config = {
        "experiment": "score-test",
        "stages": ["ingest", "segment", "score"],
        "segment": {"method": "headings"},
        "score": {
            "tone": {"model": store["tone"]},
            "stance": {
                "model": store["stance"],
                "targets": {
                    "Iran": ["Iranian", "Tehran"],
                    "Turkey": ["Turkish", "Ankara"],
                    "Russia": ["Moscow"],
                },
            },
            **score,
        },
        "tracking": {
            "uri": f"sqlite:///{store['root'] / 'mlflow.db'}",
            "artifact_root": str(store["root"] / "art"),
        },
    }
    path = tmp_path / "score.yaml"
    import yaml

    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_run_scores_every_section_and_logs_what_a_reader_needs(store, tmp_path):
    import mlflow

    article = tmp_path / "ferry.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    result = api.run(str(write_config(store, tmp_path)), [], str(article))
    assert [s.index for s in result.scores] == [0, 1, 2]
    for s in result.scores:
        assert s.tone_label in {"negative", "neutral", "positive"}
        assert sum(s.tone_probs.values()) == pytest.approx(1.0, abs=1e-5)
        assert s.tone_score == pytest.approx(s.tone_probs["positive"] - s.tone_probs["negative"])
        by_target = {r.target: r for r in s.stance}
        assert set(by_target) == {"Iran", "Turkey", "Russia"}
        assert by_target["Russia"].label is None and by_target["Russia"].reason == NOT_MENTIONED
    iran = {s.index: next(r for r in s.stance if r.target == "Iran") for s in result.scores}
    assert iran[1].mentions == 1 and iran[1].label in {"against", "neutral", "favor"}
    assert iran[0].label is None and iran[2].label is None  # never mentioned there: nothing scored

    client = mlflow.MlflowClient(f"sqlite:///{store['root'] / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("score-test").experiment_id])
    score_run = next(r for r in runs if r.info.run_name == "score")
    names = {a.path for a in client.list_artifacts(score_run.info.run_id)}
    assert {
        "sections.parquet",
        "sections.csv",
        "stance.parquet",
        "report.html",
        "tone_per_section.png",
        "stance_heatmap.png",
    } <= names
    local = Path(
        mlflow.artifacts.download_artifacts(
            run_id=score_run.info.run_id,
            artifact_path="sections.parquet",
            tracking_uri=f"sqlite:///{store['root'] / 'mlflow.db'}",
        )
    )
    table = pd.read_parquet(local)
    for column in (
        "index",
        "heading",
        "n_tokens",
        "tone_label",
        "p_negative",
        "p_neutral",
        "p_positive",
        "tone_score",
        "Iran.stance_label",
        "Iran.p_against",
        "Iran.p_neutral",
        "Iran.p_favor",
        "Iran.stance_score",
        "Iran.mentions",
    ):
        assert column in table.columns
    assert table["Russia.stance_label"].isna().all()
    parent = next(r for r in runs if r.info.run_id == result.run_id)
    assert "tone.mean_score" in parent.data.metrics and "stance.Iran.mean_score" in parent.data.metrics
    assert parent.data.metrics["stance.Iran.n_sections"] == 1
    assert result.report and Path(result.report).is_file()
    assert "<h2>Why the vote was close</h2>" in Path(result.report).read_text(encoding="utf-8")


def test_long_section_is_windowed_not_truncated(store):
    from pipeline.score.models import load_classifier

    tone = load_classifier(store["tone"])
    sentence = "The committee met again on Thursday and the talks went badly for everyone involved. "
    long_text = sentence * 140
    section = Section(0, None, (long_text,))
    seg = Segmented(Article("long", None, None, (Block(long_text),)), (section,), "paragraphs.v1")
    [score] = score_sections([seg], tone, None, [Target("Iran")])
    assert score.n_tokens > 2000
    windows = tone.windows(long_text)
    assert len(windows) > 2000 // tone.max_length
    assert windows[-1][1] == len(long_text.rstrip())  # the last window reaches the end of the text
    assert sum(score.tone_probs.values()) == pytest.approx(1.0, abs=1e-5)


def test_unknown_model_uri_fails_at_load_with_one_line(store, tmp_path):
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    import mlflow

    config = write_config(store, tmp_path, tone={"model": "models:/no-such-model@champion"})
    client = mlflow.MlflowClient(f"sqlite:///{store['root'] / 'mlflow.db'}")
    client.get_experiment_by_name("score-test") or client.create_experiment(
        "score-test", artifact_location=str(store["root"] / "art"))
    experiment = client.get_experiment_by_name("score-test").experiment_id
    before = {r.info.run_id for r in client.search_runs([experiment])}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(config), "--input", str(article)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and "models:/no-such-model@champion" in lines[0] and "not in the registry" in lines[0]
    )
    after = {r.info.run_id for r in client.search_runs([experiment])}
    assert after == before  # no new run is started for a bad model reference


def test_bench_command_reports_both_ways_in_one_json_line(store, shared, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "bench", "--n", "100", "--model", store["tone"], "--json",
         "--stance-model", store["stance"], "--shared", str(shared), "--set", store["tracking"][0],
         "--set", store["tracking"][1]],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("n", "baseline_sections_per_s", "pipeline_sections_per_s", "ratio", "agreement"):
        assert key in figures
    assert figures["n"] == 100
    assert figures["baseline_sections_per_s"] > 0 and figures["pipeline_sections_per_s"] > 0
    assert figures["ratio"] == pytest.approx(
        figures["pipeline_sections_per_s"] / figures["baseline_sections_per_s"], rel=1e-6)
    assert 0.98 <= figures["agreement"] <= 1.0  # same model, same windows: the labels should agree
    assert figures["max_tokens"] > figures["window"]  # long sections are in the mix
    assert figures["target_sections"] > 10  # sections naming five names: stance toward all five
    assert figures["target_cost_ratio"] > 0 and figures["target_cost_ratio_whole_sections"] > 0


def test_score_window_settings_reach_the_classifier(store):
    from pipeline.score.models import load_classifier

    tone = load_classifier(store["tone"])
    text = "The committee met again on Thursday and the talks went badly for everyone involved. " * 40
    try:
        tone.configure_windows(max_length=32, stride=0.5, batch_size=8)
        half = len(tone.windows(text))
        tone.configure_windows(max_length=32, stride=1.0, batch_size=8)
        full = len(tone.windows(text))
        assert tone.max_length == 32 and tone.batch_size == 8
        assert half > full > 1  # overlapping windows: about twice as many at half-window steps
    finally:
        tone.configure_windows(max_length=48, stride=0.5, batch_size=32)
