"""Continue training a trained classifier (``model.init``) instead of a bare encoder.

A common recipe when the target data is small: fine-tune on everything labelled first, then again on
the target domain alone at a lower rate. ``model.init`` names the first stage: a model URI, a classifier
folder, or the training config that produces it (trained first, or reused when it is registered).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.errors import ConfigError
from pipeline.training.model_refs import inherited_settings, pin_model_ref

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.models.classifier import TransformerClassifier
    from pipeline.training.config import TrainConfig


def pin_init(config: TrainConfig) -> None:
    """Replace a config path or an alias in ``model.init`` by ``models:/NAME/VERSION``, in place.

    A config is trained (or its registered model reused) first. Called before hashing, so a changed
    first stage changes the second stage's hash. Needs the tracking store connected.
    """
    if config.model.init:
        config.model.init = pin_model_ref(config.model.init, "model.init", inherited_settings(config))


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
