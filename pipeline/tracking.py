"""All run tracking goes through here: store resolution, runs that always end, params, artifacts."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pipeline.config import TrackingConfig, flatten, to_yaml
from pipeline.errors import TrackingError, first_line

DEFAULT_DB = "mlflow.db"
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"  # the UI opens runs, charts and compare first (not GenAI)
MAX_PARAM_CHARS = 6000
SECRET_WORDS = {"token", "key", "apikey", "password", "passwd", "secret", "credentials"}

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars for local copies
_ANSWERED: set[str] = set()  # stores already checked in this process


def resolve_uri(config: TrackingConfig) -> str:
    """Config, else $MLFLOW_TRACKING_URI, else a SQLite file in the working directory."""
    if config.uri:
        return config.uri
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{Path.cwd() / DEFAULT_DB}"


def is_local(uri: str) -> bool:
    return urlparse(uri).scheme in ("", "file", "sqlite")


UI_VIEW = "workflowType=machine_learning"
"""MLflow 3.17's UI shows GenAI or model-training pages by a per-browser switch, not by the experiment's
kind; this URL parameter opens the model-training pages (runs table, charts, compare, registry)."""


def ui_url(base: str, experiment_id: str | None = None, run_id: str | None = None) -> str:
    """The UI page of an experiment's runs, or of one run, in the model-training view."""
    path = "#/experiments"
    if experiment_id is not None:
        path += f"/{experiment_id}/runs" + (f"/{run_id}" if run_id else "")
    return f"{base.rstrip('/')}/{path}?{UI_VIEW}"


def find_experiment(name: str) -> str | None:
    """The id of experiment ``name`` in the current store, or None (nothing is created)."""
    import mlflow

    try:
        found = mlflow.get_experiment_by_name(name)
    except Exception:  # a store that does not answer: the UI will say so
        return None
    return None if found is None else found.experiment_id


def connect(config: TrackingConfig) -> str:
    """Point MLflow at the store and check that it answers; fail fast with one line if not."""
    import mlflow

    if not os.environ.get("PIPELINE_DEBUG"):  # `--debug` keeps MLflow's INFO log
        for name in ("mlflow", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
    uri = resolve_uri(config)
    mlflow.set_tracking_uri(uri)
    if uri in _ANSWERED:
        return uri
    if urlparse(uri).scheme in ("http", "https"):
        _check_server(uri)
    else:
        try:
            mlflow.MlflowClient().search_experiments(max_results=1)
        except Exception as exc:  # the store's own error types vary by backend
            raise TrackingError(f"cannot open the MLflow store {uri}: {first_line(exc, 500)}") from None
    _ANSWERED.add(uri)
    return uri


def _check_server(uri: str) -> None:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=5) as response:
            if response.status != 200:
                raise TrackingError(f"MLflow server at {uri} answered {response.status} on /health")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingError(
            f"MLflow tracking server {uri} is not reachable ({reason}): start it, or set tracking.uri"
        ) from None


def experiment_id(name: str, config: TrackingConfig) -> str:
    """The id of experiment ``name``, created with an explicit artifact folder on local stores.

    Every experiment the project writes to is marked as a model-training experiment
    (:data:`EXPERIMENT_KIND`), so that the UI shows its runs table, charts and compare view first; an
    existing experiment gets the tag on its next run.
    """
    import mlflow

    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        _mark_kind(found)
        return found.experiment_id
    location = None
    if is_local(resolve_uri(config)):
        folder = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "experiment"
        location = (Path(config.artifact_root).expanduser().resolve() / folder).as_uri()
    try:
        return mlflow.create_experiment(
            name, artifact_location=location, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
        )
    except Exception as exc:
        found = mlflow.get_experiment_by_name(name)  # created by a concurrent process
        if found is None:
            raise TrackingError(f"cannot create MLflow experiment {name!r}: {first_line(exc, 500)}") from None
        _mark_kind(found)
        return found.experiment_id


def _mark_kind(experiment: Any) -> None:
    """Tag an existing experiment as model training, unless it already is."""
    import mlflow

    if experiment.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
        client = mlflow.MlflowClient()
        client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)


@contextlib.contextmanager
def run(
    name: str,
    experiment: str | None = None,
    *,
    nested: bool = False,
    tags: Mapping[str, str] | None = None,
    resume: str | None = None,
) -> Iterator[Any]:
    """Start a run that always ends: FINISHED, FAILED on an exception, KILLED on Ctrl-C.

    The error is recorded as the tag ``error`` before the run is ended. ``resume``: the id of an
    earlier run to continue; when it is gone, a new run is started with the tag ``resumes``.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    tags = {k: redact(v) for k, v in (tags or {}).items() if not looks_secret(k)}
    active = None
    if resume:
        try:
            active = mlflow.start_run(run_id=resume, nested=nested)
        except MlflowException:
            tags["resumes"] = resume
    if active is None:
        active = mlflow.start_run(run_name=name, experiment_id=experiment, nested=nested, tags=tags)
    try:
        yield active
    except KeyboardInterrupt as exc:
        _end_with_error(active, "KILLED", f"interrupted ({exc or 'KeyboardInterrupt'})")
        raise
    except BaseException as exc:
        _end_with_error(active, "FAILED", f"{type(exc).__name__}: {first_line(exc, 500)}")
        raise
    else:
        mlflow.end_run("FINISHED")


def _end_with_error(active: Any, status: str, message: str) -> None:
    import mlflow

    with contextlib.suppress(Exception):
        mlflow.set_tag("error", message[:5000])
    # end this run even if a nested run is still marked active
    while mlflow.active_run() is not None and mlflow.active_run().info.run_id != active.info.run_id:
        mlflow.end_run(status)
    mlflow.end_run(status)


def log_params(params: Mapping[str, Any]) -> None:
    """Log flat params with MLflow's limits: long values truncated, secrets never logged."""
    import mlflow

    clean = {k: _param_value(redact(v)) for k, v in params.items() if not looks_secret(k)}
    items = list(clean.items())
    for start in range(0, len(items), 100):
        mlflow.log_params(dict(items[start : start + 100]))


def log_config(config: Any, prefix: str = "") -> None:
    """The resolved config: flattened as params and whole as `config.yaml`."""
    import mlflow

    flat = flatten(config.model_dump(mode="json"))
    log_params({f"{prefix}{k}": v for k, v in flat.items()})
    mlflow.log_text(redact(to_yaml(config)), "config.yaml")


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    import mlflow

    mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None}, step=step)


def log_dataframe(frame: Any, name: str, formats: tuple[str, ...] = ("parquet", "csv")) -> None:
    """Log a pandas table as artifacts `name.parquet` / `name.csv`."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        for fmt in formats:
            path = Path(tmp) / f"{name}.{fmt}"
            if fmt == "parquet":
                frame.to_parquet(path, index=False)
            elif fmt == "csv":
                frame.to_csv(path, index=False)
            elif fmt == "jsonl":
                frame.to_json(path, orient="records", lines=True, force_ascii=False)
            mlflow.log_artifact(str(path))


def log_file(path: str | Path, artifact_file: str) -> None:
    """Log a local file under the artifact path ``artifact_file`` (folder/name)."""
    import mlflow

    folder, _, _ = artifact_file.rpartition("/")
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / Path(artifact_file).name
        shutil.copyfile(path, target)  # streamed: a large file is never held in memory
        mlflow.log_artifact(str(target), artifact_path=folder or None)


def log_text(text: str, artifact_file: str) -> None:
    import mlflow

    mlflow.log_text(text, artifact_file)


def set_tags(tags: Mapping[str, str]) -> None:
    import mlflow

    mlflow.set_tags({k: redact(v) for k, v in tags.items() if not looks_secret(k)})


def looks_secret(name: str) -> bool:
    """Names like API_TOKEN, aws.secret_key or db-password are never logged."""
    words = {w for w in re.split(r"[^a-z0-9]+", name.lower()) if w}
    return bool(words & SECRET_WORDS)


_URL_SECRET = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@")


def redact(value: Any) -> Any:
    """A password inside a URL (``https://user:PASSWORD@host``) replaced by ``***``."""
    return _URL_SECRET.sub(r"\1***@", value) if isinstance(value, str) else value


def _param_value(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."
