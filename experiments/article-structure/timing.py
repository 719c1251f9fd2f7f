"""Seconds a page for each plain-text parser, on the same pages in one process.

Pages: the 15 dev `.txt` pages and the first 45 silver ones (by name), parsed by `pipeline.ingest.parse`
once to warm up (models loaded), then timed. Prints the CPU flags that matter beside the figures.

Usage: python experiments/article-structure/timing.py [--parsers learned.v2 learned.v3 ...] [--mlflow]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path

from pipeline.config import IngestConfig
from pipeline.ingest import parse, read_document

SHARED = Path(__file__).resolve().parents[3] / "shared" / "articles"


def cpu_flags() -> str:
    """The CPU flags that decide the speed of the encoders here (avx2, avx512f, avx512_bf16, amx_bf16)."""
    text = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    found = set(re.findall(r"\b(avx2|avx512f|avx512_bf16|amx_bf16)\b", text))
    return " ".join(sorted(found)) or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parsers", nargs="+", default=["learned.v2", "learned.v3"])
    parser.add_argument("--silver", type=int, default=45, help="silver pages timed besides the dev ones")
    parser.add_argument("--mlflow", action="store_true", help="log the figures to ./mlflow.db")
    args = parser.parse_args()
    paths = sorted((SHARED / "dev").glob("*.txt")) + sorted((SHARED / "silver").glob("*.txt"))[: args.silver]
    docs = [read_document(path, IngestConfig(), "text") for path in paths]
    lines = statistics.mean(doc.text.count("\n") + 1 for doc in docs)
    print(f"{len(docs)} pages, {lines:.0f} lines on average; CPU: {cpu_flags()}")
    seconds = {}
    for name in args.parsers:
        config = IngestConfig(text_parser=name)
        parse(docs[0], config)  # load the model and the encoder
        start = time.perf_counter()
        for doc in docs:
            parse(doc, config)
        seconds[name] = (time.perf_counter() - start) / len(docs)
        print(f"{name:12s} {seconds[name]:.3f} s a page", flush=True)
    if args.mlflow:
        import mlflow

        mlflow.set_tracking_uri("sqlite:///mlflow.db")
        mlflow.set_experiment("article-structure")
        with mlflow.start_run(run_name="parser-timing"):
            mlflow.log_params({"pages": len(docs), "cpu_flags": cpu_flags(),
                               "parsers": " ".join(args.parsers)})
            mlflow.log_metrics({f"s_per_page.{name}": value for name, value in seconds.items()})


if __name__ == "__main__":
    main()
