"""A registered model is usable from a fresh Python process that imports only mlflow and pandas."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROWS = [  # (target, text, label)
    ("the dam", "We welcome the dam, it brings power and jobs.", "favor"),
    ("the dam", "The dam is a great step forward for the valley.", "favor"),
    ("the dam", "We oppose the dam, it will flood our homes.", "against"),
    ("the dam", "The dam is a terrible mistake for the valley.", "against"),
    ("the dam", "The dam was discussed at the council on Monday.", "neutral"),
    ("the dam", "Engineers described the dam's planned height.", "neutral"),
    ("the airport", "We welcome the airport, it brings trade and jobs.", "favor"),
    ("the airport", "The airport is a great step forward for the city.", "favor"),
    ("the airport", "We oppose the airport, it will ruin our sleep.", "against"),
    ("the airport", "The airport is a terrible mistake for the city.", "against"),
    ("the airport", "The airport was discussed at the council on Friday.", "neutral"),
    ("the airport", "Planners described the airport's two runways.", "neutral"),
    # rows that do not name their target: what the relatedness gate is fitted on
    ("the dam", "Hydropower from the new reservoir will light the valley.", "favor"),
    ("the dam", "The reservoir wall will drown our farms.", "against"),
    ("the dam", "Concrete for the barrier arrives in May.", "neutral"),
    ("the dam", "Flooding the gorge destroys the river's fish.", "against"),
    ("the dam", "Cheap hydroelectric power is a blessing.", "favor"),
    ("the airport", "New flights will bring tourists and trade.", "favor"),
    ("the airport", "Jet noise at night will ruin our sleep.", "against"),
    ("the airport", "The runway lights were tested on Tuesday.", "neutral"),
    ("the airport", "More planes mean more pollution over homes.", "against"),
    ("the airport", "A terminal with shops is a fine addition.", "favor"),
]

SCRIPT = """
import json, sys
import mlflow
import pandas

mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.pyfunc.load_model(sys.argv[2])
texts = ["We welcome the dam, it brings jobs.", "The airport is a terrible mistake."]
frame = pandas.DataFrame({"text": texts, "target": ["the dam", "the airport"]})
out = model.predict(frame)
no_target = model.predict(frame[["text"]])
far = pandas.DataFrame({"text": ["Interest rates rose in March."], "target": ["the dam"]})
unrelated = model.predict(far)
print(json.dumps({"columns": list(out.columns), "rows": out.to_dict(orient="records"),
                  "no_target": no_target.to_dict(orient="records"),
                  "unrelated": unrelated.to_dict(orient="records"),
                  "preloaded": sorted(m for m in ("torch", "sklearn") if m in sys.modules)}))
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, str]:
    from pipeline.training.api import train_from_config

    root = tmp_path_factory.mktemp("roundtrip")
    data = root / "stance.jsonl"
    data.write_text("".join(json.dumps({"target": g, "text": t, "label": lab}) + "\n" for g, t, lab in ROWS))
    uri = f"sqlite:///{root / 'mlflow.db'}"
    config = root / "stance.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "experiment": "roundtrip",
                "task": "stance",
                "data": {
                    "root": str(root),
                    "sources": [
                        {"path": "stance.jsonl", "split": "train", "columns": {"target": "target"}},
                        {"path": "stance.jsonl", "split": "dev", "columns": {"target": "target"}},
                    ],
                },
                "model": {"kind": "transformer", "max_length": 32, "epochs": 1, "batch_size": 6, "lr": 3e-4,
                          "relatedness_gate": "all-MiniLM-L6-v2"},
                "register": {"name": "stance-rt"},
                "tracking": {"uri": uri, "artifact_root": str(root / "artifacts")},
            }
        )
    )
    summary = train_from_config(str(config), [])
    assert summary["model_uri"] == "models:/stance-rt@champion"
    return root, uri


@pytest.fixture(scope="module")
def fresh(store) -> dict:
    """Load models:/stance-rt@champion and predict in a fresh interpreter (mlflow and pandas only)."""
    root, uri = store
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), uri, "models:/stance-rt@champion"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_fresh_process_loads_by_alias_and_predicts_labels_and_probabilities(fresh):
    assert fresh["columns"] == ["label", "p_against", "p_neutral", "p_favor"]
    assert fresh["preloaded"] == ["torch"]  # the model brought its own code and loaded the transformer
    assert len(fresh["rows"]) == 2
    for row in fresh["rows"]:
        assert row["label"] in {"against", "neutral", "favor"}
        total = row["p_against"] + row["p_neutral"] + row["p_favor"]
        assert total == pytest.approx(1.0, abs=1e-6)
        assert row["label"] == max(("against", "neutral", "favor"), key=lambda k: row[f"p_{k}"])


def test_the_relatedness_gate_travels_with_the_model(fresh, store):
    import mlflow

    from pipeline.models.mlflow_model import load_classifier_from_uri

    [row] = fresh["unrelated"]  # the gate's code and encoder load in the plain process
    assert row["p_against"] + row["p_neutral"] + row["p_favor"] == pytest.approx(1.0, abs=1e-6)
    mlflow.set_tracking_uri(store[1])
    model = load_classifier_from_uri("models:/stance-rt@champion")
    assert model.gate is not None and model.gate.encoder == "all-MiniLM-L6-v2"
    g = model.gate.unrelated(["Interest rates rose in March."], ["the dam"])
    assert row["p_neutral"] >= g[0] > 0.5  # far from the target: mostly neutral, whatever the model says


def test_target_column_is_optional(fresh):
    assert [sorted(r) for r in fresh["no_target"]] == [["label", "p_against", "p_favor", "p_neutral"]] * 2
    # without the target the model reads the text alone: the probabilities change
    assert fresh["no_target"][0]["p_favor"] != pytest.approx(fresh["rows"][0]["p_favor"], abs=1e-6)


def test_scoring_reads_a_local_registered_model_in_place(store, monkeypatch, tmp_path):
    import mlflow

    from pipeline.models.mlflow_model import artifact_location, load_classifier_from_uri, local_path

    root, uri = store
    mlflow.set_tracking_uri(uri)
    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "cache"))
    folder = local_path(artifact_location("models:/stance-rt@champion"))
    assert folder is not None and folder.is_relative_to(root / "artifacts")  # no copy is made
    model = load_classifier_from_uri("models:/stance-rt@champion")
    assert model.labels == ["against", "neutral", "favor"]
    assert not (tmp_path / "cache" / "models").exists()


def test_a_download_lands_once_in_the_cache(store, monkeypatch, tmp_path):
    import mlflow

    from pipeline.models.mlflow_model import artifact_location, download_once

    root, uri = store
    mlflow.set_tracking_uri(uri)
    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "cache"))
    location = artifact_location("models:/stance-rt@champion")
    first = download_once(location)
    assert first.parent == tmp_path / "cache" / "models" and any(first.rglob("classifier.json"))
    stamp = next(first.rglob("classifier.json")).stat().st_mtime_ns
    assert download_once(location) == first  # second call: no new download
    assert next(first.rglob("classifier.json")).stat().st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "cache" / "models").iterdir()] == [first.name]  # no partial copy left
