"""Model references in a training config (``model.init``, ``model.members``), pinned before hashing.

A reference is a model URI (``models:/NAME@ALIAS`` or ``/VERSION``, ``runs:/...``), a classifier
folder, or a training config (.yaml) that is trained, or reused when registered, first, with the
referring config's ``data.root`` and tracking store. An alias or a
config is replaced by ``models:/NAME/VERSION``, so a config's hash (and so reuse and resume) sees
exactly which model it builds on.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.training.config import TrainConfig

CONFIG_SUFFIXES = (".yaml", ".yml")


def is_config(ref: str) -> bool:
    return ref.lower().endswith(CONFIG_SUFFIXES)


def inherited_settings(config: TrainConfig) -> list[str]:
    """Overrides a referenced config is trained with: this config's data location and tracking store,
    so ``--set data.root=...`` reaches the models it builds on and they register where it looks."""
    out = [f"data.root={config.data.root}", f"tracking.artifact_root={config.tracking.artifact_root}"]
    return out + ([f"tracking.uri={config.tracking.uri}"] if config.tracking.uri else [])


def pin_model_ref(ref: str, setting: str, overrides: list[str] | None = None) -> str:
    """``ref`` as ``models:/NAME/VERSION`` where it is a config or an alias; other references unchanged.

    A config is trained (or reused) with ``overrides``. ``setting`` names the config key in errors
    (e.g. ``model.init``). Needs the tracking store connected.
    """
    if is_config(ref):
        from pipeline.training.api import train_from_config

        if not Path(ref).is_file():
            raise ConfigError(
                f"{setting}: config file not found: {ref} (paths are relative to the working directory)"
            )
        summary = train_from_config(ref, overrides or [])
        if summary.get("version") is None:
            raise ConfigError(f"{setting}: {ref} does not register its model (register.enabled: false)")
        return f"models:/{summary['name']}/{summary['version']}"
    if ref.startswith("models:/") and "@" in ref:
        import mlflow

        from pipeline.models.mlflow_model import registered_version

        try:
            version = registered_version(ref)
        except Exception:
            raise ConfigError(
                f"{setting}: {ref} not found in the MLflow store {mlflow.get_tracking_uri()}; "
                "check the name and alias"
            ) from None
        return f"models:/{version.name}/{version.version}"
    return ref


def registered_data_hash(ref: str) -> str | None:
    """The ``data_hash`` tag of the registered version a pinned ``models:/NAME/VERSION`` names, else None."""
    if not ref.startswith("models:/"):
        return None
    from pipeline.models.mlflow_model import registered_version

    try:
        version = registered_version(ref)
    except Exception:
        return None
    return None if version is None else version.tags.get("data_hash")
