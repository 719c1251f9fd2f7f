"""``model.kind: ensemble``: trained classifiers combined into one registered model."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import yaml

from pipeline.errors import ConfigError
from tests.test_training import TONE_DEV, TRANSFORMER, toy_tone_config

DEV = [t for xs in TONE_DEV.values() for t in xs]

SCRIPT = """
import json, sys
import mlflow
import pandas

mlflow.set_tracking_uri(sys.argv[1])
out = mlflow.pyfunc.load_model(sys.argv[2]).predict(pandas.DataFrame({"text": json.loads(sys.argv[3])}))
print(json.dumps(out.to_dict(orient="list")))
"""


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    """Toy tone data; a tiny MiniLM member config, a baseline member config and the ensemble's.

    The members' own ``data.root`` is wrong: a member config is trained with the ensemble's."""
    root = tmp_path_factory.mktemp("ensemble")
    base = toy_tone_config(root, "test-ensemble")
    overrides = dict(item.split("=", 1) for item in TRANSFORMER)
    transformer = {**base, "register": {"name": "tone-small"}, "model": {
        "kind": "transformer", "max_length": 24, "epochs": 2, "checkpoint_minutes": 0,
        **{k.removeprefix("model."): yaml.safe_load(v) for k, v in overrides.items() if k != "model.kind"},
    }}
    baseline = {**base, "register": {"name": "tone-linear"}, "model": {"kind": "baseline"}}
    ensemble = {**base, "register": {"name": "tone-both"}, "model": {
        "kind": "ensemble", "members": [str(root / "transformer.yaml"), str(root / "baseline.yaml")],
        "weights": [3, 1],
    }}
    for member in (transformer, baseline):  # trained with the ensemble's data.root, not their own
        member["data"] = {**base["data"], "root": str(root / "not-here")}
    for name, config in (("transformer", transformer), ("baseline", baseline), ("ensemble", ensemble)):
        (root / f"{name}.yaml").write_text(yaml.safe_dump(config))
    return root


def test_ensemble_averages_its_members_and_round_trips(configs):
    import mlflow

    from pipeline.models.classifier import softmax
    from pipeline.models.mlflow_model import load_classifier_from_uri
    from pipeline.training.api import train_from_config

    summary = train_from_config(str(configs / "ensemble.yaml"), [])
    client = mlflow.MlflowClient(f"sqlite:///{configs / 'mlflow.db'}")
    params = client.get_run(summary["run_id"]).data.params
    small = client.get_model_version_by_alias("tone-small", "champion").version
    linear = client.get_model_version_by_alias("tone-linear", "champion").version
    assert json.loads(params["model.members"].replace("'", '"')) == [
        f"models:/tone-small/{small}", f"models:/tone-linear/{linear}"
    ]  # the member configs were trained first and pinned to their versions

    ensemble = load_classifier_from_uri(f"models:/tone-both/{summary['version']}")
    members = [load_classifier_from_uri(f"models:/tone-small/{small}"),
               load_classifier_from_uri(f"models:/tone-linear/{linear}")]
    mean = 0.75 * members[0].predict_proba(DEV) + 0.25 * members[1].predict_proba(DEV)
    expected = softmax(np.log(mean) / ensemble.temperature)
    np.testing.assert_allclose(ensemble.predict_proba(DEV), expected, atol=1e-5)
    assert ensemble.temperature != 1.0  # fitted on dev
    assert 0.0 <= summary["metrics"]["dev.toy.macro_f1"] <= 1.0

    # a fresh process that imports only mlflow and pandas predicts the same
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), f"sqlite:///{configs / 'mlflow.db'}",
         "models:/tone-both@champion", json.dumps(DEV[:3])],
        capture_output=True, text=True, check=True, cwd=configs,
    )
    predicted = json.loads(out.stdout.strip().splitlines()[-1])
    probs = np.column_stack([predicted[f"p_{label}"] for label in ensemble.labels])
    np.testing.assert_allclose(probs, expected[:3], atol=1e-5)
    assert predicted["label"] == [ensemble.labels[i] for i in expected[:3].argmax(axis=1)]

    again = train_from_config(str(configs / "ensemble.yaml"), [])
    assert again["reused"] and again["version"] == summary["version"]


def test_member_trained_on_other_data_and_bad_settings_are_one_line(configs):
    from pipeline.config import load_config
    from pipeline.training.api import train_from_config
    from pipeline.training.config import TrainConfig

    other = yaml.safe_load((configs / "baseline.yaml").read_text())
    other["data"]["sources"][0]["where"] = {"split": "dev"}  # trained on the ensemble's dev rows
    other["register"] = {"name": "tone-leaky"}
    (configs / "leaky.yaml").write_text(yaml.safe_dump(other))
    leaky = [f"model.members=[{configs / 'baseline.yaml'},{configs / 'leaky.yaml'}]", "model.weights=null"]
    with pytest.raises(ConfigError, match="was trained on other data"):
        train_from_config(str(configs / "ensemble.yaml"), leaky)

    path = str(configs / "ensemble.yaml")
    with pytest.raises(ValueError, match="at least two model.members"):
        load_config(path, [f"model.members=[{configs / 'baseline.yaml'}]", "model.weights=null"],
                    model=TrainConfig)
    with pytest.raises(ValueError, match="one non-negative weight per member"):
        load_config(path, ["model.weights=[1]"], model=TrainConfig)
    with pytest.raises(ValueError, match="model.members is for model.kind: ensemble"):
        load_config(path, ["model.kind=baseline"], model=TrainConfig)
