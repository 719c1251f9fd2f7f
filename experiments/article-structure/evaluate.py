"""Body-token F1 and heading F1 of `pipeline segment` against the gold pages in ../shared/articles/dev.

Usage: python experiments/article-structure/evaluate.py [--format txt|html|both] [--method auto]
       [--dev DIR] [--verbose] [--mlflow]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.evaluation.segmentation import bag_f1, body_text, heading_f1
from pipeline.ingest import load_article
from pipeline.segment import segment_article

REPO = Path(__file__).resolve().parents[2]
DEV = REPO.parent / "shared" / "articles" / "dev"


def evaluate(dev: Path, suffix: str, method: str | None, verbose: bool) -> dict:
    config = load_config(None)
    rows = []
    for gold_path in sorted(dev.glob("*.gold.json")):
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        page = gold_path.with_name(gold_path.name.replace(".gold.json", f".{suffix}"))
        try:
            article = load_article(page, config.ingest)
            out = segment_article(article, config.segment, method).to_json_dict()
        except PipelineError as exc:
            out = {"title": None, "standfirst": None, "sections": [], "dropped": []}
            print(f"  {page.name}: ERROR {exc}")
        predicted_headings = [s["heading"] for s in out["sections"] if s["heading"]]
        _, _, body = bag_f1(body_text(out), gold["body_text"])
        hp, hr, hf = heading_f1(predicted_headings, gold["headings"])
        rows.append({"page": page.name, "body_f1": body, "heading_p": hp, "heading_r": hr,
                     "heading_f1": hf, "n_gold_headings": len(gold["headings"]),
                     "n_pred_headings": len(predicted_headings),
                     "title_ok": (out["title"] or "").strip() == (gold.get("title") or "").strip()})
        if verbose:
            r = rows[-1]
            print(f"  {page.name:45s} body {body:.3f}  head P {hp:.2f} R {hr:.2f} F {hf:.2f} "
                  f"({r['n_pred_headings']}/{r['n_gold_headings']}) title {'ok' if r['title_ok'] else 'x'}")
            if verbose and hf < 1:
                gold_h = set(gold["headings"])
                print("     missed:", [h for h in gold["headings"] if h not in predicted_headings][:6])
                print("     extra: ", [h for h in predicted_headings if h not in gold_h][:6])
    with_headings = [r for r in rows if r["n_gold_headings"] > 0]
    without = [r for r in rows if r["n_gold_headings"] == 0]
    return {
        "pages": len(rows),
        "body_f1": statistics.mean(r["body_f1"] for r in rows),
        "heading_f1": statistics.mean(r["heading_f1"] for r in with_headings) if with_headings else 1.0,
        "invented_headings_on_pages_without": sum(r["n_pred_headings"] for r in without),
        "title_accuracy": statistics.mean(r["title_ok"] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=["txt", "html", "both"], default="both")
    parser.add_argument("--method", default=None, help="override segment.method (default: config's auto)")
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--mlflow", action="store_true", help="log the figures to ./mlflow.db")
    args = parser.parse_args()
    results = {}
    for suffix in (["txt", "html"] if args.format == "both" else [args.format]):
        start = time.perf_counter()
        print(f"{suffix}:")
        results[suffix] = evaluate(args.dev, suffix, args.method, args.verbose)
        results[suffix]["seconds"] = time.perf_counter() - start
        print(f"{suffix}: " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                        for k, v in results[suffix].items()))
    if args.mlflow:
        import mlflow

        mlflow.set_tracking_uri("sqlite:///mlflow.db")
        mlflow.set_experiment("article-structure")
        with mlflow.start_run(run_name=f"dev-{args.format}"):
            mlflow.log_params({"format": args.format, "method": args.method or "auto"})
            for suffix, figures in results.items():
                mlflow.log_metrics({f"{suffix}.{k}": float(v) for k, v in figures.items()})


if __name__ == "__main__":
    main()
