"""The per-source dev table of tone runs (issue 19): macro-F1 and negative F1 per source, their mean.

    python experiments/tone-sources/table.py RUN_ID [RUN_ID ...] [--uri sqlite:///mlflow.db]
    python experiments/tone-sources/table.py --experiment tone-sources-tfidf

Reads the runs' logged ``dev.<source>.macro_f1`` / ``dev.<source>.f1.negative`` and ``dev.score``
(the mean of the per-source macro-F1, the selection criterion); prints one markdown row per run.
"""

from __future__ import annotations

import argparse
import os

SOURCES = ["persent", "newsmtsc", "econ_articles", "econ_sentences", "emobank", "sentfin"]


def rows(runs: list, sources: list[str]) -> list[str]:
    """Markdown rows: run name and id, then per source 'macro / neg', then the means."""
    head = "| run | " + " | ".join(f"{s} F1 / neg" for s in sources) + " | mean F1 | mean neg | run id |"
    out = [head, "|" + "---|" * (len(sources) + 4)]
    for run in runs:
        m = run.data.metrics
        cells = []
        negs = []
        for s in sources:
            f1, neg = m.get(f"dev.{s}.macro_f1"), m.get(f"dev.{s}.f1.negative")
            negs += [neg] if neg is not None else []
            cells.append("-" if f1 is None else f"{f1:.3f} / {neg:.2f}" if neg is not None else f"{f1:.3f}")
        mean_neg = sum(negs) / len(negs) if negs else float("nan")
        name = run.data.tags.get("mlflow.runName", "")
        out.append(f"| {name} | " + " | ".join(cells)
                   + f" | **{m.get('dev.score', float('nan')):.3f}** | {mean_neg:.3f} | {run.info.run_id} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_ids", nargs="*")
    parser.add_argument("--experiment")
    parser.add_argument("--uri", default=os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db"))
    args = parser.parse_args()
    from mlflow import MlflowClient

    client = MlflowClient(args.uri)
    runs = [client.get_run(r) for r in args.run_ids]
    if args.experiment:
        exp = client.get_experiment_by_name(args.experiment)
        found = client.search_runs([exp.experiment_id], "attributes.status = 'FINISHED'",
                                   order_by=["attributes.start_time ASC"])
        runs += list(found)
    print("\n".join(rows(runs, SOURCES)))


if __name__ == "__main__":
    main()
