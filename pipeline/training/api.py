"""The two entry points the CLI calls: ``train_from_config`` and ``evaluate_model``.

``train_from_config`` loads a :class:`TrainConfig`, loads and checks the data, and — unless a model
version trained from the same config and data is already registered (``reuse``) — trains, evaluates,
calibrates, logs and registers the classifier in one MLflow run:

- params: the resolved config, flattened (and ``config.yaml``); tags ``config_hash``, ``data_hash``,
  ``code_hash`` (the trainer's code, library versions, precision and encoder weights: a model is reused
  only when all three match);
- inputs: every source's split as an MLflow data set (context ``training`` / ``validation`` / ``testing``);
- metrics: ``dev.macro_f1``, ``dev.accuracy``, ``dev.{f1,precision,recall}.<label>``,
  ``dev.<source>.macro_f1`` / ``.accuracy`` / ``.f1.<label>`` (each class the source has),
  ``dev.score`` and ``dev.mean.macro_f1`` (mean of the sources' macro-F1, less those with ``in_mean:
  false``: the checkpoint criterion),
  ``dev.ece``, ``dev.ece_calibrated``, ``dev.nll``, ``dev.nll_calibrated``,
  ``dev.temperature``, ``train.seconds``, ``train.peak_rss_mb``, ``train.rows``, ``train.truncated``
  and, per step, ``train.loss`` and ``checkpoint.dev.*`` (each dev check during training);
  ``test.*`` likewise when a source feeds ``test``;
- artifacts: ``plots/confusion_dev.png``, ``plots/reliability_dev.png``, ``dev_predictions.parquet``;
- the model (pyfunc, logged from code) registered as ``register.name`` (default: the task) with
  ``register.alias``, linked to this run, with a description and the dev figures as tags
  (`pipeline.training.model_card`).
"""

from __future__ import annotations

import resource
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Collection

    import pandas as pd

    from pipeline.models.classifier import Classifier
    from pipeline.training.checkpoints import TrainCheckpoints
    from pipeline.training.config import TrainConfig
    from pipeline.training.data import Splits
    from pipeline.training.distill import DistillData


def train_from_config(config_path: str | None, overrides: list[str], fresh: bool = False) -> dict[str, Any]:
    """Train (or reuse) the classifier a config describes; returns a summary dict.

    A transformer's training state is saved every ``model.checkpoint_minutes``; rerunning the same
    config resumes it in the same MLflow run (``fresh``: discard it and start over).

    Keys: ``run_id``, ``model_uri`` (``models:/NAME@ALIAS``, None when registering is off), ``name``,
    ``alias``, ``version``, ``reused``, ``config_hash``, ``data_hash`` and ``metrics`` (dev/test/train
    figures as logged).
    """
    from pipeline import lineage, tracking
    from pipeline.config import load_config
    from pipeline.interrupts import sigterm_as_interrupt
    from pipeline.training.config import TrainConfig
    from pipeline.training.data import files_hash, load_splits
    from pipeline.training.warm_start import pin_init

    config: TrainConfig = load_config(config_path, overrides, model=TrainConfig)  # type: ignore[assignment]
    if config.model.init or config.model.members:  # models it builds on: pinned to versions before hashing
        from pipeline.training.ensemble import pin_members

        tracking.connect(config.tracking)
        pin_init(config)
        pin_members(config)
    teacher = None
    if config.distill is not None:  # the teacher's resolved identity goes into the hashes
        from pipeline.training.distill import pin_teacher

        tracking.connect(config.tracking)
        teacher = pin_teacher(config)
    name, alias = config.model_name, config.register.alias
    reuse = config.reuse and config.register.enabled
    files, config_hash, code = files_hash(config), config.config_hash(), code_hash(config)
    if reuse and files:  # fast path: same config, code and file bytes, without loading the data
        tracking.connect(config.tracking)
        found = _reuse(name, alias, {"config_hash": config_hash, "code_hash": code, "files_hash": files})
        if found is not None:
            return found
    splits = load_splits(config)
    hashes = {"config_hash": config_hash, "code_hash": code, "data_hash": splits.data_hash()}
    tracking.connect(config.tracking)
    experiment = tracking.experiment_id(config.experiment, config.tracking)

    if reuse:
        found = _reuse(name, alias, hashes, files)
        if found is not None:
            return found

    run_name = config.run_name or f"{config.task}-{_model_short(config)}-{time.strftime('%Y%m%d-%H%M%S')}"
    tags = {**hashes, "task": config.task, "model.kind": config.model.kind}
    if config.model.relatedness_gate:  # fail now, not after hours of training
        from pipeline.models.relatedness import gate_pairs

        gate_pairs(splits.train["text"].tolist(), splits.train["target"].tolist(), seed=config.seed)
    checkpoints = _checkpoints(config, hashes["data_hash"], fresh)
    earlier_run = checkpoints.saved_run_id() if checkpoints is not None else None
    # SIGTERM (a closed session, a scheduler) like Ctrl-C: the state is saved and the run marked KILLED
    with sigterm_as_interrupt(), tracking.run(run_name, experiment, tags=tags, resume=earlier_run) as active:
        if active.info.run_id != earlier_run:  # a resumed run has its params and inputs already
            tracking.log_config(config)
            _log_inputs(splits)
            lineage.log_code_version()
        if checkpoints is not None:
            checkpoints.run_id = active.info.run_id
        distilled, distill_tags = None, {}
        if teacher is not None:
            from pipeline.training import distill

            distilled = distill.prepare(config, splits, teacher)
            distill_tags = distill.tags(config, distilled)
            tracking.set_tags(distill_tags)
        classifier, metrics = _train_and_evaluate(config, splits, checkpoints, distilled)
        summary: dict[str, Any] = {
            "run_id": active.info.run_id,
            "run_name": run_name,
            "name": name,
            "alias": alias,
            "model_uri": None,
            "version": None,
            "reused": False,
            **hashes,
            "metrics": metrics,
        }
        if config.register.enabled:
            from pipeline.models.mlflow_model import log_classifier, register
            from pipeline.training.model_card import version_description, version_tags

            example = splits.dev.head(2)
            example = example[["text", "target"]] if config.task == "stance" else example[["text"]]
            info = log_classifier(classifier, example.reset_index(drop=True))
            tags = {**hashes, "run_id": active.info.run_id} | ({"files_hash": files} if files else {})
            tags |= distill_tags
            version = register(
                info.model_uri, name, alias, tags=tags | version_tags(metrics),
                description=version_description(config, splits, metrics), run_id=active.info.run_id,
                task=config.task,
            )
            summary.update(
                version=version, model_uri=f"models:/{name}@{alias}" if alias else f"models:/{name}/{version}"
            )
            tracking.set_tags({"registered_model": f"{name}/{version}"})
    if checkpoints is not None:
        checkpoints.clear()
    return summary


def code_hash(config: TrainConfig) -> str:
    """What a trained model depends on besides its config and data (`pipeline.keys.train_key`): the
    trainer's code, the library versions, the precision, and the encoders' resolved weights."""
    from pipeline.keys import config_digest, resolve_encoder, train_key

    parts = dict(train_key().parts)
    if config.model.kind == "transformer":
        parts["encoder"] = resolve_encoder(config.model.encoder)
    if config.model.relatedness_gate:
        parts["gate_encoder"] = resolve_encoder(config.model.relatedness_gate)
    return config_digest(parts)


def _checkpoints(config: TrainConfig, data_hash: str, fresh: bool) -> TrainCheckpoints | None:
    """Where a transformer training keeps its resumable state (None: a baseline or saving is off)."""
    from pipeline.training.checkpoints import TrainCheckpoints, checkpoint_folder

    if config.model.kind != "transformer" or config.model.checkpoint_minutes <= 0:
        return None
    folder = checkpoint_folder(config.resume_key(), data_hash)
    checkpoints = TrainCheckpoints(folder, config.model.checkpoint_minutes)
    if fresh:
        checkpoints.clear()
    return checkpoints


def evaluate_model(model: str, data: str, tracking_config: Any = None) -> dict[str, Any]:
    """Evaluate a model (``models:/`` URI, classifier folder or MLflow model folder) on a labelled file.

    The file has columns ``text``, ``label`` and, for stance, ``target``, with the model's label names.
    Returns exactly ``{"n", "accuracy", "macro_f1", "per_class": {label: {precision, recall, f1, support}}}``.
    ``tracking_config`` (a `TrackingConfig`, default: the defaults) names the store a model URI is read from.
    """
    from pipeline.models.mlflow_model import load_classifier_from_uri
    from pipeline.training.evaluate import evaluate_classifier

    if not Path(model).expanduser().exists() and ":/" in model:
        from pipeline import tracking
        from pipeline.config import TrackingConfig

        tracking.connect(tracking_config or TrackingConfig())
    return evaluate_classifier(load_classifier_from_uri(model), data)


# --- training -----------------------------------------------------------------------------------


def _train_and_evaluate(
    config: TrainConfig, splits: Splits, checkpoints: TrainCheckpoints | None = None,
    distilled: DistillData | None = None,
) -> tuple[Classifier, dict[str, float]]:
    """Train, evaluate on dev (and test), calibrate; with ``distilled``, on the teacher's soft targets
    too, and the teacher is scored on the same dev rows (``teacher.dev.*``, ``distill.gap.*``)."""
    import mlflow

    from pipeline import tracking
    from pipeline.training.evaluate import expected_calibration_error, fit_temperature, nll

    labels, outside_mean = config.label_list, config.data.outside_mean
    train = splits.train
    targets = train["target"].tolist() if config.task == "stance" else None
    start = time.perf_counter()
    metrics: dict[str, float] = {"train.rows": float(len(train)), "dev.rows": float(len(splits.dev))}
    best_dev: dict[str, Any] = {}  # dev predictions of the checkpoint the trainer keeps

    if config.model.kind == "ensemble":
        from pipeline.training.ensemble import build_ensemble

        classifier: Classifier = build_ensemble(config, splits.data_hash())
    elif config.model.kind == "baseline":
        from pipeline.models.classifier import BaselineClassifier

        p = config.model.baseline
        classifier = BaselineClassifier(
            labels,
            config.task,
            ngram_max=p.ngram_max,
            min_df=p.min_df,
            max_features=p.max_features,
            C=p.C,
            class_weights=config.model.class_weights,
            seed=config.seed,
        ).fit(train["text"].tolist(), train["label"].tolist(), targets)
    else:
        from pipeline.models.classifier import TransformerClassifier
        from pipeline.training.trainer import fine_tune, seed_everything

        seed_everything(config.seed)
        if config.model.init:
            from pipeline.training.warm_start import classifier_from_init

            classifier = classifier_from_init(config)
        else:
            classifier = TransformerClassifier.from_encoder(
                config.model.encoder,
                labels,
                config.task,
                max_length=config.model.max_length,
                batch_size=config.model.eval_batch_size,
                bf16=config.model.bf16,
            )
        from pipeline.models.device import resolve_device

        classifier.to_device(resolve_device(config.model.device))

        def dev_score(clf: Any) -> tuple[float, dict[str, float]]:
            result = _dev_predictions(clf, splits.dev, labels, outside_mean=outside_mean)
            if best_dev.get("score", -1.0) < result["score"]:  # the trainer keeps this state (same test)
                best_dev.clear()
                best_dev.update(result)
            return result["score"], {k: v for k, v in result["metrics"].items() if _per_source_key(k)}

        def log(values: dict[str, float], step: int) -> None:
            # dev figures along the way are `checkpoint.dev.*`; `dev.*` are the kept model's alone
            renamed = {f"checkpoint.{k}" if k.startswith("dev.") else k: float(v) for k, v in values.items()}
            mlflow.log_metrics(renamed, step=step)

        texts, gold, pairs = train["text"].tolist(), train["label"].tolist(), targets or [None] * len(train)
        soft, gold_weight = None, 1.0
        if distilled is not None and config.distill is not None:
            texts, gold, pairs, soft = distilled.texts, distilled.labels, distilled.targets, distilled.soft
            gold_weight = config.distill.gold_weight
            metrics.update(distilled.counts)
        result = fine_tune(
            classifier,
            texts,
            gold,
            pairs,
            config.model,
            config.seed,
            dev_score,
            log,
            checkpoints=checkpoints,
            extra=best_dev,
            soft=soft,
            gold_weight=gold_weight,
        )
        start -= result.seconds_before  # train.seconds counts every attempt
        metrics.update(
            {
                "train.resumed_at": result.resumed_at,
                "train.steps": result.steps,
                "train.best_step": result.best_step,
                "train.truncated": result.truncated,
                "train.bf16": float(result.bf16),
                "train.stopped_early": float(result.stopped_early),
            }
        )
        tracking.log_params({f"train.{k}": v for k, v in result.device.items()})
    metrics["train.seconds"] = time.perf_counter() - start
    metrics["train.peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    eval_start = time.perf_counter()
    dev = best_dev or _dev_predictions(classifier, splits.dev, labels, outside_mean=outside_mean)
    # calibration is fitted and measured on the sources models are chosen on (in_mean), not on a source
    # logged for comparison only (its labels may contradict the others' on the same texts)
    kept = ~splits.dev["source"].isin(outside_mean).to_numpy()
    y = dev["y"][kept]
    probs = dev["probs"][kept]
    temperature = fit_temperature(_rows(dev["logits"], kept), _rows(dev["weights"], kept), y)
    classifier.temperature = temperature
    from pipeline.models.classifier import combine_windows

    calibrated = combine_windows(dev["logits"], dev["weights"], temperature)
    if config.model.relatedness_gate:
        dev, calibrated = _fit_gate(config, classifier, splits, dev, calibrated, metrics)
    metrics.update(dev["metrics"])
    metrics.update(
        {
            "dev.score": dev["score"],
            "dev.ece": expected_calibration_error(probs, y),
            "dev.ece_calibrated": expected_calibration_error(calibrated[kept], y),
            "dev.nll": nll(probs, y),
            "dev.nll_calibrated": nll(calibrated[kept], y),
            "dev.temperature": temperature,
        }
    )
    if splits.test is not None:
        test = _dev_predictions(classifier, splits.test, labels, prefix="test", outside_mean=outside_mean)
        metrics.update(test["metrics"])
    if distilled is not None:
        from pipeline.training.distill import gaps, teacher_dev_metrics

        metrics.update(teacher_dev_metrics(config, distilled, splits.dev)["metrics"])
        metrics.update(gaps(metrics))
    metrics["eval.seconds"] = time.perf_counter() - eval_start
    tracking.log_metrics(metrics)
    _log_plots(splits.dev, dev, calibrated, labels)
    return classifier, metrics


def _fit_gate(
    config: TrainConfig, classifier: Classifier, splits: Splits, dev: dict[str, Any], calibrated: np.ndarray,
    metrics: dict[str, float],
) -> tuple[dict[str, Any], np.ndarray]:
    """Fit the relatedness gate on the training pairs; dev predictions and calibrated probs with it.

    The gated figures are those of the temperature-scaled probabilities, as the registered model
    predicts (the gate's mix is not invariant to the temperature). The ungated dev figures are kept
    as ``dev.ungated.*``; ``gate.*`` describe the gate.
    """
    from pipeline.models.relatedness import RelatednessGate

    start = time.perf_counter()
    train, labels = splits.train, config.label_list
    encoder = config.model.relatedness_gate or ""
    gate = RelatednessGate.fit(train["text"].tolist(), train["target"].tolist(), encoder, seed=config.seed)
    classifier.gate = gate
    g = gate.unrelated(splits.dev["text"].tolist(), splits.dev["target"].tolist())
    ungated = dev["metrics"].items()
    metrics.update({k.replace("dev.", "dev.ungated.", 1): v for k, v in ungated if k.endswith("macro_f1")})
    calibrated = gate.apply(calibrated, g, labels)  # what the registered model predicts
    gated = {**dev, **_scored(splits.dev, calibrated, labels, outside_mean=config.data.outside_mean)}
    metrics.update({
        "gate.coef": gate.coef,
        "gate.intercept": gate.intercept,
        "gate.dev_mean": float(g.mean()),
        "gate.seconds": time.perf_counter() - start,
    })
    return gated, calibrated


def _dev_predictions(
    classifier: Classifier, frame: pd.DataFrame, labels: list[str], prefix: str = "dev",
    outside_mean: Collection[str] = frozenset(),
) -> dict[str, Any]:
    """Window logits at T=1, probabilities and metrics overall and per source of one split.

    With a relatedness gate (fitted after training), the probabilities are the model's own:
    temperature-scaled and gated.
    """
    from pipeline.models.classifier import combine_windows

    texts = frame["text"].tolist()
    targets = frame["target"].tolist() if classifier.task == "stance" else None
    paired = classifier._targets(texts, targets)
    logits, weights = classifier.window_logits(texts, paired)
    if classifier.gate is None:
        probs = combine_windows(logits, weights, 1.0)
    else:
        scaled = combine_windows(logits, weights, classifier.temperature)
        probs = classifier.gate.apply(scaled, classifier.gate.unrelated(texts, paired), labels)
    return {"logits": logits, "weights": weights, **_scored(frame, probs, labels, prefix, outside_mean)}


def _scored(
    frame: pd.DataFrame, probs: np.ndarray, labels: list[str], prefix: str = "dev",
    outside_mean: Collection[str] = frozenset(),
) -> dict[str, Any]:
    """Predictions and metrics, overall and per source, of probabilities for the rows of ``frame``;
    the mean of the per-source macro-F1 (the score) leaves out the sources in ``outside_mean``."""
    from pipeline.training.evaluate import _safe, classification_metrics, flat_metrics

    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[label] for label in frame["label"]])
    predicted = [labels[i] for i in probs.argmax(axis=1)]
    gold = frame["label"].tolist()
    overall = classification_metrics(gold, predicted, labels)
    metrics = flat_metrics(overall, prefix)
    scores = []
    sources = frame["source"].to_numpy()
    for source in dict.fromkeys(sources):
        mask = sources == source
        part = classification_metrics(
            [g for g, m in zip(gold, mask, strict=True) if m],
            [p for p, m in zip(predicted, mask, strict=True) if m],
            labels,
        )
        metrics[f"{prefix}.{source}.macro_f1"] = part["macro_f1"]
        metrics[f"{prefix}.{source}.accuracy"] = part["accuracy"]
        for label, row in part["per_class"].items():
            if row["support"]:  # a class the source has: its F1 (e.g. dev.econ.f1.negative)
                metrics[f"{prefix}.{source}.f1.{_safe(label)}"] = row["f1"]
        if source not in outside_mean:
            scores.append(part["macro_f1"])
    metrics[f"{prefix}.mean.macro_f1"] = float(np.mean(scores))  # the selection criterion, as dev.score
    return {
        "probs": probs,
        "y": y,
        "predicted": predicted,
        "metrics": metrics,
        "score": float(np.mean(scores)),
        "overall": overall,
    }


def _rows(items: list[Any], kept: np.ndarray) -> list[Any]:
    """The entries of a per-row list where ``kept`` is true."""
    return [item for item, keep in zip(items, kept, strict=True) if keep]


def _per_source_key(key: str) -> bool:
    """Metrics logged at each dev check: macro-F1 (overall, per source, mean) and per-source class F1."""
    return key.endswith("macro_f1") or (key.count(".") >= 3 and ".f1." in key)


def _log_plots(frame: pd.DataFrame, dev: dict[str, Any], calibrated: np.ndarray, labels: list[str]) -> None:
    import mlflow

    from pipeline import tracking
    from pipeline.training.evaluate import confusion_png, reliability_png

    with tempfile.TemporaryDirectory() as tmp:
        confusion_png(
            frame["label"].tolist(),
            dev["predicted"],
            labels,
            Path(tmp) / "confusion_dev.png",
            title=f"dev (n={len(frame)}), macro-F1 {dev['overall']['macro_f1']:.3f}",
        )
        reliability_png(
            {"raw": (dev["probs"], dev["y"]), "temperature-scaled": (calibrated, dev["y"])},
            Path(tmp) / "reliability_dev.png",
            title="dev reliability",
        )
        for source in dict.fromkeys(frame["source"]):
            mask = (frame["source"] == source).to_numpy()
            if mask.all():
                break
            confusion_png(
                frame["label"][mask].tolist(),
                [p for p, m in zip(dev["predicted"], mask, strict=True) if m],
                labels,
                Path(tmp) / f"confusion_dev_{source}.png",
                title=f"dev: {source}",
            )
        for png in sorted(Path(tmp).glob("*.png")):
            mlflow.log_artifact(str(png), artifact_path="plots")
    table = frame[["source", "text", "target", "label"]].copy()
    table["predicted"] = dev["predicted"]
    for i, label in enumerate(labels):
        table[f"p_{label}"] = calibrated[:, i]
    tracking.log_dataframe(table, "dev_predictions", formats=("parquet",))


def _log_inputs(splits: Splits) -> None:
    import mlflow
    import mlflow.data

    contexts = {"train": "training", "dev": "validation", "test": "testing"}
    for split, context in contexts.items():
        frame = getattr(splits, split)
        if frame is None or frame.empty:
            continue
        for source, part in frame.groupby("source", sort=False):
            columns = ["text", "label"] + (["target"] if part["target"].notna().any() else [])
            with warnings.catch_warnings():  # "source can be interpreted in multiple ways": a local file
                warnings.simplefilter("ignore", UserWarning)
                dataset = mlflow.data.from_pandas(
                    part[columns].reset_index(drop=True),
                    source=splits.origins[source],
                    targets="label",
                    name=f"{source}-{split}",
                )
            mlflow.log_input(dataset, context=context)


def _reuse(name: str, alias: str, hashes: dict[str, str], files: str | None = None) -> dict[str, Any] | None:
    """A registered version with the same config and data hashes, its alias moved to it; else None.

    ``files``: the hash of the data files' bytes, tagged on the version found so that the next run
    recognises it without loading the data.
    """
    from mlflow import MlflowClient

    from pipeline.models.mlflow_model import find_version

    found = find_version(name, hashes)
    if found is None:
        return None
    client = MlflowClient()
    if files and found.tags.get("files_hash") != files:
        client.set_model_version_tag(name, found.version, "files_hash", files)
    if alias:
        client.set_registered_model_alias(name, alias, found.version)
    metrics: dict[str, float] = {}
    run_id = found.tags.get("run_id") or found.run_id
    if run_id:
        try:
            metrics = dict(client.get_run(run_id).data.metrics)
        except Exception:  # the run may have been deleted; the model is still usable
            metrics = {}
    return {
        "run_id": run_id,
        "run_name": None,
        "name": name,
        "alias": alias,
        "version": str(found.version),
        "model_uri": f"models:/{name}@{alias}" if alias else f"models:/{name}/{found.version}",
        "reused": True,
        "config_hash": found.tags.get("config_hash"),
        "code_hash": found.tags.get("code_hash"),
        "data_hash": found.tags.get("data_hash"),
        "metrics": metrics,
    }


def _model_short(config: TrainConfig) -> str:
    if config.model.kind != "transformer":
        return {"baseline": "tfidf-lr"}.get(config.model.kind, config.model.kind)
    encoder = config.model.encoder.lower()
    for key, short in (("minilm", "minilm"), ("mpnet", "mpnet")):
        if key in encoder:
            return short
    return Path(config.model.encoder).name or "transformer"
