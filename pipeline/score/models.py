"""Load the classifiers a run scores with, once per process, by model URI, folder or Hub id."""

from __future__ import annotations

from functools import cache

from pipeline.errors import ModelError


def check_model_reference(reference: str) -> None:
    """Fail fast, before any work, when a models:/ URI or a local folder does not exist."""
    from pathlib import Path

    if reference.startswith("models:/"):
        import mlflow

        name_alias = reference.removeprefix("models:/")
        client = mlflow.MlflowClient()
        try:
            if "@" in name_alias:
                name, alias = name_alias.split("@", 1)
                client.get_model_version_by_alias(name, alias)
            else:
                name, _, version = name_alias.partition("/")
                if version:
                    client.get_model_version(name, version)
                else:
                    client.get_registered_model(name)
        except Exception:
            raise ModelError(
                f"model {reference} is not in the registry at {mlflow.get_tracking_uri()}: "
                "train and register it first (pipeline train CONFIG), or fix the name or alias"
            ) from None
    elif reference.startswith((".", "/", "~")) and not Path(reference).expanduser().exists():
        raise ModelError(f"model folder not found: {reference}")


@cache
def load_classifier(reference: str):
    """A classifier with `labels` and `predict_proba(texts, targets)`; loaded once per process."""
    from pipeline.models.mlflow_model import load_classifier_from_uri

    return load_classifier_from_uri(reference)
