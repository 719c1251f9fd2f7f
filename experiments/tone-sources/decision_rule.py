"""A calibrated decision rule for the negative class, measured without tuning on what it is scored on.

    python experiments/tone-sources/decision_rule.py CONFIG RUN_ID [--uri sqlite:///mlflow.db]
    python experiments/tone-sources/decision_rule.py CONFIG --model FOLDER [--save PROBS.parquet]
    python experiments/tone-sources/decision_rule.py CONFIG --probabilities PROBS.parquet

(``--model``: a classifier folder, e.g. one brought back from a GPU machine without its run's artifacts,
scores the config's dev rows here; ``--save`` keeps those probabilities for a rerun.)

The rule: add ``b`` to the log-probability of ``negative`` (the run's temperature-scaled dev
probabilities, ``dev_predictions.parquet``) before the argmax; ``b`` is chosen on a grid to maximise the
mean of the per-source dev macro-F1. Honest figure: two-fold cross-fitting over the dev groups
(articles where a source has them): ``b`` fitted on one half of each source's groups, applied to the
other half, and back; the pooled out-of-fold predictions are scored. The ``b`` fitted on all of dev is
printed too (that figure is tuned on dev: optimistic).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import pandas as pd

LABELS = ["negative", "neutral", "positive"]
GRID = np.round(np.arange(-1.0, 2.01, 0.1), 2)


def predict(probs: np.ndarray, b: float) -> np.ndarray:
    """Labels after adding ``b`` to the negative class's log-probability."""
    logp = np.log(np.clip(probs, 1e-12, 1.0))
    logp[:, 0] += b
    return np.array(LABELS, dtype=object)[logp.argmax(axis=1)]


def per_source(frame: pd.DataFrame, predicted: np.ndarray) -> dict[str, tuple[float, float]]:
    """source -> (macro-F1, negative F1)."""
    from sklearn.metrics import f1_score

    out = {}
    for source, idx in frame.groupby("source", sort=False).indices.items():
        gold, pred = frame["label"].to_numpy()[idx], predicted[idx]
        present = [lab for lab in LABELS if lab in set(gold) | set(pred)]
        macro = f1_score(gold, pred, labels=present, average="macro", zero_division=0)
        neg = f1_score(gold, pred, labels=["negative"], average="macro", zero_division=0)
        out[source] = (float(macro), float(neg))
    return out


def mean_macro(frame: pd.DataFrame, predicted: np.ndarray) -> float:
    return float(np.mean([m for m, _ in per_source(frame, predicted).values()]))


def fit_offset(frame: pd.DataFrame, probs: np.ndarray) -> float:
    """The grid offset with the best mean per-source macro-F1 (ties: the smallest |b|)."""
    scores = [(mean_macro(frame, predict(probs, b)), -abs(b), b) for b in GRID]
    return float(max(scores)[2])


def half_folds(frame: pd.DataFrame, seed: int = 13) -> np.ndarray:
    """0 or 1 per row: each source's groups (``group_key``) halved at random."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(frame), dtype=int)
    for _, idx in frame.groupby("source", sort=False).indices.items():
        groups = frame["group_key"].to_numpy()[idx]
        unique = np.unique(groups)
        half = set(rng.permutation(unique)[: len(unique) // 2])
        fold[idx] = [1 if g in half else 0 for g in groups]
    return fold


def print_rules(frame: pd.DataFrame, rows: dict[str, np.ndarray]) -> None:
    """A markdown table: per rule, each source's macro-F1 / negative F1 and their means."""
    sources = list(dict.fromkeys(frame["source"]))
    print("| rule | " + " | ".join(f"{s} F1 / neg" for s in sources) + " | mean F1 | mean neg |")
    print("|" + "---|" * (len(sources) + 3))
    for name, predicted in rows.items():
        figures = per_source(frame, predicted)
        cells = [f"{figures[s][0]:.3f} / {figures[s][1]:.2f}" for s in sources]
        mean = np.mean([figures[s][0] for s in sources])
        neg = np.mean([figures[s][1] for s in sources])
        print(f"| {name} | " + " | ".join(cells) + f" | **{mean:.3f}** | {neg:.3f} |")


def cross_fitted(frame: pd.DataFrame, probs: np.ndarray, seed: int = 13) -> tuple[np.ndarray, list[float]]:
    """Out-of-fold predictions: per source, groups halved; b fitted on one half, applied to the other."""
    fold = half_folds(frame, seed)
    predicted = np.empty(len(frame), dtype=object)
    offsets = []
    for k in (0, 1):
        fit, apply = fold != k, fold == k
        b = fit_offset(frame[fit].reset_index(drop=True), probs[fit])
        offsets.append(b)
        predicted[apply] = predict(probs[apply], b)
    return predicted, offsets


def model_probabilities(folder: str, dev: pd.DataFrame, batch: int = 256) -> pd.DataFrame:
    """The dev rows with a classifier folder's probabilities (p_negative, p_neutral, p_positive)."""
    from tqdm import tqdm

    from pipeline.models.classifier import load_classifier

    classifier = load_classifier(folder)
    texts = dev["text"].tolist()
    probs = np.vstack([classifier.predict_proba(texts[i : i + batch])
                       for i in tqdm(range(0, len(texts), batch), desc="dev rows", unit="batch")])
    frame = dev[["text", "label", "source"]].reset_index(drop=True).copy()
    for k, label in enumerate(classifier.labels):
        frame[f"p_{label}"] = probs[:, k]
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("run_id", nargs="?")
    parser.add_argument("--model", help="a classifier folder: score the config's dev rows with it")
    parser.add_argument("--probabilities", help="a parquet of dev probabilities saved by --save")
    parser.add_argument("--save", help="with --model: write the dev probabilities here")
    parser.add_argument("--uri", default=os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db"))
    args = parser.parse_args()
    import mlflow

    from pipeline.config import load_config
    from pipeline.training.config import TrainConfig
    from pipeline.training.data import load_splits

    dev = load_splits(load_config(args.config, [], model=TrainConfig)).dev  # type: ignore[arg-type]
    if args.model:
        frame = model_probabilities(args.model, dev)
        if args.save:
            frame.to_parquet(args.save)
    elif args.probabilities:
        frame = pd.read_parquet(args.probabilities)
    elif args.run_id:
        mlflow.set_tracking_uri(args.uri)
        path = mlflow.artifacts.download_artifacts(run_id=args.run_id,
                                                   artifact_path="dev_predictions.parquet")
        frame = pd.read_parquet(path)
    else:
        raise SystemExit("give a RUN_ID, --model FOLDER or --probabilities PARQUET")
    if len(dev) != len(frame) or (dev["text"].to_numpy() != frame["text"].to_numpy()).any():
        raise SystemExit("the config's dev split is not the run's dev rows: give the run's own config")
    frame["group_key"] = np.where(dev["group"].isna(), dev.index.astype(str), dev["group"].astype(str))
    probs = frame[[f"p_{lab}" for lab in LABELS]].to_numpy()
    rows = {"argmax (b = 0)": predict(probs, 0.0)}
    oof, offsets = cross_fitted(frame, probs)
    rows[f"cross-fitted b (folds: {offsets[0]:+.1f}, {offsets[1]:+.1f})"] = oof
    b_all = fit_offset(frame, probs)
    rows[f"b = {b_all:+.1f} fitted on all dev (optimistic)"] = predict(probs, b_all)
    print_rules(frame, rows)


if __name__ == "__main__":
    main()
