"""By-hand measurement (not a CI test): throughput, peak RSS for 1,000 vs 5,000 articles, and
kill -9 at about half-way then a rerun. Run from the repo root:

    python experiments/corpus-scale/measure.py --work /tmp/corpus-scale

Everything (corpora, outputs, the MLflow store) goes under --work. Prints one JSON object a step.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "experiments" / "corpus-scale" / "config.yaml"
sys.path.insert(0, str(REPO))


ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def pipeline_cmd(corpus: Path, out: Path, batch: int, *overrides: str) -> list[str]:
    sets = [x for o in overrides for x in ("--set", o)]
    return [sys.executable, "-m", "pipeline", "run", str(CONFIG), "--input", str(corpus),
            "--output", str(out), "--batch-size", str(batch), *sets]


def pipeline_run(corpus: Path, out: Path, work: Path, batch: int, *overrides: str) -> tuple[dict, float]:
    """One `pipeline run` under /usr/bin/time -v: its summary.json and the process's max RSS (MB)."""
    cmd = ["/usr/bin/time", "-v", *pipeline_cmd(corpus, out, batch, *overrides)]
    done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=ENV)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return json.loads((out / "summary.json").read_text()), rss_kb / 1024


def rows(out: Path):
    import pandas as pd
    import pyarrow.parquet as pq

    parts = sorted((out / "sections").glob("part-*.parquet"))
    return pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True), len(parts)


def main() -> None:
    from tests.tools.make_corpus import write_corpus

    parser = argparse.ArgumentParser()
    parser.add_argument("--work", default="/tmp/corpus-scale")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--score", action="store_true",
                        help="instead: 5,000 articles with the score stage (tiny TF-IDF classifiers), then "
                        "the same with one more stance target")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    corpora = {n: work / f"corpus-{n}.jsonl" for n in (1000, 5000)}
    for n, path in corpora.items():
        if not path.exists():
            write_corpus(path, n, "jsonl")

    if args.score:
        score(work, corpora[5000], args.batch)
        return
    clean = {}
    for n, path in corpora.items():
        out = work / f"out-{n}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        summary, rss = pipeline_run(path, out, work, args.batch)
        clean[n] = summary
        print(json.dumps({"step": f"clean run {n}", "done": summary["done"], "sections": summary["sections"],
                          "seconds": summary["seconds"], "articles_per_s": summary["articles_per_s"],
                          "peak_rss_mb_in_run": summary["peak_rss_mb"], "max_rss_mb_time_v": round(rss, 1)}),
              flush=True)
    a, b = clean[1000]["peak_rss_mb"], clean[5000]["peak_rss_mb"]
    print(json.dumps({"step": "rss 5000 vs 1000", "ratio": round(b / a, 3),
                      "within_10pct": abs(b / a - 1) <= 0.10}))

    out = work / "out-kill"
    subprocess.run(["rm", "-rf", str(out)], check=True)
    proc = subprocess.Popen(pipeline_cmd(corpora[5000], out, args.batch), cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV)
    half = 5000 // 2 // args.batch
    while proc.poll() is None and len(list((out / "sections").glob("part-*.parquet"))) < half:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before, n_parts = rows(out)
    print(json.dumps({"step": "kill -9", "returncode": proc.returncode, "parts": n_parts,
                      "articles_committed": int(before["id"].nunique()), "rows": len(before)}), flush=True)
    summary, _ = pipeline_run(corpora[5000], out, work, args.batch)
    after, n_parts = rows(out)
    print(json.dumps({"step": "rerun", "done": summary["done"], "skipped": summary["skipped"],
                      "failed": summary["failed"], "parts": n_parts, "unique_ids": int(after["id"].nunique()),
                      "rows": len(after), "rows_clean_run": clean[5000]["sections"],
                      "duplicate_rows": int(after.duplicated(["id", "section_index"]).sum()),
                      "hidden_files": [p.name for p in (out / "sections").glob(".*")]}))


def score(work: Path, corpus: Path, batch: int) -> None:
    """Score stage at scale with baseline classifiers trained on the shipped labelled sets."""
    from pipeline.models.classifier import BaselineClassifier

    labels = {"tone": ["negative", "neutral", "positive"], "stance": ["against", "neutral", "favor"]}
    for task in labels:
        lines = (REPO / "pipeline" / "data" / "train" / f"{task}.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        BaselineClassifier(labels[task], task).fit(
            [r["text"] for r in rows], [r["label"] for r in rows],
            [r["target"] for r in rows] if task == "stance" else None).save(work / "models" / task)
    out = work / "out-score"
    subprocess.run(["rm", "-rf", str(out)], check=True)
    base = ["stages=[ingest, segment, score]", f"score.tone.model={work / 'models' / 'tone'}",
            f"score.stance={{model: {work / 'models' / 'stance'}, targets: {{Farmers: [Teachers]}}}}"]
    more = [*base[:2], base[2].replace("]}", "], Doctors: []}")]
    for step, overrides in (("score run", base), ("score run, one more target", more)):
        summary, rss = pipeline_run(corpus, out, work, batch, *overrides)
        print(json.dumps({"step": step, **{k: summary[k] for k in ("done", "skipped", "sections", "seconds",
                                                                   "articles_per_s", "peak_rss_mb", "cache")},
                          "max_rss_mb_time_v": round(rss, 1)}), flush=True)


if __name__ == "__main__":
    main()
