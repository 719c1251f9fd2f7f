"""What a run read and used, in MLflow's own terms, so that the UI shows it.

- the input article or corpus as an MLflow dataset input (digest of its bytes, its path as source);
- the registered model versions it scored with, as model inputs (the run page lists them under
  "Logged models" and "Registered models", the runs table in its "Models" column), with
  ``model.<role>.version`` run tags and a ``last_used_by_run`` tag on each version;
- its article-level metrics of each role (``tone.*``, ``stance.*``) linked to the LoggedModel behind the
  version that scored, on the dataset it read: that model's page (a version page's "Source Model")
  lists the run under "Runs";
- the code version (``mlflow.source.git.commit`` and ``code.version``);
- the per-section table through ``mlflow.log_table``, which the UI shows and compares across runs.

Everything here writes to the active run; the callers in `pipeline.runner` and `pipeline.corpus` decide
when. No function here raises for a lineage detail that cannot be recorded (a model given as a folder
or Hub id has no registered version: it is simply not listed).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

LAST_USED_TAG = "last_used_by_run"  # on a model version: the latest run that scored with it
SCORING_CONTEXT = "scoring"  # the dataset input's context tag: what the run did with it
SECTIONS_TABLE = "sections_table.json"  # the table the UI's artifact and compare views show
TEXT_CHARS = 300  # section text kept per row of the UI table (the full text is in sections.parquet)
DOC_SUFFIXES = (".txt", ".html", ".htm", ".md", ".jsonl", ".parquet")


def content_digest(path: Path) -> str:
    """A 16-hex digest of a file's bytes, or of a folder's article files (relative names and bytes)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.suffix.lower() in DOC_SUFFIXES
    )
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with contextlib.suppress(OSError), file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _local_source(path: Path) -> Any:
    """MLflow's dataset source for a local path (type ``local``, the absolute path as URI)."""
    from mlflow.data.dataset_source_registry import get_registered_sources

    source_class = next(s for s in get_registered_sources() if s._get_source_type() == "local")
    return source_class(str(path.resolve()))


def log_article_input(path: Path, paragraphs: pd.DataFrame, name: str | None = None) -> Any:
    """The article a run read: its paragraphs as the dataset, the file's bytes as its digest; returns
    the dataset."""
    import mlflow
    from mlflow.data.pandas_dataset import PandasDataset

    dataset = PandasDataset(
        paragraphs.reset_index(drop=True),
        source=_local_source(path),
        name=name or path.name,
        digest=content_digest(path),
    )
    mlflow.log_input(dataset, context=SCORING_CONTEXT)
    return dataset


def log_corpus_input(path: Path, columns: Iterable[str] = ("id", "text")) -> None:
    """A corpus a run read, without loading it: name, source, digest of its files and its columns."""
    import mlflow
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.types.schema import ColSpec, Schema

    schema = Schema([ColSpec("string", c) for c in columns])
    dataset = MetaDataset(_local_source(path), name=path.name, digest=content_digest(path), schema=schema)
    mlflow.log_input(dataset, context=SCORING_CONTEXT)


def log_model_inputs(models: Mapping[str, str], tag_versions: bool = True) -> dict[str, str]:
    """Link the registered versions behind ``models`` (role -> URI) to the active run.

    Each version's own LoggedModel and its :func:`reference_model` for the top run (a stage run uses
    its parent's) become the run's model inputs. Returns role -> ``NAME/VERSION`` for the models that
    are registered versions; these are also set as the run tags ``model.<role>.version``, and
    (``tag_versions``) each version gets the tag ``last_used_by_run`` with this run's id.
    """
    import mlflow
    from mlflow.entities import LoggedModelInput

    run = mlflow.active_run()
    if run is None or not models:
        return {}
    client = mlflow.MlflowClient()
    versions = {role: _version(uri) for role, uri in models.items()}
    model_ids = [logged_model_id(v, models[r]) for r, v in versions.items()]
    top = client.get_run(run.info.run_id).data.tags.get("mlflow.parentRunId") or run.info.run_id
    experiment = run.info.experiment_id
    model_ids += [reference_model(client, experiment, v, top) for v in versions.values() if v is not None]
    inputs = [LoggedModelInput(m) for m in dict.fromkeys(filter(None, model_ids))]
    if inputs:
        client.log_inputs(run.info.run_id, models=inputs)
    used = {role: f"{v.name}/{v.version}" for role, v in versions.items() if v is not None}
    for version in filter(None, versions.values() if tag_versions else []):
        with contextlib.suppress(Exception):  # a read-only registry: the run's own record is enough
            client.set_model_version_tag(version.name, version.version, LAST_USED_TAG, run.info.run_id)
    if used:
        mlflow.set_tags({f"model.{role}.version": v for role, v in used.items()})
    return used


REFERENCE_TAG = "pipeline.registered_version"  # on a reference model: NAME/VERSION it stands for


def reference_model(client: Any, experiment_id: str, version: Any, run_id: str) -> str | None:
    """A files-less LoggedModel in the run's experiment, made by run ``run_id``, that stands for the
    registered ``version``; created once per run and version.

    MLflow 3.17's UI finds a run's models only in the run's own experiment: the run page looks its model
    inputs up there, and the runs table's "Models" column shows that experiment's models whose source
    run is the row's run. A classifier is logged in its training experiment, so each scoring run gets
    one "external" model per version it used (MLflow's term for a model whose files live elsewhere),
    with the run as its source and tagged with the version (``mlflow.modelVersions``, as a registered
    model is): both pages then show ``NAME vVERSION``, linked to the version's page.
    """
    import json

    from mlflow.utils.mlflow_tags import MLFLOW_MODEL_IS_EXTERNAL, MLFLOW_MODEL_VERSIONS

    key = f"{version.name}/{version.version}"
    try:
        query = f"tags.`{REFERENCE_TAG}` = '{key}' AND source_run_id = '{run_id}'"
        found = client.search_logged_models([experiment_id], filter_string=query, max_results=1)
        if found:
            return found[0].model_id
        tags = {REFERENCE_TAG: key, MLFLOW_MODEL_IS_EXTERNAL: "true", "pipeline.training_run": version.run_id,
                MLFLOW_MODEL_VERSIONS: json.dumps([{"name": version.name, "version": str(version.version)}])}
        model = client.create_logged_model(experiment_id, name=f"{version.name}-v{version.version}",
                                           source_run_id=run_id, tags=tags, model_type="registered")
        client.finalize_logged_model(model.model_id, "READY")
        return model.model_id
    except Exception:  # a store without logged models: the tags still say which version was used
        return None


def log_metrics_for_models(metrics: Mapping[str, float], models: Mapping[str, str],
                           dataset: Any | None = None) -> None:
    """Log ``metrics`` to the active run, each ``<role>.*`` one linked to the LoggedModel behind the
    registered version in ``models`` (role -> URI) and to ``dataset`` (name and digest).

    MLflow stores such a metric with the run and with the model; the model's page lists the runs its
    metrics came from ("Runs", with their dataset), so a version's "Source Model" page shows every run
    that scored with it. Metrics of no role, or of a model without a LoggedModel (a folder, a Hub id),
    are logged to the run only.
    """
    import mlflow
    from mlflow.entities import Metric
    from mlflow.utils.time import get_current_time_millis

    run = mlflow.active_run()
    if run is None:
        return
    ids = {role: logged_model_id(_version(uri), uri) for role, uri in models.items()}
    name, digest = (dataset.name, dataset.digest) if dataset is not None else (None, None)
    now = get_current_time_millis()
    batch = []
    for key, value in metrics.items():
        if value is None:
            continue
        model_id = ids.get(key.split(".", 1)[0])
        linked = {"model_id": model_id, "dataset_name": name, "dataset_digest": digest} if model_id else {}
        batch.append(Metric(key, float(value), now, 0, **linked))
    client = mlflow.MlflowClient()
    for start in range(0, len(batch), 1000):  # MLflow's batch limit
        client.log_batch(run.info.run_id, metrics=batch[start : start + 1000])


def _version(uri: str) -> Any | None:
    """The registered version a URI names, or None (a folder, a Hub id, a run URI, a gone version)."""
    from pipeline.models.mlflow_model import registered_version

    try:
        return registered_version(uri)
    except Exception:
        return None


def logged_model_id(version: Any | None, uri: str) -> str | None:
    """The LoggedModel behind a registered version (its ``model_id``, else its ``models:/m-...`` source;
    a SQL registry keeps only the source), or behind a ``models:/m-...`` URI; else None."""
    for candidate in (getattr(version, "model_id", None), getattr(version, "source", None), uri):
        if candidate and candidate.startswith("m-"):
            return candidate
        ref = candidate.removeprefix("models:/") if candidate and candidate.startswith("models:/") else ""
        if ref.startswith("m-") and "/" not in ref:
            return ref
    return None


@functools.lru_cache(maxsize=1)
def code_version() -> dict[str, str]:
    """The package version and, in a git checkout, its commit (with ``-dirty`` for local changes)."""
    import pipeline

    tags = {"code.version": getattr(pipeline, "__version__", "0")}
    folder = Path(pipeline.__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=folder, capture_output=True,
                               text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return tags
    if commit:
        tags["mlflow.source.git.commit"] = commit
        tags["code.version"] += f"+{commit[:10]}" + ("-dirty" if dirty else "")
    return tags


def describe_run(input_path: Path, used: Mapping[str, str], overrides: Iterable[str] | None = None) -> None:
    """The run's description (``mlflow.note.content``, shown at the top of its page): what it read,
    which model versions it scored with, and the settings given with ``--set``."""
    import mlflow

    lines = [f"Read `{input_path.name}`."]
    if used:
        lines.append("Scored with " + ", ".join(f"{role} `{v}`" for role, v in used.items()) + ".")
    shown = [o for o in overrides or [] if not o.startswith("tracking.")]
    if shown:
        lines.append("Settings given with `--set`: " + ", ".join(f"`{o}`" for o in shown) + ".")
    mlflow.set_tag("mlflow.note.content", "\n\n".join(lines))


def log_code_version() -> None:
    import mlflow

    mlflow.set_tags(code_version())


def section_table(rows: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The per-section table for the UI: a ``section`` key, tone and stance first, short text, at most
    ``limit`` rows.

    Rows beyond ``limit`` are a stable sample: the articles whose id hashes lowest, so two runs over
    the same corpus show the same articles side by side.
    """
    frame = rows.copy()
    if "index" in frame.columns and "section_index" not in frame.columns:
        frame = frame.rename(columns={"index": "section_index"})
    if len(frame) > limit:
        order = frame["article_id"].map(lambda i: hashlib.sha256(str(i).encode()).hexdigest())
        frame = frame.assign(_order=order).sort_values(["_order", "section_index"]).drop(columns="_order")
        frame = frame.head(limit)
    keys = zip(frame["article_id"], frame["section_index"], strict=True)
    frame.insert(0, "section", [f"{a} §{i}" for a, i in keys])
    if "tone_label" in frame.columns or any(c.endswith(".stance_label") for c in frame.columns):
        frame.insert(1, "scores", [_scores(row) for row in frame.to_dict("records")])
    frame = frame.drop(columns=["key"], errors="ignore")
    if "text" in frame.columns:
        frame["text"] = frame["text"].map(_short)
    return frame[_column_order(list(frame.columns))].reset_index(drop=True)


def _scores(row: dict) -> str:
    """One cell with a section's tone and its stance toward each target it mentions:
    ``negative -0.42 | Iran: against -0.31``: what the compare view shows first, side by side."""
    parts = []
    if isinstance(row.get("tone_label"), str):
        parts.append(f"{row['tone_label']} {row['tone_score']:+.2f}")
    for column, label in row.items():
        if column.endswith(".stance_label") and isinstance(label, str):
            target = column.removesuffix(".stance_label")
            parts.append(f"{target}: {label} {row[f'{target}.stance_score']:+.2f}")
    return " | ".join(parts)


def _column_order(columns: list[str]) -> list[str]:
    """The UI compares the column after the key by default: the scores cell first, then tone, stance
    labels and scores, heading and text, the probabilities and counts last."""
    first = ["section", "scores", "tone_label", "tone_score"]
    stance = [c for c in columns if c.endswith((".stance_label", ".stance_score"))]
    middle = ["heading", "n_words", "text"]
    head = [c for c in first + stance + middle if c in columns]
    return head + [c for c in columns if c not in head]


def _short(text: object) -> object:
    if not isinstance(text, str) or len(text) <= TEXT_CHARS:
        return text
    return text[:TEXT_CHARS] + "…"


def log_section_table(rows: pd.DataFrame, limit: int, run_id: str | None = None) -> None:
    """Log :func:`section_table` with ``mlflow.log_table`` (nothing when ``limit`` is 0 or no rows)."""
    import mlflow

    if limit <= 0 or rows.empty:
        return
    table = section_table(rows, limit)
    text_columns = table.select_dtypes(include=["string"]).columns  # pandas 3 strings: MLflow asks for object
    table = table.astype(dict.fromkeys(text_columns, object))
    mlflow.log_table(table, SECTIONS_TABLE, run_id=run_id)
