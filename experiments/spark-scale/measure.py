"""A 2,000-article corpus through both engines with the same config and models, then a killed Spark run.

    python experiments/spark-scale/measure.py --work /tmp/spark-scale --store sqlite:////tmp/spark-scale/mlflow.db

Writes WORK/corpus.parquet (synthetic articles plus the real dev pages), runs

    python -m pipeline run configs/default.yaml --input WORK/corpus.parquet --output WORK/local  SETTINGS
    python -m pipeline run configs/default.yaml --input WORK/corpus.parquet --output WORK/spark  SETTINGS \
        --engine spark --set engine.master=local[2]

compares the two sections tables row for row, then starts the Spark run again on WORK/killed, sends
kill -9 to the driver once half the jobs are committed, reruns it and checks the rows. The figures go
to WORK/results.json and to an MLflow run in the experiment ``spark-scale``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "default.yaml"
SHARED = REPO.parent / "shared" / "articles"


def build_corpus(path: Path, n: int) -> dict[str, int]:
    """Synthetic articles plus the real dev pages (HTML) and the scraped Azerbaijan-Israel page."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(REPO))
    from tests.tools.make_corpus import articles

    real = [{"id": p.stem, "text": None, "html": p.read_text(encoding="utf-8", errors="replace")}
            for p in sorted((SHARED / "dev").glob("*.html"))]
    scraped = SHARED / "azerbaijan-israel.txt"
    if scraped.exists():
        real.append({"id": "azerbaijan-israel", "text": scraped.read_text(encoding="utf-8"), "html": None})
    rows = [{"id": i, "text": t, "html": None} for i, t in articles(n - len(real))]
    step = max(1, len(rows) // (len(real) + 1))
    for k, row in enumerate(real):  # spread through the corpus
        rows.insert((k + 1) * step, row)
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("html", pa.string())])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=500)
    return {"articles": len(rows), "real_pages": len(real)}


def command(corpus: Path, out: Path, settings: list[str], spark: bool) -> list[str]:
    cmd = [sys.executable, "-m", "pipeline", "run", str(CONFIG), "--input", str(corpus), "--output", str(out)]
    for item in settings:
        cmd += ["--set", item]
    if spark:
        cmd += ["--engine", "spark"]
    return cmd


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def compare(a_dir: Path, b_dir: Path) -> dict[str, float]:
    """Row-for-row comparison: exact on every non-float column, max |difference| on the floats."""
    import numpy as np
    import pandas as pd

    a, b = (pd.read_parquet(d / "sections").sort_values(["id", "section_index"]).reset_index(drop=True)
            for d in (a_dir, b_dir))
    floats = [c for c in a.columns if a[c].dtype.kind == "f"]
    others = [c for c in a.columns if c not in floats]
    same = list(a.columns) == list(b.columns) and len(a) == len(b) and a[others].equals(b[others])
    diff = np.nanmax(np.abs(a[floats].to_numpy(float) - b[floats].to_numpy(float))) if len(a) else 0.0
    nan_same = bool((a[floats].isna().to_numpy() == b[floats].isna().to_numpy()).all())
    return {"rows_a": len(a), "rows_b": len(b), "non_float_columns_equal": float(same),
            "null_pattern_equal": float(nan_same), "max_abs_prob_diff": float(diff),
            "articles": float(a["id"].nunique()),
            "duplicates": float(a.duplicated(["id", "section_index"]).sum())}


def kill_and_rerun(cmd: list[str], out: Path, env: dict[str, str], parts_before_kill: int
                   ) -> dict[str, float]:
    from tests.tools.corpus_testing import kill_after_parts

    code = kill_after_parts(cmd, out, parts_before_kill, REPO, env, timeout=3600, poll=0.2)
    import pandas as pd

    killed_rows = pd.read_parquet(out / "sections") if list((out / "sections").glob("part-*")) else None
    temporary = (out / "sections" / "_temporary").exists()
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
    rerun = summary(out)
    return {"killed_returncode": float(code),
            "killed_committed_articles": float(killed_rows["id"].nunique() if killed_rows is not None else 0),
            "killed_left_temporary": float(temporary), "rerun_done": float(rerun["done"]),
            "rerun_skipped": float(rerun["skipped"]), "rerun_seconds": time.perf_counter() - started}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--store", required=True, help="tracking URI with models:/example-tone@champion ...")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--per-job", type=int, default=500)
    parser.add_argument("--skip-runs", action="store_true", help="only compare and log what WORK holds")
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus.parquet"
    built = build_corpus(corpus, args.n)
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "MLFLOW_DISABLE_TELEMETRY": "true"}
    settings = [f"tracking.uri={args.store}", f"tracking.artifact_root={work / 'art'}",
                "score.tone.train=null", "score.stance.train=null", "experiment=spark-scale",
                "engine.master=local[2]", f"engine.articles_per_job={args.per_job}"]
    figures: dict[str, float] = {k: float(v) for k, v in built.items()}
    if not args.skip_runs:
        figures["local_wall_s"] = timed(command(corpus, work / "local", settings, False), env)
        figures["spark_wall_s"] = timed(command(corpus, work / "spark", settings, True), env)
    local, spark = summary(work / "local"), summary(work / "spark")
    for name, found in (("local", local), ("spark", spark)):
        keys = ("articles_per_s", "seconds", "sections", "failed", "done")
        figures |= {f"{name}_{k}": found[k] for k in keys}
    figures["spark_over_local"] = spark["articles_per_s"] / local["articles_per_s"]
    figures |= {f"compare.{k}": v for k, v in compare(work / "spark", work / "local").items()}
    if not args.skip_runs:
        parts = 2 * max(1, args.n // args.per_job // 2)  # half the jobs, two part files a job
        figures |= {f"kill.{k}": v for k, v in kill_and_rerun(
            command(corpus, work / "killed", settings, True), work / "killed", env, parts).items()}
        figures |= {f"kill.compare.{k}": v for k, v in compare(work / "killed", work / "local").items()}
    (work / "results.json").write_text(json.dumps(figures, indent=2) + "\n")
    import mlflow

    mlflow.set_tracking_uri(args.store)
    mlflow.set_experiment("spark-scale")
    with mlflow.start_run(run_name="local-vs-spark-2000"):
        mlflow.log_metrics(figures)
        mlflow.log_params({"n": args.n, "per_job": args.per_job, "master": "local[2]",
                           "cpu_flags": cpu_flags(), "config": str(CONFIG.relative_to(REPO))})
    print(json.dumps(figures, indent=2))
    return 0


def cpu_flags() -> str:
    text = Path("/proc/cpuinfo").read_text()
    return " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f" {f}" in text)


if __name__ == "__main__":
    raise SystemExit(main())
