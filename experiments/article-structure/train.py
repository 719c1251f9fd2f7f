"""Train the line model that ships in the package, on every silver and dev page.

Reproduces `pipeline/data/line_model/<version>/` (model.pkl + meta.json) from
../shared/articles/silver and ../shared/articles/dev; the figures that judge it come from cv.py
(site-grouped cross-validation), not from these pages.

Usage: python experiments/article-structure/train.py [--version v3] [--seed 0]
    v3: --labels reviewed --embedding-dims 32 --embedding-tokens 64 (the defaults, decision.json)
    v2: --labels silver --embedding-dims 0 (and its decision.json of the time)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import sklearn

from pipeline.ingest.line_embeddings import MAX_TOKENS
from pipeline.ingest.line_model import MODELS_DIR
from pipeline.ingest.line_training import fit_line_model, load_folder, load_review

SHARED = Path(__file__).resolve().parents[3] / "shared" / "articles"
#: The decision rule cv.py --search chose on the site-grouped cross-validation.
DECISION_FILE = Path(__file__).resolve().parent / "decision.json"
REVIEW_FILE = Path(__file__).resolve().parent / "silver_review.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="v3")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labels", choices=("reviewed", "silver"), default="reviewed",
                        help="silver pages' headings as reviewed (silver_review.jsonl) or raw")
    parser.add_argument("--embedding-dims", type=int, default=32,
                        help="line-embedding principal components (0: shape features only, as v1/v2)")
    parser.add_argument("--embedding-tokens", type=int, default=MAX_TOKENS,
                        help="tokens of a line the encoder reads")
    parser.add_argument("--decision", type=Path, default=DECISION_FILE,
                        help="the decision rule (cv.py --search writes decision.json)")
    args = parser.parse_args()
    start = time.perf_counter()
    review = load_review(REVIEW_FILE) if args.labels == "reviewed" else None
    pages = load_folder(SHARED / "silver", "silver", review=review) + load_folder(SHARED / "dev", "gold")
    model = fit_line_model(pages, seed=args.seed, embedding_dims=args.embedding_dims,
                           embedding_tokens=args.embedding_tokens)
    decision = json.loads(args.decision.read_text(encoding="utf-8"))
    model.meta.update({
        "decision": decision,
        "version": args.version,
        "trained_on": f"shared/articles/silver ({args.labels} labels) + shared/articles/dev (gold, weight 3)",
        "sklearn": sklearn.__version__,
        "command": "python experiments/article-structure/train.py "
                   f"--version {args.version} --seed {args.seed} --labels {args.labels} "
                   f"--embedding-dims {args.embedding_dims} --embedding-tokens {args.embedding_tokens}",
    })
    out = MODELS_DIR / args.version
    model.save(out)
    size = (out / "model.pkl").stat().st_size
    print(f"{out}: {model.meta['pages']} pages, {model.meta['sites']} sites, {model.meta['lines']} lines, "
          f"{size / 1024:.0f} KiB, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
