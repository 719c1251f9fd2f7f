"""No stale results in one process: score a corpus, move the alias, score again (issue 18, "Must show").

In one Python process, through the API as a notebook uses it (`pipeline.api.run`):

1. register two tiny tone models (TF-IDF + logistic regression, the second with negative and
   positive swapped, so every row's numbers differ), the alias ``@champion`` on version 1;
2. score a synthetic corpus of N articles (written here) into DIR;
3. move the alias to version 2 and make the same call again;
4. count the rows whose numbers are not version 2's own (stale rows), and print what the run logged
   about why it rescored;
5. the same with the command line (`python -m pipeline run ...`), alias back to version 1 then to 2.

    python experiments/stale-results/demo.py --n 300 --work /tmp/stale-results

Written so it also runs against the code before issue 18 (missing columns and metrics read as absent).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.tools.tiny_models import (  # noqa: E402
    move_alias,
    register_tiny,
    tiny_tone,
    tone_score_config,
)

NAME = "tone-demo"
SUBJECTS = ["The council", "The harbour board", "The ferry company", "Local farmers", "The school",
            "The hospital trust", "Residents", "The mayor"]
VERBS = ["praised", "condemned", "reviewed", "welcomed", "criticised", "discussed"]
OBJECTS = ["the bright new library", "the awful broken bridge", "the budget for next year",
           "a fine and welcome win", "the terrible flood damage", "the minutes of the meeting",
           "the lovely clean harbour", "the dirty crowded market"]


def write_corpus(path: Path, n: int, seed: int = 18) -> Path:
    """N short synthetic articles (2-4 paragraphs of 2-3 sentences), one JSON object a line."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            paragraphs = []
            for _ in range(rng.randint(2, 4)):
                days = ["Monday", "Tuesday", "Friday"]
                sentences = [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} on "
                             f"{rng.choice(days)}." for _ in range(rng.randint(2, 3))]
                paragraphs.append(" ".join(sentences))
            text = f"Valley news item {i}\n\n" + "\n\n".join(paragraphs) + "\n"
            out.write(json.dumps({"id": f"article-{i:04d}", "text": text}) + "\n")
    return path


def write_config(work: Path) -> Path:
    return tone_score_config(work, work / "config.yaml", NAME, "stale-results")


def stale_rows(out: Path, version: str) -> tuple[int, int, list[str]]:
    """(stale rows, rows, tone_model values): rows whose numbers are not ``version``'s own."""
    import pandas as pd

    from pipeline.models.mlflow_model import load_classifier_from_uri

    rows = pd.read_parquet(out / "sections")
    model = load_classifier_from_uri(f"models:/{NAME}/{version}")  # loaded afresh, not via the scorer
    probs = model.predict_proba(rows["text"].tolist())
    want = probs[:, [model.labels.index(k) for k in ("negative", "neutral", "positive")]]
    got = rows[["p_negative", "p_neutral", "p_positive"]].to_numpy()
    stale = int((~np.isclose(got, want, atol=1e-6).all(axis=1)).sum())
    labels = sorted(rows["tone_model"].unique()) if "tone_model" in rows else ["(no tone_model column)"]
    return stale, len(rows), labels


def report(step: str, result, work: Path, out: Path, version: str, seconds: float) -> dict:
    import mlflow

    run = mlflow.MlflowClient(f"sqlite:///{work / 'mlflow.db'}").get_run(result.run_id)
    stale, n_rows, labels = stale_rows(out, version)
    m = run.data.metrics
    figures = {"step": step, "run_id": result.run_id, "seconds": round(seconds, 1), "done": result.done,
               "skipped": result.skipped, "rows": n_rows, "stale_rows": stale, "tone_model": labels,
               "n_recomputed": m.get("n_recomputed"), "recomputed.tone.model": m.get("recomputed.tone.model"),
               "recomputed_because": run.data.tags.get("recomputed_because"),
               "cache.tone.hits": m.get("cache.tone.hits"), "cache.tone.misses": m.get("cache.tone.misses")}
    print(json.dumps(figures))
    return figures


def cli_case(work: Path, config: Path, corpus: Path) -> dict:
    """The command-line case: alias to version 1, run; alias to version 2, the same command again."""
    out = work / "out-cli"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH"))
                                                       if p)}
    figures = {}
    for version in ("1", "2"):
        move_alias(work, NAME, version)
        done = subprocess.run([sys.executable, "-m", "pipeline", "run", str(config), "--input", str(corpus),
                               "--output", str(out)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        summary = json.loads((out / "summary.json").read_text())
        stale, n_rows, labels = stale_rows(out, version)
        figures[f"v{version}"] = {"run_id": summary["mlflow_run_id"], "done": summary["done"],
                                  "rows": n_rows, "stale_rows": stale, "tone_model": labels}
    print(json.dumps({"step": "command line", **figures}))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="articles in the corpus (default 300)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/stale-results"), help="scratch folder")
    parser.add_argument("--skip-cli", action="store_true", help="only the in-process case")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

    from pipeline import api

    register_tiny(args.work, NAME, tiny_tone())
    register_tiny(args.work, NAME, tiny_tone(flip=True), alias=None)
    corpus = write_corpus(args.work / "corpus.jsonl", args.n)
    config = write_config(args.work)
    out = args.work / "out"

    for step, version in (("first call, @champion -> v1", "1"), ("same call, @champion -> v2", "2")):
        move_alias(args.work, NAME, version)
        start = time.perf_counter()
        result = api.run(str(config), [], str(corpus), output=str(out), batch_size=64)
        report(step, result, args.work, out, version, time.perf_counter() - start)
    if not args.skip_cli:
        cli_case(args.work, config, corpus)


if __name__ == "__main__":
    main()
