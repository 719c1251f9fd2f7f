"""`pipeline bench` with several models and dev sets: speed against quality, in one process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "pipeline" / "data" / "train"

#: The JSON keys of a single-model `pipeline bench --json` (no --stance-model) before several models.
SINGLE_MODEL_KEYS = {
    "n", "baseline_sections_per_s", "pipeline_sections_per_s", "ratio", "agreement",
    "baseline_p50_article_s", "baseline_p95_article_s", "pipeline_p50_article_s", "pipeline_p95_article_s",
    "baseline_seconds", "pipeline_seconds", "peak_rss_mb", "peak_rss_mb_before_scoring", "mean_tokens",
    "max_tokens", "window", "run_id",
}
ROW_KEYS = {"model", "sections_per_s", "p50_article_s", "p95_article_s", "peak_rss_mb", "dev"}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """Two tiny tone models (MiniLM a few steps, TF-IDF) and two dev files (tone, stance)."""
    from pipeline.training.api import train_from_config

    root = tmp_path_factory.mktemp("bench-store")
    tracking = [f"tracking.uri=sqlite:///{root / 'mlflow.db'}", f"tracking.artifact_root={root / 'art'}"]
    data = f"data.root={TRAIN}"
    config = str(REPO / "configs" / "train" / "example-tone.yaml")
    small = ["model.epochs=0.3", "model.max_length=48", "model.batch_size=32"]
    transformer = train_from_config(config, [*tracking, data, "register.name=bench-tone", *small])
    tfidf = train_from_config(
        config, [*tracking, data, "register.name=bench-tone-tfidf", "model.kind=baseline"]
    )
    return {
        "root": root,
        "tracking": tracking,
        "models": [transformer["model_uri"], tfidf["model_uri"]],
        "tone_dev": dev_file(root / "tone-dev.jsonl", TRAIN / "tone.jsonl", ("text", "label")),
        "stance_dev": dev_file(
            root / "stance-dev.jsonl", TRAIN / "stance.jsonl", ("text", "target", "label")
        ),
    }


def dev_file(path: Path, source: Path, columns: tuple[str, ...]) -> Path:
    """The dev rows of a shipped training file, with only ``columns``."""
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines = [json.dumps({c: r[c] for c in columns}) for r in rows if r.get("split") == "dev"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def bench(store: dict, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    sets = [x for setting in store["tracking"] for x in ("--set", setting)]
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "bench", *args, *sets],
        capture_output=True, text=True, cwd=cwd, timeout=600,
    )


def test_bench_compares_models_on_speed_and_dev_macro_f1(store, shared, tmp_path):
    import mlflow

    from pipeline.config import TrackingConfig
    from pipeline.training.api import evaluate_model

    first, second = store["models"]
    odd = tmp_path / "odd.csv"
    odd.write_text("text,label\nPrices rose again.,mixed\nThe team won.,positive\n", encoding="utf-8")
    result = bench(
        store, tmp_path, "--n", "20", "--model", first, "--model", second, "--json", "--device", "cpu",
        "--dev", f"news={store['tone_dev']}", "--dev", f"stance={store['stance_dev']}",
        "--dev", f"odd={odd}", "--shared", str(shared),
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures) >= SINGLE_MODEL_KEYS  # the first model's comparison, as before
    assert figures["device"] == "cpu" and figures["device_name"].startswith("cpu")
    assert figures["precision"] in ("fp32", "bf16")
    rows = figures["models"]
    assert [row["model"] for row in rows] == [first, second]
    tracking = TrackingConfig(uri=f"sqlite:///{store['root'] / 'mlflow.db'}")
    for row in rows:
        assert set(row) >= ROW_KEYS
        assert row["sections_per_s"] > 0 and 0 < row["p50_article_s"] <= row["p95_article_s"]
        assert row["peak_rss_mb"] > 50
        assert set(row["dev"]) == {"news"}  # the stance set is skipped for tone models, with a note
        assert "a stance set" in row["dev_skipped"]["stance"]
        assert "unknown label" in row["dev_skipped"]["odd"]  # labels the model does not have
        expected = evaluate_model(row["model"], str(store["tone_dev"]), tracking)["macro_f1"]
        assert row["dev"]["news"] == pytest.approx(expected, abs=1e-9)
    assert "dev set 'stance' skipped" in result.stderr

    client = mlflow.MlflowClient(tracking.uri)
    run = client.get_run(figures["run_id"])
    assert run.data.params["device"] == "cpu" and run.data.params["model2"] == second
    assert run.data.metrics["model2.sections_per_s"] == pytest.approx(rows[1]["sections_per_s"])
    assert run.data.metrics["model1.dev.news.macro_f1"] == pytest.approx(rows[0]["dev"]["news"])
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    names |= {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"bench_models.json", "plots/bench_speed_quality.png"} <= names
    table = json.loads(Path(client.download_artifacts(run.info.run_id, "bench_models.json", str(tmp_path)))
                       .read_text(encoding="utf-8"))
    assert [r[table["columns"].index("model")] for r in table["data"]] == [first, second]


def test_bench_text_output_shows_a_table_of_models(capsys):
    from pipeline.cli import _print_models

    rows = [
        {"model": "models:/a/1", "sections_per_s": 120.0, "p50_article_s": 0.05, "p95_article_s": 0.09,
         "peak_rss_mb": 700.0, "dev": {"news": 0.61}},
        {"model": "models:/b/1", "sections_per_s": 3000.0, "p50_article_s": 0.002, "p95_article_s": 0.004,
         "peak_rss_mb": 650.0, "dev": {}, "dev_skipped": {"news": "labels"}},
    ]
    figures = {"device": "cpu", "device_name": "cpu AVX2", "precision": "fp32", "n": 20, "models": rows}
    _print_models(figures, ["news"])
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if "sections/s" in line and "F1 news" in line)
    first, second = lines[header + 1].split(), lines[header + 2].split()
    assert first == ["model1", "120.0", "0.050", "0.090", "700", "0.6100", "models:/a/1"]
    assert second == ["model2", "3000.0", "0.002", "0.004", "650", "-", "models:/b/1"]


def test_bench_single_model_keys_are_unchanged(store, shared, tmp_path):
    import mlflow

    result = bench(store, tmp_path, "--n", "20", "--model", store["models"][0], "--json",
                   "--shared", str(shared))
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures) == SINGLE_MODEL_KEYS
    client = mlflow.MlflowClient(f"sqlite:///{store['root'] / 'mlflow.db'}")
    assert "bench_models.json" not in {a.path for a in client.list_artifacts(figures["run_id"])}


def test_bench_on_cuda_without_cuda_fails_with_one_line(store, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = bench(store, tmp_path, "--n", "10", "--model", store["models"][0], "--device", "cuda")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cuda" in lines[0] and "no CUDA device" in lines[0]


def test_bench_dev_option_needs_name_and_file(store, tmp_path):
    result = bench(store, tmp_path, "--n", "10", "--model", store["models"][0], "--dev", "news")
    assert result.returncode == 2 and "expected NAME=PATH" in result.stderr
    result = bench(store, tmp_path, "--n", "10", "--model", store["models"][0], "--dev", "news=missing.jsonl")
    assert result.returncode == 2 and "file not found" in result.stderr


def test_rss_sampler_gives_each_block_its_own_peak():
    import time

    import numpy as np

    from pipeline.bench import RssSampler, release_models

    release_models()  # its imports (torch) before the first block
    with RssSampler(interval=0.005) as big:
        block = np.ones(200 * 2**20 // 8)  # 200 MB, touched
        time.sleep(0.05)
        del block
    release_models()
    with RssSampler(interval=0.005) as small:
        block = np.ones(2**20 // 8)
        time.sleep(0.05)
        del block
    assert big.peak_mb - small.peak_mb > 150  # ru_maxrss would report the first peak for both
