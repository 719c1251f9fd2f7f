"""Train the line model that ships in the package, on every silver and dev page.

Reproduces `pipeline/data/line_model/<version>/` (model.pkl + meta.json) from
../shared/articles/silver and ../shared/articles/dev; the figures that judge it come from cv.py
(site-grouped cross-validation), not from these pages.

Usage: python experiments/article-structure/train.py [--version v2] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import sklearn

from pipeline.ingest.line_model import MODELS_DIR
from pipeline.ingest.line_training import fit_line_model, load_folder

SHARED = Path(__file__).resolve().parents[3] / "shared" / "articles"
#: The decision rule cv.py --search chose on the site-grouped cross-validation.
DECISION_FILE = Path(__file__).resolve().parent / "decision.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="v2")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    pages = load_folder(SHARED / "silver", "silver") + load_folder(SHARED / "dev", "gold")
    model = fit_line_model(pages, seed=args.seed)
    decision = json.loads(DECISION_FILE.read_text(encoding="utf-8"))
    model.meta.update({
        "decision": decision,
        "version": args.version,
        "trained_on": "shared/articles/silver (silver labels) + shared/articles/dev (gold, weight 3)",
        "sklearn": sklearn.__version__,
        "command": "python experiments/article-structure/train.py "
                   f"--version {args.version} --seed {args.seed}",
    })
    out = MODELS_DIR / args.version
    model.save(out)
    size = (out / "model.pkl").stat().st_size
    print(f"{out}: {model.meta['pages']} pages, {model.meta['sites']} sites, {model.meta['lines']} lines, "
          f"{size / 1024:.0f} KiB, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
