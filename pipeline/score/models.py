"""Load the classifiers a run scores with, once per process per resolved model.

The in-process cache is keyed by what a reference resolves to now (`pipeline.keys.resolve_model`:
the store and registered version, the run, or a digest of a folder), never by the reference string:
in a notebook or a service that outlives one job, a moved alias or a second tracking store loads
the model it now names.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from pipeline.errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.keys import ResolvedModel

_LOADED: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


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


def load_classifier(reference: str) -> Any:
    """A classifier with `labels` and `predict_proba(texts, targets)` for what ``reference`` names now;
    loaded once per process per resolved model."""
    from pipeline.keys import resolve_model

    return load_resolved(resolve_model(reference))


def load_resolved(model: ResolvedModel, device: str = "cpu") -> Any:
    """The classifier a resolved model names on a device setting (``auto``, ``cpu``, ``cuda:N``),
    loaded once per process per device (keyed by its identity)."""
    from pipeline.models.device import place_classifier, resolve_device
    from pipeline.models.mlflow_model import load_classifier_from_uri

    where = resolve_device(device)
    with _LOCK:
        found = _LOADED.get((model.identity, where))
        if found is None:
            found = load_classifier_from_uri(model.uri)
            _LOADED[(model.identity, where)] = place_classifier(found, where)
    return found


def clear_loaded() -> None:
    """Forget the classifiers loaded in this process."""
    with _LOCK:
        _LOADED.clear()
