"""Tiny tone classifiers registered in a test store: two versions that score the same text differently.

Each is a TF-IDF + logistic regression baseline fitted in well under a second on a few synthetic
sentences written here; ``flip=True`` swaps negative and positive, so a moved alias shows at once.
"""

from __future__ import annotations

from pathlib import Path

POSITIVE = ["The harvest was a great success for the valley", "Residents praised the bright new library",
            "The team celebrated a fine and welcome win", "Visitors loved the lovely clean harbour"]
NEGATIVE = ["The flood was a terrible blow for the valley", "Residents condemned the awful broken bridge",
            "The team suffered a bitter and painful loss", "Visitors hated the dirty crowded harbour"]
NEUTRAL = ["The council met on Tuesday to review the budget", "The report lists the hours of the library",
           "The ferry leaves the harbour at nine each morning", "The committee will publish its minutes"]


def tiny_tone(flip: bool = False):
    """A fitted tone baseline; ``flip`` swaps the negative and positive training labels."""
    from pipeline.models.classifier import BaselineClassifier
    from pipeline.score import TONE_LABELS

    pos, neg = ("negative", "positive") if flip else ("positive", "negative")
    texts = POSITIVE + NEGATIVE + NEUTRAL
    labels = [pos] * len(POSITIVE) + [neg] * len(NEGATIVE) + ["neutral"] * len(NEUTRAL)
    return BaselineClassifier(list(TONE_LABELS), "tone", min_df=1).fit(texts, labels)


def tracking_config(root: Path):
    from pipeline.config import TrackingConfig

    return TrackingConfig(uri=f"sqlite:///{root / 'mlflow.db'}", artifact_root=str(root / "art"))


def register_tiny(root: Path, name: str, classifier, alias: str | None = "champion") -> str:
    """Log ``classifier`` in a run of the store in ``root`` and register it as ``name``; the version."""
    import mlflow

    from pipeline import tracking
    from pipeline.models.mlflow_model import log_classifier, register

    config = tracking_config(root)
    tracking.connect(config)
    experiment = tracking.experiment_id("tiny-models", config)
    with mlflow.start_run(experiment_id=experiment):
        info = log_classifier(classifier)
    return register(info.model_uri, name, alias)


def move_alias(root: Path, name: str, version: str, alias: str = "champion") -> None:
    import mlflow

    mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}").set_registered_model_alias(name, alias, version)


def tone_score_config(store: Path, path: Path, name: str, experiment: str) -> Path:
    """A run config (written to ``path``) that scores tone with ``models:/NAME@champion`` from the
    store in ``store``, one section a paragraph, no stance."""
    import yaml

    config = {
        "experiment": experiment,
        "stages": ["ingest", "segment", "score"],
        "segment": {"method": "paragraphs", "paragraphs": {"window": 1}},
        "score": {"tone": {"model": f"models:/{name}@champion"}, "stance": None},
        "tracking": {"uri": f"sqlite:///{store / 'mlflow.db'}", "artifact_root": str(store / "art")},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
