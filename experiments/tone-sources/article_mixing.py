"""Document context after the fact: each paragraph's tone mixed with its article's mean, measured honestly.

    python experiments/tone-sources/article_mixing.py CONFIG RUN_ID [--uri sqlite:///mlflow.db]
    python experiments/tone-sources/article_mixing.py CONFIG --probabilities PROBS.parquet

The rule: p'(paragraph) = (1 - w) p(paragraph) + w mean(p over its article's paragraphs), then the argmax.
Only sources whose dev groups are real articles are mixed (PerSenT: paragraphs of one article; EmoBank:
sentences of one newspaper document, a headline alone); the others have no article around a row (or
groups that are not articles: econ_sentences' blocks of ids). ``w`` is chosen on a grid to maximise the
mean of the per-source dev macro-F1. Honest figure: two-fold cross-fitting over the articles, as in
``decision_rule.py``; the ``w`` fitted on all of dev is printed too (tuned on dev: optimistic).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import pandas as pd
from decision_rule import LABELS, half_folds, per_source, print_rules

ARTICLE_SOURCES = ("persent", "emobank")
GRID = np.round(np.arange(0.0, 1.001, 0.05), 2)


def article_means(frame: pd.DataFrame, probs: np.ndarray) -> np.ndarray:
    """Each row's article mean of ``probs`` (the row itself where its source has no articles)."""
    means = probs.copy()
    mixed = frame["source"].isin(ARTICLE_SOURCES).to_numpy()
    keys = frame["source"].astype(str) + "\x00" + frame["group_key"].astype(str)
    grouped = pd.DataFrame(probs[mixed]).groupby(keys[mixed].to_numpy()).transform("mean").to_numpy()
    means[mixed] = grouped
    return means


def predict(probs: np.ndarray, means: np.ndarray, weight: float) -> np.ndarray:
    return np.array(LABELS, dtype=object)[((1 - weight) * probs + weight * means).argmax(axis=1)]


def mean_macro(frame: pd.DataFrame, predicted: np.ndarray) -> float:
    return float(np.mean([m for m, _ in per_source(frame, predicted).values()]))


def fit_weight(frame: pd.DataFrame, probs: np.ndarray, means: np.ndarray) -> float:
    """The grid weight with the best mean per-source macro-F1 (ties: the smallest)."""
    return float(max((mean_macro(frame, predict(probs, means, w)), -w, w) for w in GRID)[2])


def cross_fitted(frame: pd.DataFrame, probs: np.ndarray, means: np.ndarray,
                 seed: int = 13) -> tuple[np.ndarray, list[float]]:
    """Out-of-fold predictions: per source, articles halved; w fitted on one half, applied to the other."""
    fold = half_folds(frame, seed)
    predicted = np.empty(len(frame), dtype=object)
    weights = []
    for k in (0, 1):
        fit, apply = fold != k, fold == k
        w = fit_weight(frame[fit].reset_index(drop=True), probs[fit], means[fit])
        weights.append(w)
        predicted[apply] = predict(probs[apply], means[apply], w)
    return predicted, weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("run_id", nargs="?")
    parser.add_argument("--probabilities", help="a parquet of dev probabilities (decision_rule.py --save)")
    parser.add_argument("--uri", default=os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db"))
    parser.add_argument("--set", action="append", default=[], help="config overrides, e.g. data.root=...")
    args = parser.parse_args()
    import mlflow

    from pipeline.config import load_config
    from pipeline.training.config import TrainConfig
    from pipeline.training.data import load_splits

    dev = load_splits(load_config(args.config, args.set, model=TrainConfig)).dev  # type: ignore[arg-type]
    if args.probabilities:
        frame = pd.read_parquet(args.probabilities)
    elif args.run_id:
        mlflow.set_tracking_uri(args.uri)
        frame = pd.read_parquet(mlflow.artifacts.download_artifacts(
            run_id=args.run_id, artifact_path="dev_predictions.parquet"))
    else:
        raise SystemExit("give a RUN_ID or --probabilities PARQUET")
    if len(dev) != len(frame) or (dev["text"].to_numpy() != frame["text"].to_numpy()).any():
        raise SystemExit("the config's dev split is not the run's dev rows: give the run's own config")
    frame["group_key"] = np.where(dev["group"].isna(), dev.index.astype(str), dev["group"].astype(str))
    probs = frame[[f"p_{lab}" for lab in LABELS]].to_numpy()
    means = article_means(frame, probs)
    rows = {"paragraph alone (w = 0)": predict(probs, means, 0.0)}
    for w in (0.25, 0.5, 0.75, 1.0):
        rows[f"w = {w:.2f}"] = predict(probs, means, w)
    oof, weights = cross_fitted(frame, probs, means)
    rows[f"cross-fitted w (folds: {weights[0]:.2f}, {weights[1]:.2f})"] = oof
    w_all = fit_weight(frame, probs, means)
    rows[f"w = {w_all:.2f} fitted on all dev (optimistic)"] = predict(probs, means, w_all)
    print_rules(frame, rows)


if __name__ == "__main__":
    main()
