"""TF-IDF + LR ablations of issue 19, one change at a time, on the same per-source dev splits.

    python experiments/tone-sources/tfidf_ablation.py [experiments/tone-sources/minilm-all-sources.yaml]

Loads the config's splits once (every source's dev split is fixed by its seed, whatever trains), then
fits the project's baseline (`BaselineClassifier`, the settings of `model.kind: baseline`) on: all
sources; today's data (PerSenT + NewsMTSC); all but one source (each in turn); all without class
weights. Prints the per-source table (macro-F1 / negative F1, their means). No MLflow: a quick screen
(seconds a fit on a quiet machine) before the transformer runs, which are tracked.
"""

from __future__ import annotations

import sys
import time

import numpy as np

NEW = ["econ_articles", "econ_sentences", "emobank", "sentfin"]


def fit_and_score(
    train, dev, labels: list[str], class_weights: bool, seed: int
) -> dict[str, tuple[float, float]]:
    """source -> (macro-F1, negative F1) of a baseline fitted on ``train``, scored on ``dev``."""
    from pipeline.models.classifier import BaselineClassifier
    from pipeline.training.evaluate import classification_metrics

    clf = BaselineClassifier(labels, "tone", class_weights=class_weights, seed=seed)
    clf.fit(train["text"].tolist(), train["label"].tolist(), None)
    predicted = np.array(clf.predict(dev["text"].tolist()), dtype=object)
    out = {}
    for source, idx in dev.groupby("source", sort=False).indices.items():
        m = classification_metrics(dev["label"].to_numpy()[idx].tolist(), predicted[idx].tolist(), labels)
        out[source] = (m["macro_f1"], m["per_class"]["negative"]["f1"])
    return out


def main() -> None:
    from pipeline.config import load_config
    from pipeline.training.config import TrainConfig
    from pipeline.training.data import load_splits

    path = sys.argv[1] if len(sys.argv) > 1 else "experiments/tone-sources/minilm-all-sources.yaml"
    config: TrainConfig = load_config(path, [], model=TrainConfig)  # type: ignore[assignment]
    splits = load_splits(config)
    train, dev, labels = splits.train, splits.dev, config.label_list
    today = train[~train["source"].isin(NEW)]
    variants = {"all sources": (train, True), "today (PerSenT + NewsMTSC)": (today, True)}
    for source in dict.fromkeys(train["source"]):
        variants[f"all but {source}"] = (train[train["source"] != source], True)
    variants["all sources, no class weights"] = (train, False)
    sources = list(dict.fromkeys(dev["source"]))
    print("| TF-IDF + LR trained on | rows | " + " | ".join(f"{s} F1 / neg" for s in sources)
          + " | mean F1 | mean neg | s |")
    print("|" + "---|" * (len(sources) + 5))
    for name, (part, weights) in variants.items():
        start = time.perf_counter()
        figures = fit_and_score(part, dev, labels, weights, config.seed)
        cells = [f"{figures[s][0]:.3f} / {figures[s][1]:.2f}" for s in sources]
        mean = np.mean([figures[s][0] for s in sources])
        neg = np.mean([figures[s][1] for s in sources])
        print(f"| {name} | {len(part)} | " + " | ".join(cells)
              + f" | **{mean:.3f}** | {neg:.3f} | {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
