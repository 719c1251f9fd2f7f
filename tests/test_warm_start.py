"""``model.init``: a second training stage starts from a trained classifier, not from the bare encoder."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from pipeline.errors import ConfigError
from tests.test_training import TONE_DEV, TRANSFORMER, toy_tone_config

DEV = [t for xs in TONE_DEV.values() for t in xs]


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    """A tiny MiniLM first stage (a config), and a second stage that names it in ``model.init``."""
    root = tmp_path_factory.mktemp("warm")
    base = {
        **toy_tone_config(root, "test-warm"),
        "model": {"max_length": 24, "epochs": 2, "checkpoint_minutes": 0},
        "register": {"name": "tone-first"},
    }
    (root / "first.yaml").write_text(yaml.safe_dump(base))
    second = {**base, "register": {"name": "tone-second"}}
    second["model"] = {**base["model"], "init": str(root / "first.yaml"), "epochs": 1}
    (root / "second.yaml").write_text(yaml.safe_dump(second))
    return root


def _client(root):
    import mlflow

    return mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")


def test_second_stage_trains_the_first_and_starts_from_its_weights(stages):
    from pipeline.models.mlflow_model import load_classifier_from_uri
    from pipeline.training.api import train_from_config

    # lr ~ 0: the second stage's weights stay the first's, so its predictions must match them exactly;
    # a freshly initialised head would not
    summary = train_from_config(str(stages / "second.yaml"), [*TRANSFORMER, "model.lr=1e-12"])
    client = _client(stages)
    first = client.get_model_version_by_alias("tone-first", "champion")
    params = client.get_run(summary["run_id"]).data.params
    assert params["model.init"] == f"models:/tone-first/{first.version}"  # the config path, pinned

    first_model = load_classifier_from_uri(f"models:/tone-first/{first.version}")
    second_model = load_classifier_from_uri(f"models:/tone-second/{summary['version']}")
    np.testing.assert_allclose(
        second_model.window_logits(DEV)[0][0], first_model.window_logits(DEV)[0][0], atol=1e-4
    )
    assert summary["metrics"]["dev.toy.macro_f1"] == pytest.approx(
        client.get_run(first.run_id).data.metrics["dev.toy.macro_f1"]
    )

    again = train_from_config(str(stages / "second.yaml"), [*TRANSFORMER, "model.lr=1e-12"])
    assert again["reused"] and again["version"] == summary["version"]
    assert len(client.search_model_versions("name='tone-first'")) == 1  # the first stage was reused too


def test_an_alias_is_pinned_and_a_wrong_init_is_one_line(stages):
    from pipeline.config import load_config
    from pipeline.training.api import train_from_config
    from pipeline.training.config import TrainConfig
    from pipeline.training.warm_start import pin_init

    train_from_config(str(stages / "first.yaml"), list(TRANSFORMER))  # registered (or reused)
    config = load_config(str(stages / "second.yaml"), ["model.init=models:/tone-first@champion"],
                         model=TrainConfig)
    import mlflow

    mlflow.set_tracking_uri(config.tracking.uri)
    version = _client(stages).get_model_version_by_alias("tone-first", "champion").version
    pin_init(config)
    assert config.model.init == f"models:/tone-first/{version}"

    stance = [f"model.init=models:/tone-first/{version}", "task=stance", "labels=[against,neutral,favor]"]
    with pytest.raises(ConfigError, match="is a tone model with labels"):
        _init_only(str(stages / "second.yaml"), stance)
    with pytest.raises(ConfigError, match="not found in the MLflow store"):
        train_from_config(str(stages / "second.yaml"), ["model.init=models:/no-such-model@champion"])
    with pytest.raises(ConfigError, match="config file not found"):
        train_from_config(str(stages / "second.yaml"), ["model.init=missing/first.yaml"])
    with pytest.raises(ConfigError, match="model.kind: transformer"):
        load_config(str(stages / "second.yaml"), ["model.kind=baseline"], model=TrainConfig)


def _init_only(config_path: str, overrides: list[str]) -> None:
    from pipeline.config import load_config
    from pipeline.training.config import TrainConfig
    from pipeline.training.warm_start import classifier_from_init

    classifier_from_init(load_config(config_path, overrides, model=TrainConfig))
