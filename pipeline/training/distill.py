"""Knowledge distillation: a teacher's probabilities as soft targets for a small student.

The rows a student trains on: the training split (gold label, plus the teacher's probabilities when
``distill.training_texts``) and the corpus texts (the teacher's probabilities alone). The teacher is
also scored on the dev rows, side by side with the student (``teacher.dev.*``, ``distill.gap.*``).
Teacher labels are cached by text (`pipeline.training.teacher_labels`): a rerun labels nothing anew.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from pipeline.keys import ResolvedModel
    from pipeline.training.config import TrainConfig
    from pipeline.training.data import Splits


def pin_teacher(config: TrainConfig) -> ResolvedModel:
    """Resolve the teacher (an alias to its version) and put its identity and the corpus digest into the
    config's hashes, so a moved alias or a changed corpus trains (and resumes) a new student.
    Needs the tracking store connected."""
    from pipeline.keys import config_digest, resolve_model
    from pipeline.training.distill_corpus import corpus_digest

    distill = config.distill
    assert distill is not None
    teacher = resolve_model(distill.teacher)
    parts = {"teacher": teacher.identity, "corpus": corpus_digest(distill.corpus) if distill.corpus else None}
    if distill.run_config:
        from pipeline.training.distill_corpus import run_config

        cut = run_config(distill)
        parts["cut"] = json.dumps(
            [cut.ingest.model_dump(mode="json"), cut.segment.model_dump(mode="json"),
             cut.score.stance.model_dump(mode="json") if cut.score.stance else None], sort_keys=True)
    config._distill_key = config_digest(parts)
    return teacher


@dataclass
class DistillData:
    """What the student trains on, and what the labelling did."""

    texts: list[str]
    labels: list[str | None]
    targets: list[str | None]
    soft: np.ndarray
    teacher: ResolvedModel
    dev_probs: np.ndarray
    """The teacher's probabilities on the dev rows (for the side-by-side figures, never trained on)."""
    counts: dict[str, float] = field(default_factory=dict)


def _loader(config: TrainConfig, teacher: ResolvedModel, loaded: dict[str, Any]) -> Any:
    def load() -> Any:
        if "model" not in loaded:
            from pipeline.errors import ModelError
            from pipeline.models.device import place_classifier, resolve_device
            from pipeline.models.mlflow_model import load_classifier_from_uri

            model = load_classifier_from_uri(teacher.uri)
            place_classifier(model, resolve_device(config.model.device))
            if sorted(model.labels) != sorted(config.label_list):
                raise ModelError(
                    f"distill.teacher {teacher.label}: its labels are {list(model.labels)}, this config's "
                    f"are {config.label_list}: distil a teacher of the same task and labels"
                )
            loaded["model"] = model
        return loaded["model"]

    return load


def cache_for(config: TrainConfig, teacher: ResolvedModel) -> Any:
    from pipeline.training.teacher_labels import TeacherLabels, default_cache

    assert config.distill is not None
    return TeacherLabels(config.distill.cache or default_cache(), teacher.identity)


def prepare(config: TrainConfig, splits: Splits, teacher: ResolvedModel) -> DistillData:
    """Label the training texts, the corpus and the dev rows with the teacher (through the cache); the
    student's rows. The teacher is loaded only where a text is not cached, and let go before training."""
    from pipeline.training.distill_corpus import corpus_texts

    distill = config.distill
    assert distill is not None
    labels = config.label_list
    stance = config.task == "stance"
    train = splits.train
    texts = train["text"].tolist()
    gold: list[str | None] = train["label"].tolist()
    targets: list[str | None] = train["target"].tolist() if stance else [None] * len(train)
    loaded: dict[str, Any] = {}
    load = _loader(config, teacher, loaded)
    cache = cache_for(config, teacher)
    hits = sent = 0
    try:
        if distill.training_texts:
            got = cache.label(load, texts, targets if stance else None, labels, desc="training texts")
            soft, hits, sent = got.probs, got.hits, got.sent
        else:
            soft = np.full((len(texts), len(labels)), np.nan, dtype=np.float32)
        failed = 0
        extra_texts: list[str] = []
        if distill.corpus:
            extra_texts, extra_targets, failed = corpus_texts(distill, config.task, config.seed)
            got = cache.label(load, extra_texts, extra_targets if stance else None, labels,
                              about_target=stance, desc="corpus")
            soft = np.concatenate([soft, got.probs.reshape(-1, len(labels))])
            hits, sent = hits + got.hits, sent + got.sent
            texts += extra_texts
            gold += [None] * len(extra_texts)
            targets += extra_targets
        dev = splits.dev
        dev_targets = dev["target"].tolist() if stance else None
        dev_probs = cache.label(load, dev["text"].tolist(), dev_targets, labels, desc="dev").probs
    finally:
        cache.close()
        loaded.clear()  # the student trains without the teacher in memory
    counts = {
        "distill.rows.labelled": float(len(train)),
        "distill.rows.unlabelled": float(len(extra_texts)),
        "distill.rows.teacher": float(len(train) * distill.training_texts + len(extra_texts)),
        "distill.teacher_cache_hits": float(hits),
        "distill.teacher_sent": float(sent),
        "distill.corpus_failed": float(failed),
    }
    return DistillData(texts, gold, targets, soft, teacher, dev_probs, counts)


def teacher_dev_metrics(config: TrainConfig, data: DistillData, frame: pd.DataFrame) -> dict[str, Any]:
    """The teacher on the dev rows: ``teacher.dev.*`` (as ``dev.*``) and its predictions."""
    from pipeline.training.api import _scored

    return _scored(frame, data.dev_probs, config.label_list, "teacher.dev", config.data.outside_mean)


def _teacher_sources(metrics: dict[str, float]) -> list[str]:
    """The sources (and ``mean``) the teacher has a dev macro-F1 for (``teacher.dev.<source>.macro_f1``)."""
    return [k.split(".")[2] for k in metrics
            if k.startswith("teacher.dev.") and k.endswith(".macro_f1") and k.count(".") == 3]


def gaps(metrics: dict[str, float]) -> dict[str, float]:
    """``distill.gap.<source>``: the student's dev macro-F1 minus the teacher's, per source and mean."""
    out = {}
    for source in _teacher_sources(metrics):
        student = metrics.get(f"dev.{source}.macro_f1")
        if student is not None:
            out[f"distill.gap.{source}"] = float(student - metrics[f"teacher.dev.{source}.macro_f1"])
    return out


def tags(config: TrainConfig, data: DistillData) -> dict[str, str]:
    """Tags on the run and the registered version: which teacher, how the student learnt from it."""
    assert config.distill is not None
    counts = {k: str(int(v)) for k, v in data.counts.items()
              if k in ("distill.rows.labelled", "distill.rows.unlabelled", "distill.teacher_cache_hits")}
    return {
        "distill.teacher_uri": config.distill.teacher,
        "distill.teacher_version": data.teacher.label,
        "distill.gold_weight": str(config.distill.gold_weight),
        **counts,
    }


def side_by_side(metrics: dict[str, float]) -> str:
    """A small table: dev macro-F1 per source, student and teacher and the gap."""
    lines = [f"{'dev macro-F1':24s} {'student':>8s} {'teacher':>8s} {'gap':>7s}"]
    for source in _teacher_sources(metrics):
        student = metrics.get(f"dev.{source}.macro_f1", float("nan"))
        teacher = metrics[f"teacher.dev.{source}.macro_f1"]
        lines.append(f"{source:24s} {student:8.3f} {teacher:8.3f} {student - teacher:+7.3f}")
    return "\n".join(lines)
