"""Continue training a trained classifier (``model.init``) instead of a bare encoder.

A common recipe when the target data is small: fine-tune on everything labelled first, then again on
the target domain alone at a lower rate. ``model.init`` names the first stage: a model URI, a classifier
folder, or the training config that produces it (trained first, or reused when it is registered).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.models.classifier import TransformerClassifier
    from pipeline.training.config import TrainConfig

CONFIG_SUFFIXES = (".yaml", ".yml")


def pin_init(config: TrainConfig) -> None:
    """Replace a config path or an alias in ``model.init`` by ``models:/NAME/VERSION``, in place.

    A config is trained (or its registered model reused) first. Called before hashing, so a changed
    first stage changes the second stage's hash. Needs the tracking store connected.
    """
    init = config.model.init
    if not init:
        return
    if init.lower().endswith(CONFIG_SUFFIXES):
        from pipeline.training.api import train_from_config

        if not Path(init).is_file():
            raise ConfigError(
                f"model.init: config file not found: {init} (paths are relative to the working directory)"
            )
        summary = train_from_config(init, [])
        if summary.get("version") is None:
            raise ConfigError(f"model.init: {init} does not register its model (register.enabled: false)")
        config.model.init = f"models:/{summary['name']}/{summary['version']}"
    elif init.startswith("models:/") and "@" in init:
        import mlflow

        name, alias = init.removeprefix("models:/").split("@", 1)
        try:
            version = mlflow.MlflowClient().get_model_version_by_alias(name, alias)
        except Exception:
            raise ConfigError(
                f"model.init: {init} not found in the MLflow store {mlflow.get_tracking_uri()}; "
                "check the name and alias"
            ) from None
        config.model.init = f"models:/{name}/{version.version}"


def classifier_from_init(config: TrainConfig) -> TransformerClassifier:
    """The classifier ``model.init`` names, ready to train further with this config's settings."""
    from pipeline.models.classifier import TransformerClassifier
    from pipeline.models.mlflow_model import load_classifier_from_uri

    init = str(config.model.init)
    trained = load_classifier_from_uri(init)
    if not isinstance(trained, TransformerClassifier):
        raise ConfigError(
            f"model.init: {init} is a {trained.kind} model; only a transformer can be trained further"
        )
    if trained.task != config.task or trained.labels != config.label_list:
        raise ConfigError(
            f"model.init: {init} is a {trained.task} model with labels {trained.labels}; this config "
            f"trains {config.task} with labels {config.label_list}"
        )
    return TransformerClassifier(
        trained.model,
        trained.tokenizer,
        config.label_list,
        config.task,
        max_length=config.model.max_length,
        encoder=trained.encoder,
        batch_size=config.model.eval_batch_size,
        bf16=config.model.bf16,
    )
