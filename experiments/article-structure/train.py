"""Train the line model that ships in the package, on every silver and dev page.

Reproduces `pipeline/data/line_model/<version>/` (model.pkl + meta.json) from
../shared/articles/silver and ../shared/articles/dev; the figures that judge it come from cv.py
(site-grouped cross-validation), not from these pages.

Usage: python experiments/article-structure/train.py [--version v6] [--seed 0]
    v6: --labels reviewed3 --rules-free-weight 0.25 --tagger-weight 0.5 --tagger-seeds 2 --decoder
        decoder.json (the defaults; 32 embedding dimensions from 64 tokens; decision.json is stored too,
        though a decoder does not read it)
    v5: --version v5 --labels reviewed --tagger-seeds 1 --decoder decoder-v5.json
    v4: --version v4 --labels reviewed --tagger-weight 0 --decoder decoder-v4.json
    v3: --version v3 --labels reviewed --rules-free-weight 0 --tagger-weight 0 --decoder none
    v2: --version v2 --labels silver --embedding-dims 0 --rules-free-weight 0 --tagger-weight 0
        --decoder none (and its decision.json)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import sklearn
import torch

from pipeline.ingest.line_decoding import SequenceDecoder
from pipeline.ingest.line_embeddings import MAX_TOKENS
from pipeline.ingest.line_model import MODELS_DIR
from pipeline.ingest.line_training import fit_line_model, load_folder, load_review

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cv import REVIEW_FILES  # noqa: E402  (the review rounds by --labels, as the CV reads them)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "articles"
#: The decision rule cv.py --search chose on the site-grouped cross-validation.
DECISION_FILE = Path(__file__).resolve().parent / "decision.json"
#: The sequence decoder's settings cv.py --decoder page --search chose (its counts come from the pages).
DECODER_FILE = Path(__file__).resolve().parent / "decoder.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="v6")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labels", choices=(*REVIEW_FILES, "silver"), default="reviewed3",
                        help="silver pages' headings as reviewed (v6: reviewed3, the three rounds of "
                             "REVIEW-GUIDE.md; v5: reviewed, the first) or raw")
    parser.add_argument("--embedding-dims", type=int, default=32,
                        help="line-embedding principal components (0: shape features only, as v1/v2)")
    parser.add_argument("--embedding-tokens", type=int, default=MAX_TOKENS,
                        help="tokens of a line the encoder reads")
    parser.add_argument("--decision", type=Path, default=DECISION_FILE,
                        help="the decision rule (cv.py --search writes decision.json)")
    parser.add_argument("--rules-free-weight", type=float, default=0.25,
                        help="share of a second line model that does not read the rules' verdicts "
                             "(v4; 0: none)")
    parser.add_argument("--tagger-weight", type=float, default=0.5,
                        help="share of a BiGRU over each page's lines (line_tagger.py; v5; 0: none)")
    parser.add_argument("--tagger-seeds", type=int, default=2,
                        help="BiGRU networks averaged, each from its own seed (v6: 2, v5: 1)")
    parser.add_argument("--tagger-attention", type=int, default=0,
                        help="attention heads over the page's lines beside the BiGRU (line_tagger.py; v5: 0)")
    parser.add_argument("--decoder", default=str(DECODER_FILE),
                        help="the sequence decoder's settings (cv.py --decoder page --search writes "
                             "decoder.json); 'none': label line by line (v1-v3)")
    args = parser.parse_args()
    start = time.perf_counter()
    review = load_review(*REVIEW_FILES[args.labels]) if args.labels in REVIEW_FILES else None
    pages = load_folder(SHARED / "silver", "silver", review=review) + load_folder(SHARED / "dev", "gold")
    model = fit_line_model(pages, seed=args.seed, embedding_dims=args.embedding_dims,
                           embedding_tokens=args.embedding_tokens, rules_free_weight=args.rules_free_weight,
                           tagger_weight=args.tagger_weight,
                           tagger={"seeds": args.tagger_seeds, "attention_heads": args.tagger_attention})
    decision = json.loads(args.decision.read_text(encoding="utf-8"))
    if args.decoder != "none":
        settings = json.loads(Path(args.decoder).read_text(encoding="utf-8"))
        decoder = SequenceDecoder.fit([p.labels for p in pages], settings.pop("shape", "page"), **settings)
        model.meta["decoder"] = decoder.as_dict()
    model.meta.update({
        "decision": decision,
        "version": args.version,
        "trained_on": f"shared/articles/silver ({args.labels} labels) + shared/articles/dev (gold, weight 3)",
        "sklearn": sklearn.__version__,
        **({"torch": torch.__version__} if args.tagger_weight else {}),
        "command": "python experiments/article-structure/train.py "
                   f"--version {args.version} --seed {args.seed} --labels {args.labels} "
                   f"--embedding-dims {args.embedding_dims} --embedding-tokens {args.embedding_tokens}"
                   + (f" --rules-free-weight {args.rules_free_weight}" if args.rules_free_weight else "")
                   + (f" --tagger-weight {args.tagger_weight}" if args.tagger_weight else "")
                   + (f" --tagger-seeds {args.tagger_seeds}" if args.tagger_seeds != 1 else "")
                   + (f" --tagger-attention {args.tagger_attention}" if args.tagger_attention else "")
                   + (f" --decoder {Path(args.decoder).name}" if args.decoder != "none" else ""),
    })
    out = MODELS_DIR / args.version
    model.save(out)
    size = (out / "model.pkl").stat().st_size
    print(f"{out}: {model.meta['pages']} pages, {model.meta['sites']} sites, {model.meta['lines']} lines, "
          f"{size / 1024:.0f} KiB, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
