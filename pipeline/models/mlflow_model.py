"""Classifiers as MLflow pyfunc models: log, register under a name and alias, load back by URI.

The pyfunc model takes a DataFrame with a ``text`` column (string) and an optional ``target`` column
(string; stance) and returns a DataFrame with ``label`` and one ``p_<label>`` column per class. The
classifier folder travels as the artifact ``classifier``; a minimal copy of this package's model code
travels as the model's code (``code_paths``), so a process that imports only ``mlflow`` and ``pandas``
can load and use it given the pinned requirements::

    mlflow.pyfunc.load_model("models:/stance@champion").predict(
        pandas.DataFrame({"text": ["..."], "target": ["..."]}))

The scoring stage uses :func:`load_classifier_from_uri` instead, which returns the classifier itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from pipeline.errors import ModelError
from pipeline.errors import first_line as _first_line
from pipeline.models.classifier import META_FILE, Classifier, load_classifier

ARTIFACT_KEY = "classifier"
MODEL_NAME = "model"  # the logged model's name inside the run


class ClassifierModel(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper: DataFrame(text[, target]) -> DataFrame(label, p_<label>...)."""

    def load_context(self, context):  # no type hints: MLflow would try to read a schema from them
        self.classifier = load_classifier(context.artifacts[ARTIFACT_KEY])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if "text" not in frame.columns:
            found = ", ".join(map(str, frame.columns))
            raise ValueError(f"expected a 'text' column, found columns: {found}")
        texts = ["" if pd.isna(t) else str(t) for t in frame["text"]]
        targets = None
        if "target" in frame.columns:
            targets = [None if pd.isna(t) else str(t) for t in frame["target"]]
        return predictions_frame(self.classifier, texts, targets)


def predictions_frame(
    classifier: Classifier, texts: list[str], targets: list[str | None] | None
) -> pd.DataFrame:
    probs = classifier.predict_proba(texts, targets)
    out = pd.DataFrame({"label": [classifier.labels[i] for i in probs.argmax(axis=1)] if len(texts) else []})
    for i, label in enumerate(classifier.labels):
        out[f"p_{label}"] = probs[:, i].astype(np.float64) if len(texts) else []
    return out


def requirements(classifier: Classifier) -> list[str]:
    """Pinned requirements: what the model code imports, at the installed versions."""
    from importlib.metadata import PackageNotFoundError, version

    from pipeline.models.locate import encoder_packages

    names = ["mlflow", "numpy", "pandas", "scikit-learn", "joblib", "scipy"]
    parts = getattr(classifier, "members", [classifier])  # an ensemble needs what its members need
    if any(p.kind == "transformer" or p.gate is not None for p in parts):
        names += ["torch", "transformers", "tokenizers", "safetensors"]
    for part in parts:
        if part.gate is not None:  # the gate's sentence encoder, where a package ships it
            names += encoder_packages(part.gate.encoder)
    out = []
    for name in dict.fromkeys(names):
        try:
            out.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            out.append(name)
    return out


MODEL_FROM_CODE = Path(__file__).with_name("pyfunc_code.py")
"""The file MLflow runs to build the pyfunc model when it loads it (MLflow's models from code)."""

MODEL_CODE = (
    "classifier.py", "ensemble.py", "mlflow_model.py", "locate.py", "relatedness.py", "embedder.py",
    "mpnet.py", "device.py",
)
"""The modules of ``pipeline/models`` a logged model carries (with ``pipeline/errors.py``)."""


def _model_code(tmp: Path) -> Path:
    """A minimal copy of the package: just what unpickling the pyfunc wrapper and loading needs."""
    import pipeline

    src = Path(pipeline.__file__).parent
    dst = tmp / "pipeline"
    (dst / "models").mkdir(parents=True)
    (dst / "__init__.py").write_text(f'__version__ = "{getattr(pipeline, "__version__", "0")}"\n')
    shutil.copy(src / "errors.py", dst / "errors.py")
    (dst / "models" / "__init__.py").write_text("")
    for name in MODEL_CODE:
        shutil.copy(src / "models" / name, dst / "models" / name)
    return dst


def signature_for(classifier: Classifier) -> Any:
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    inputs = [ColSpec("string", "text"), ColSpec("string", "target", required=False)]
    outputs = [ColSpec("string", "label")] + [ColSpec("double", f"p_{label}") for label in classifier.labels]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def log_classifier(
    classifier: Classifier, input_example: pd.DataFrame | None = None, name: str = MODEL_NAME
) -> Any:
    """Log ``classifier`` as a pyfunc model in the active run; returns MLflow's ModelInfo."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = classifier.save(Path(tmp) / ARTIFACT_KEY)
        code = _model_code(Path(tmp) / "code")
        if input_example is None:
            input_example = pd.DataFrame({"text": ["An example sentence."]})
            if classifier.target_mode != "none":
                input_example["target"] = ["example"]
        try:
            return mlflow.pyfunc.log_model(
                name=name,
                python_model=str(MODEL_FROM_CODE),  # models from code: nothing pickled
                artifacts={ARTIFACT_KEY: str(folder)},
                code_paths=[str(code)],
                signature=signature_for(classifier),
                input_example=input_example,
                pip_requirements=requirements(classifier),
            )
        except Exception as exc:
            raise ModelError(
                f"cannot log the {classifier.kind} classifier to MLflow: {_first_line(exc)}"
            ) from exc


def register(
    model_uri: str,
    name: str,
    alias: str | None = "champion",
    tags: dict[str, str] | None = None,
    description: str | None = None,
    run_id: str | None = None,
    task: str | None = None,
) -> str:
    """Register ``model_uri`` under ``name`` with ``tags``, point ``alias`` at it; returns the version.

    The version is linked to its LoggedModel (``models:/m-...``) and to the training run ``run_id``, so
    the version page shows its source run; nothing is printed (MLflow's own ``register_model`` prints).
    ``description``: the version's; ``task``: picks the registered model's description when it is new.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
    try:
        try:
            client.create_registered_model(name, description=REGISTERED_DESCRIPTION.get(task or ""))
        except MlflowException as exc:
            if "ALREADY_EXISTS" not in str(exc.error_code):
                raise
        version = client.create_model_version(
            name, model_uri, run_id=run_id, tags=tags or {}, description=description, model_id=model_id
        )
        if model_id:
            _link_version(client, model_id, version)
        if alias:
            client.set_registered_model_alias(name, alias, version.version)
    except Exception as exc:
        raise ModelError(f"cannot register {model_uri} as {name!r}: {_first_line(exc)}") from exc
    return str(version.version)


REGISTERED_DESCRIPTION = {
    "tone": "Tone of a news text: negative / neutral / positive. Trained by `pipeline train`; "
            "each version's description gives its data and dev figures.",
    "stance": "Stance of a news text toward a target (the first text of a pair): against / neutral "
              "/ favor. Trained by `pipeline train`; each version's description gives its data and "
              "dev figures.",
}


def _link_version(client: Any, model_id: str, version: Any) -> None:
    """Record the version on its LoggedModel (``mlflow.modelVersions``), as ``register_model`` does."""
    import json

    from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

    entry = [{"name": version.name, "version": version.version}]
    existing = client.get_logged_model(model_id).tags.get(MLFLOW_MODEL_VERSIONS)
    value = (json.loads(existing) if existing else []) + entry
    client.set_logged_model_tags(model_id, {MLFLOW_MODEL_VERSIONS: json.dumps(value)})


def find_version(name: str, tags: dict[str, str]) -> Any | None:
    """The newest registered version of ``name`` carrying all ``tags``, or None."""
    from mlflow import MlflowClient

    try:
        versions = MlflowClient().search_model_versions(f"name = '{name}'")
    except Exception:
        return None
    matching = [v for v in versions if all(v.tags.get(k) == str(t) for k, t in tags.items())]
    if not matching:
        return None
    return max(matching, key=lambda v: int(v.version))


def classifier_folder(folder: str | Path) -> Path:
    """The classifier folder inside a classifier folder, an MLflow model folder or a download of one."""
    folder = Path(folder)
    if (folder / META_FILE).is_file():
        return folder
    for candidate in (folder / "artifacts" / ARTIFACT_KEY, *sorted(folder.rglob(META_FILE))):
        candidate = candidate.parent if candidate.name == META_FILE else candidate
        if (candidate / META_FILE).is_file():
            return candidate
    raise ModelError(
        f"{folder}: neither a classifier folder ({META_FILE}) nor an MLflow model logged by pipeline train"
    )


def load_classifier_from_uri(uri_or_folder: str | Path) -> Classifier:
    """A classifier from a local folder (classifier or MLflow model) or an MLflow model URI.

    URIs: ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``runs:/RUN_ID/model``, ``models:/m-...``.
    The tracking store is whatever MLflow is pointed at (``pipeline.tracking.connect``). A model in a
    local artifact store is read in place; one in a remote store is downloaded once into
    :func:`model_cache` and read from there afterwards (a registered version never changes).
    """
    text = str(uri_or_folder)
    local = Path(text).expanduser()
    if local.exists():
        return load_classifier(classifier_folder(local))
    if "://" not in text and ":/" not in text:
        raise ModelError(
            f"model not found: {text} is neither a folder nor a model URI (e.g. models:/tone@champion)"
        )
    try:
        source = artifact_location(text)
        folder = local_path(source) or download_once(source)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(
            f"model {text} not found in the MLflow store {mlflow.get_tracking_uri()} ({_first_line(exc)}); "
            "check the name and alias, or train it with `pipeline train`"
        ) from None
    return load_classifier(classifier_folder(folder))


def registered_version(uri: str) -> Any | None:
    """The registered ModelVersion that ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` names.

    None for other URIs (``runs:/``, ``models:/m-<id>``); MLflow raises when the name, alias or
    version is unknown.
    """
    if not uri.startswith("models:/"):
        return None
    name_ref = uri.removeprefix("models:/")
    client = mlflow.MlflowClient()
    if "@" in name_ref:
        name, alias = name_ref.split("@", 1)
        return client.get_model_version_by_alias(name, alias)
    if "/" in name_ref:
        name, number = name_ref.split("/", 1)
        return client.get_model_version(name, number)
    return None


def artifact_location(uri: str) -> str:
    """Where a model URI's files are: a registered version's download URI, else the URI itself."""
    version = registered_version(uri)
    if version is None:
        return uri  # runs:/..., models:/m-<id>: resolved by MLflow itself
    return mlflow.MlflowClient().get_model_version_download_uri(version.name, version.version)


def local_path(location: str) -> Path | None:
    """The folder behind a ``file://`` or plain-path location, when it exists on this machine."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(location)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
    elif parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        path = Path(location)
    else:
        return None
    return path if path.is_dir() else None


def model_cache() -> Path:
    """Downloaded models: ``models/`` in ``$PIPELINE_CACHE`` (default ``~/.cache/pipeline``)."""
    from pipeline.models.locate import cache_dir

    return cache_dir() / "models"


def download_once(location: str) -> Path:
    """Download a model's files into the cache unless they are there; never leaves a partial copy."""
    import hashlib

    target = model_cache() / hashlib.sha256(location.encode()).hexdigest()[:24]
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
    try:
        mlflow.artifacts.download_artifacts(artifact_uri=location, dst_path=str(partial))
        partial.rename(target)
    except OSError:
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target
