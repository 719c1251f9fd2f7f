"""No stale results: a moved alias, a changed module or a new library version recomputes what it touches.

Every test here describes a gap a read-through of the code found (issue 18); each failed on the code
before `pipeline.keys` (see experiments/stale-results/NOTES.md for which failed and how).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline import api
from tests.tools.corpus_testing import sections, write_jsonl
from tests.tools.tiny_models import move_alias, register_tiny, tiny_tone, tone_score_config

REPO = Path(__file__).resolve().parents[1]
NAME = "tone-keys"
PARAGRAPHS = [
    "Residents praised the bright new library and the team celebrated a fine win on Saturday.",
    "The flood was a terrible blow and visitors condemned the awful broken bridge by the harbour.",
    "The council met on Tuesday to review the budget and will publish its minutes next week.",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A store where ``tone-keys`` has two versions that score differently (the alias on version 1)."""
    root = tmp_path_factory.mktemp("keys-store")
    assert register_tiny(root, NAME, tiny_tone()) == "1"
    assert register_tiny(root, NAME, tiny_tone(flip=True), alias=None) == "2"
    return root


def score_config(store: Path, folder: Path) -> Path:
    return tone_score_config(store, folder / "score.yaml", NAME, "keys-test")


def article(n: int) -> str:
    return f"Town news number {n}\n\n" + "\n\n".join(PARAGRAPHS[n % 3:] + PARAGRAPHS[: n % 3]) + "\n"


def expected_probs(store: Path, version: str, texts: list[str]) -> np.ndarray:
    """What the version itself gives, loaded afresh (not through the scorer's cache)."""
    from pipeline.models.mlflow_model import load_classifier_from_uri

    model = load_classifier_from_uri(f"models:/{NAME}/{version}")
    probs = model.predict_proba(texts)
    return probs[:, [model.labels.index(label) for label in ("negative", "neutral", "positive")]]


def test_one_process_moved_alias_scores_an_article_with_the_new_version(store, tmp_path):
    import mlflow
    import pandas as pd

    move_alias(store, NAME, "1")
    path = tmp_path / "a.txt"
    path.write_text(article(0), encoding="utf-8")
    config = str(score_config(store, tmp_path))
    first = api.run(config, [], str(path))
    texts = ["\n\n".join(s.paragraphs) for s in first.segmented[0].sections]
    got = np.array([[s.tone_probs[k] for k in ("negative", "neutral", "positive")] for s in first.scores])
    assert np.allclose(got, expected_probs(store, "1", texts))

    move_alias(store, NAME, "2")
    second = api.run(config, [], str(path))
    got = np.array([[s.tone_probs[k] for k in ("negative", "neutral", "positive")] for s in second.scores])
    assert np.allclose(got, expected_probs(store, "2", texts)), "scored with the old version"
    assert second.models == {"tone": f"models:/{NAME}/2"}
    client = mlflow.MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    [score_run] = client.search_runs(
        [client.get_run(second.run_id).info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{second.run_id}' and attributes.run_name = 'score'")
    table = pd.read_parquet(mlflow.artifacts.download_artifacts(
        run_id=score_run.info.run_id, artifact_path="sections.parquet",
        tracking_uri=f"sqlite:///{store / 'mlflow.db'}"))
    assert (table["tone_model"] == f"models:/{NAME}/2").all()  # which version scored each row


def test_one_process_moved_alias_rescores_a_corpus_with_no_stale_row(store, tmp_path):
    move_alias(store, NAME, "1")
    corpus = write_jsonl(tmp_path / "c.jsonl", {f"a{n}": article(n) for n in range(12)})
    out = tmp_path / "out"
    config = str(score_config(store, tmp_path))
    first = api.run(config, [], str(corpus), output=str(out), batch_size=5)
    assert first.done == 12

    move_alias(store, NAME, "2")
    second = api.run(config, [], str(corpus), output=str(out), batch_size=5)
    rows = sections(out)
    want = expected_probs(store, "2", rows["text"].tolist())
    got = rows[["p_negative", "p_neutral", "p_positive"]].to_numpy()
    stale = int((~np.isclose(got, want).all(axis=1)).sum())
    assert stale == 0, f"{stale} of {len(rows)} rows carry another model's numbers"
    assert (rows["tone_model"] == f"models:/{NAME}/2").all()
    assert second.done == 12 and second.recomputed == 12 and "tone.model" in second.recomputed_because
    import mlflow

    metrics = mlflow.MlflowClient(f"sqlite:///{store / 'mlflow.db'}").get_run(second.run_id).data.metrics
    assert metrics["n_recomputed"] == 12 and metrics["recomputed.tone.model"] == 12

    third = api.run(config, [], str(corpus), output=str(out), batch_size=5)
    assert (third.skipped, third.done, third.recomputed) == (12, 0, 0)  # nothing changed: all reused


def test_evaluate_takes_set_like_every_command(store, tmp_path, capsys):
    from pipeline.cli import main

    data = tmp_path / "labelled.jsonl"
    rows = [{"text": PARAGRAPHS[0], "label": "positive"}, {"text": PARAGRAPHS[1], "label": "negative"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code = main(["evaluate", "--model", f"models:/{NAME}/1", "--data", str(data), "--json",
                 "--set", f"tracking.uri=sqlite:///{store / 'mlflow.db'}"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 2 and set(result) == {"n", "accuracy", "macro_f1", "per_class"}


# --- code keys ------------------------------------------------------------------------------------


def run_copy(package_root: Path, config: Path, corpus: Path, out: Path, cache: Path) -> dict:
    """A corpus run in a subprocess that imports the package copy under ``package_root``."""
    env = {**os.environ, "PYTHONPATH": str(package_root), "PIPELINE_CACHE": str(cache)}
    done = subprocess.run([sys.executable, "-m", "pipeline", "run", str(config), "--input", str(corpus),
                           "--output", str(out)], capture_output=True, text=True, env=env,
                          cwd=out.parent, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_change_to_a_module_the_topics_method_calls_recomputes_segments(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO / "pipeline", src / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    config = tmp_path / "topics.yaml"
    config.write_text(yaml.safe_dump({
        "experiment": "keys-topics", "stages": ["ingest", "segment"], "segment": {"method": "topics"},
        "tracking": {"uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "artifact_root": str(tmp_path / "art")},
    }), encoding="utf-8")
    corpus = write_jsonl(tmp_path / "c.jsonl", {f"a{n}": article(n) for n in range(3)})
    out = tmp_path / "out"
    first = run_copy(src, config, corpus, out, tmp_path / "cache")
    assert first["done"] == 3

    embedder = src / "pipeline" / "models" / "embedder.py"  # what `topics.v1` embeds with
    embedder.write_text(embedder.read_text(encoding="utf-8") + "\n# a change to the encoder code\n",
                        encoding="utf-8")
    second = run_copy(src, config, corpus, out, tmp_path / "cache")
    assert (second["skipped"], second["done"]) == (0, 3), "segments kept from the code before the change"
    assert second["cache"]["cache.segment.misses"] == 3 and "segment.code" in second["recomputed_because"]


def test_same_reference_in_a_second_store_loads_that_store_s_model(store, tmp_path):
    from pipeline import tracking
    from pipeline.score.models import load_classifier
    from tests.tools.tiny_models import tracking_config

    other = tmp_path / "other-store"
    assert register_tiny(other, NAME, tiny_tone(flip=True)) == "1"  # version 1 here is the flipped one
    text = [PARAGRAPHS[0]]
    tracking.connect(tracking_config(store))
    first = load_classifier(f"models:/{NAME}/1").predict_proba(text)
    tracking.connect(tracking_config(other))
    second = load_classifier(f"models:/{NAME}/1").predict_proba(text)
    assert not np.allclose(first, second), "the first store's model was returned for the second store"
    assert np.allclose(second, expected_probs(other, "1", text))


def test_training_reuse_needs_the_same_code_and_libraries(tmp_path, monkeypatch):
    from importlib import metadata

    from pipeline.training.api import train_from_config

    overrides = [f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}", f"tracking.artifact_root={tmp_path}",
                 f"data.root={REPO / 'pipeline' / 'data' / 'train'}", "model.kind=baseline",
                 "register.name=tone-reuse"]
    config = str(REPO / "configs" / "train" / "example-tone.yaml")
    first = train_from_config(config, overrides)
    assert train_from_config(config, overrides)["reused"] is True  # same config, data and code

    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "99.0" if name == "scikit-learn" else real(name))
    upgraded = train_from_config(config, overrides)
    assert upgraded["reused"] is False and str(upgraded["version"]) == str(int(first["version"]) + 1)
