"""Evaluate `topics.v1` on the Choi benchmark (choi-dev.jsonl): mean Pk and WindowDiff.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python experiments/topics-choi/evaluate.py [--mlflow]

Each document's sentences are the units: they are embedded with the configured encoder and split by
`pipeline.segment.topics.topic_boundaries`, the same function `topics.v1` runs on an article's
paragraphs. Pk and WindowDiff use k = half the mean reference segment length.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from pipeline.config import TopicsParams, load_config
from pipeline.evaluation.segmentation import boundaries_to_labels, pk, windowdiff
from pipeline.segment.topics import topic_boundaries

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[2] / "shared" / "datasets" / "segmentation" / "choi-dev.jsonl"


def load_docs(path: Path, limit: int | None = None) -> list[dict]:
    docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return docs[:limit] if limit else docs


def embed_docs(docs: list[dict], params: TopicsParams, cache: Path | None = None) -> list[np.ndarray]:
    """One (n_sentences, dim) array per document; all sentences go through the encoder in one call."""
    if cache is not None and cache.is_file():
        stored = np.load(cache)
        if len(stored.files) == len(docs):
            return [stored[f"arr_{i}"] for i in range(len(docs))]
    from pipeline.models.embedder import get_encoder

    sentences = [s for d in docs for s in d["sentences"]]
    flat = get_encoder(params.model).encode(sentences, batch_size=params.batch_size)
    offsets = np.cumsum([0] + [len(d["sentences"]) for d in docs])
    arrays = [flat[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    if cache is not None:
        np.savez(cache, *arrays)
    return arrays


def evaluate(docs: list[dict], embeddings: list[np.ndarray], params: TopicsParams) -> dict[str, float]:
    pks, wds, counts = [], [], []
    for doc, emb in zip(docs, embeddings, strict=True):
        n = len(doc["sentences"])
        cuts = topic_boundaries(emb, params.penalty, params.min_units, params.max_units)
        ref, hyp = boundaries_to_labels(doc["boundaries"], n), boundaries_to_labels(cuts, n)
        pks.append(pk(ref, hyp))
        wds.append(windowdiff(ref, hyp))
        counts.append(len(cuts) + 1)
    return {
        "pk": float(np.mean(pks)),
        "windowdiff": float(np.mean(wds)),
        "segments_per_doc": float(np.mean(counts)),
        "gold_segments_per_doc": float(np.mean([len(set(d["boundaries"]) - {0}) + 1 for d in docs])),
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=HERE / "config.yaml", help="TopicsParams as YAML")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a param")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=None, help="first N documents only")
    ap.add_argument("--cache", type=Path, default=None, help="npz file to reuse embeddings from/to")
    ap.add_argument("--mlflow", action="store_true", help="log to sqlite:///mlflow.db in the cwd")
    args = ap.parse_args(argv)

    params = load_config(args.config, args.set, model=TopicsParams)
    docs = load_docs(args.data, args.limit)
    t0 = time.perf_counter()
    embeddings = embed_docs(docs, params, args.cache)
    t1 = time.perf_counter()
    metrics = evaluate(docs, embeddings, params)
    t2 = time.perf_counter()
    metrics.update(embed_seconds=t1 - t0, segment_seconds=t2 - t1, n_docs=float(len(docs)))

    print(f"{len(docs)} docs  Pk={metrics['pk']:.4f}  WindowDiff={metrics['windowdiff']:.4f}  "
          f"segments/doc={metrics['segments_per_doc']:.1f} (gold {metrics['gold_segments_per_doc']:.1f})  "
          f"embed={metrics['embed_seconds']:.1f}s  segment={metrics['segment_seconds']:.2f}s")
    if args.mlflow:
        log_mlflow(params, metrics, args)
    return metrics


def log_mlflow(params: TopicsParams, metrics: dict[str, float], args: argparse.Namespace) -> None:
    import mlflow

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    mlflow.set_experiment("segmentation-topics")
    with mlflow.start_run(run_name="topics.v1-choi-dev") as run:
        mlflow.log_params({f"topics.{k}": v for k, v in params.model_dump().items()})
        mlflow.log_params({"method": "topics.v1", "data": args.data.name, "limit": args.limit})
        mlflow.log_metrics(metrics)
        mlflow.log_dict(params.model_dump(mode="json"), "config.yaml")
        print(f"MLflow run {run.info.run_id} in experiment segmentation-topics")


if __name__ == "__main__":
    main()
