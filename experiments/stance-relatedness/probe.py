"""Dev macro-F1 of a registered stance model with and without a relatedness gate fitted here.

The gate (pipeline/models/relatedness.py) is fitted on the config's training pairs against shuffled
targets (no labels) and mixed into the model's probabilities; see NOTES.md beside this file.

Run: HF_HUB_OFFLINE=1 python experiments/stance-relatedness/probe.py --model models:/stance/1
     ... --model models:/stance@champion --encoder own   (the model's stored gate: what it predicts)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import f1_score

from pipeline import tracking
from pipeline.config import TrackingConfig, load_config
from pipeline.models.mlflow_model import load_classifier_from_uri
from pipeline.models.relatedness import RelatednessGate
from pipeline.training.config import TrainConfig
from pipeline.training.data import load_splits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="models:/stance/1")
    parser.add_argument("--config", default="configs/train/stance.yaml")
    parser.add_argument("--encoder", default="all-MiniLM-L6-v2",
                        help="the gate's sentence encoder; 'own': the gate stored with the model")
    parser.add_argument("--max-pairs", type=int, default=3000, help="training pairs the gate is fitted on")
    args = parser.parse_args()

    config = load_config(args.config, [], model=TrainConfig)
    splits = load_splits(config)
    tracking.connect(TrackingConfig())
    clf = load_classifier_from_uri(args.model)
    if args.encoder == "own":
        gate = clf.gate
        assert gate is not None, f"{args.model} has no relatedness gate"
    else:
        start = time.perf_counter()
        gate = RelatednessGate.fit(splits.train["text"].tolist(), splits.train["target"].tolist(),
                                   args.encoder, max_pairs=args.max_pairs, seed=config.seed)
        print(f"gate {gate} fitted in {time.perf_counter() - start:.0f} s")
    print(f"gate {gate}")
    clf.gate = None
    dev = splits.dev
    texts, targets = dev["text"].tolist(), dev["target"].tolist()
    start = time.perf_counter()
    probs = clf.predict_proba(texts, targets)
    g = gate.unrelated(texts, targets)
    print(f"dev predictions and gate: {time.perf_counter() - start:.0f} s")
    gated = gate.apply(probs, g, clf.labels)
    labels = clf.labels
    for source in dict.fromkeys(dev["source"]):
        mask = (dev["source"] == source).to_numpy()
        gold = dev["label"][mask].tolist()
        before = [labels[i] for i in probs[mask].argmax(1)]
        after = [labels[i] for i in gated[mask].argmax(1)]
        per_class = np.round(f1_score(gold, after, average=None, labels=labels), 3)
        print(f"{source:12s} n={mask.sum():5d}  macro-F1 {f1_score(gold, before, average='macro'):.3f} -> "
              f"{f1_score(gold, after, average='macro'):.3f}  F1 {dict(zip(labels, per_class, strict=True))}"
              f"  mean gate {g[mask].mean():.3f}")


if __name__ == "__main__":
    main()
