"""The default job end to end, as a new user runs it: `pipeline run configs/default.yaml`.

The configs and the shipped data are copied into a fresh folder (the store and artifacts land there,
as they would in a new checkout); only the two train configs are made tiny (one MiniLM training step for
tone, a TF-IDF baseline for stance), so the job trains its classifiers through `score.*.train` in the
fast suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def new_checkout(folder: Path) -> Path:
    shutil.copytree(REPO / "configs", folder / "configs", ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copytree(REPO / "pipeline" / "data", folder / "pipeline" / "data")
    tiny = {"example-tone.yaml": {"epochs": 0.05, "max_length": 32, "checkpoint_minutes": 0},  # one step
            "example-stance.yaml": {"kind": "baseline"}}  # TF-IDF + logistic regression
    for name, model in tiny.items():
        path = folder / "configs" / "train" / name
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        config["model"] |= model
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return folder


def pipeline_run(folder: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PIPELINE_CACHE": str(folder / "cache")}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([sys.executable, "-m", "pipeline", "run", "configs/default.yaml"], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=900)


def test_default_job_trains_scores_and_tracks_then_reuses_its_models(tmp_path):
    import mlflow

    folder = new_checkout(tmp_path)
    first = pipeline_run(folder)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "pipeline ui" in first.stdout and "report" in first.stdout.lower()
    client = mlflow.MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    for name in ("example-tone", "example-stance"):
        assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    experiment = client.get_experiment_by_name("news-tone-stance")
    [score_run] = client.search_runs([experiment.experiment_id], "attributes.run_name = 'score'")
    table = Path(mlflow.artifacts.download_artifacts(run_id=score_run.info.run_id,
                                                     artifact_path="sections.parquet",
                                                     tracking_uri=f"sqlite:///{folder / 'mlflow.db'}"))
    import pandas as pd

    rows = pd.read_parquet(table)
    assert len(rows) >= 2 and rows["tone_label"].notna().all()
    assert set(rows["tone_model"]) == {"models:/example-tone/1"}
    assert (folder / "mlartifacts").is_dir()

    second = pipeline_run(folder)  # the models are reused from the registry, not trained again
    assert second.returncode == 0, second.stderr[-3000:]
    assert [str(v.version) for v in client.search_model_versions("name = 'example-tone'")] == ["1"]
