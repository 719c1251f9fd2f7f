"""PerSenT's dev fifth judged by the README's tone definition: how its labels and a model compare.

    python experiments/tone-context/persent_review.py CONFIG RUN_ID [RUN_ID ...] [--uri sqlite:///mlflow.db]
    python experiments/tone-context/persent_review.py CONFIG      (the labels and verdicts alone)

``persent_tone_review.jsonl`` holds, for each of the 842 paragraphs of PerSenT's dev fifth (the split of
``configs/train/tone.yaml``: doc-grouped, seed 13), two blind verdicts under the README's definition of
tone ("What tone means here"), keyed by ``doc_id``, ``paragraph_index`` and the sha256 of the text (no
text is kept here); ``label`` is the verdict where the two agree, empty where they do not (the labels a
``relabel:`` source reads, e.g. the ``persent_tone`` dev source of the tone configs).
This prints how PerSenT's own labels (the author's sentiment toward the article's main entity) compare
with those verdicts, and, for each run, the model's dev predictions against PerSenT's labels and against
the verdicts (macro-F1 and negative F1; "both" = the rows where the two verdicts agree).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score, f1_score

REVIEW = Path(__file__).with_name("persent_tone_review.jsonl")
LABELS = ["negative", "neutral", "positive"]


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_review(path: Path = REVIEW) -> pd.DataFrame:
    """The verdicts, one row per paragraph (judge1, judge2), indexed by text key."""
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    return pd.DataFrame(rows).drop_duplicates("text_key").set_index("text_key")


def scores(gold: pd.Series, predicted: pd.Series) -> str:
    macro = f1_score(gold, predicted, labels=LABELS, average="macro", zero_division=0)
    negative = f1_score(gold, predicted, labels=["negative"], average="macro", zero_division=0)
    return f"{macro:.3f} / {negative:.2f}"


def persent_dev(config: str, overrides: list[str]) -> pd.DataFrame:
    """PerSenT's dev rows of ``config`` with the two verdicts joined by text."""
    from pipeline.config import load_config
    from pipeline.training.config import TrainConfig
    from pipeline.training.data import load_splits

    dev = load_splits(load_config(config, overrides, model=TrainConfig)).dev  # type: ignore[arg-type]
    rows = dev[dev["source"] == "persent"][["text", "label"]].copy()
    review = load_review()
    keys = rows["text"].map(text_key)
    missing = int((~keys.isin(review.index)).sum())
    if missing:
        raise SystemExit(f"{missing} PerSenT dev rows have no verdict in {REVIEW.name}: "
                         "is this the tone configs' split?")
    rows["judge1"] = keys.map(review["judge1"]).to_numpy()
    rows["judge2"] = keys.map(review["judge2"]).to_numpy()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("run_ids", nargs="*")
    parser.add_argument("--set", action="append", default=[], help="config overrides, e.g. data.root=...")
    parser.add_argument("--uri", default=os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db"))
    args = parser.parse_args()

    rows = persent_dev(args.config, args.set)
    both = rows["judge1"] == rows["judge2"]
    print(f"PerSenT dev fifth: {len(rows)} paragraphs; the two verdicts agree on {both.mean():.3f} "
          f"(Cohen's kappa {cohen_kappa_score(rows['judge1'], rows['judge2']):.3f})")
    for name in ("label", "judge1", "judge2"):
        shares = rows[name].value_counts(normalize=True).reindex(LABELS, fill_value=0)
        print(f"  {name:7s} " + ", ".join(f"{k} {v:.3f}" for k, v in shares.items()))
    print("PerSenT's labels scored against the verdicts (macro-F1 / negative F1): "
          f"judge1 {scores(rows['judge1'], rows['label'])}, judge2 {scores(rows['judge2'], rows['label'])}, "
          f"both {scores(rows.loc[both, 'judge1'], rows.loc[both, 'label'])}")
    if not args.run_ids:
        return
    import mlflow

    mlflow.set_tracking_uri(args.uri)
    print("\n| run | against PerSenT's labels | against judge1 | against judge2 | against both (agreeing) |")
    print("|---|---|---|---|---|")
    for run_id in args.run_ids:
        frame = pd.read_parquet(mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="dev_predictions.parquet"))
        frame = frame[frame["source"] == "persent"]
        if not np.array_equal(frame["text"].to_numpy(), rows["text"].to_numpy()):
            raise SystemExit(f"run {run_id}: its PerSenT dev rows are not this config's")
        predicted = pd.Series(frame["predicted"].to_numpy(), index=rows.index)
        print(f"| {run_id} | {scores(rows['label'], predicted)} | {scores(rows['judge1'], predicted)} | "
              f"{scores(rows['judge2'], predicted)} | {scores(rows.loc[both, 'judge1'], predicted[both])} |")


if __name__ == "__main__":
    main()
