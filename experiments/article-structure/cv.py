"""Site-grouped cross-validation of the learned line model against the plain-text rules.

Every page of ../shared/articles/silver and ../shared/articles/dev is parsed twice: by the rules
(`rules.v1`) and by a line model trained on the pages of the *other* folds (sites never shared
between folds: a page is never scored by a model that saw its site). Figures per group of pages,
per language and per kind of miss; `--mlflow` logs them to ./mlflow.db, experiment
`article-structure`.

Usage: python experiments/article-structure/cv.py [--folds 5] [--verbose] [--mlflow]
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import page_figures, parse_with  # noqa: E402

from pipeline.ingest.line_embeddings import MAX_TOKENS  # noqa: E402
from pipeline.ingest.line_model import DecisionRule, learned_labels  # noqa: E402
from pipeline.ingest.line_training import (  # noqa: E402
    LabelledPage,
    apply_review,
    fit_line_model,
    load_folder,
    load_review,
    model_features,
    page_embeddings,
    page_groups,
    site_name,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "articles"
DECISION_FILE = Path(__file__).resolve().parent / "decision.json"
#: Silver pages' candidate heading lines as reviewed (REVIEW-GUIDE.md): page, line, verdict.
REVIEW_FILE = Path(__file__).resolve().parent / "silver_review.jsonl"


def site_folds(pages: list[LabelledPage], folds: int) -> list[int]:
    """A fold per page: whole groups of pages (a site, or one template under many names: see
    `page_groups`) to a fold, biggest groups first to the emptiest fold."""
    groups = page_groups(pages)
    sizes = Counter(groups)
    load = [0] * folds
    fold_of_group = {}
    for group, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])):
        k = int(np.argmin(load))
        fold_of_group[group] = k
        load[k] += size
    return [fold_of_group[g] for g in groups]


def out_of_fold_probabilities(pages: list[LabelledPage], fold: list[int], args: argparse.Namespace,
                              extra: list[LabelledPage] = ()) -> dict[str, np.ndarray]:
    """Each page's line probabilities from a model trained on the other folds' sites (and `extra`
    pages, which are always learned from and never scored)."""
    probabilities: dict[str, np.ndarray] = {}
    for k in range(args.folds):
        train = [p for p, f in zip(pages, fold, strict=True) if f != k] + list(extra)
        model = fit_line_model(train, seed=args.seed, gold_weight=args.gold_weight,
                               heading_weight=args.heading_weight, max_iter=args.max_iter,
                               embedding_dims=args.embedding_dims, embedding_tokens=args.embedding_tokens)
        for page, f in zip(pages, fold, strict=True):
            if f == k:
                probabilities[page.id] = model.predict_proba(model_features(model, page))
    return probabilities


def cached_embeddings(pages: list[LabelledPage], cache: Path | None, tokens: int) -> None:
    """The pages' line embeddings from `tokens` tokens a line, kept beside the page cache
    (`<cache>.emb<tokens>.pkl`) so that a rerun skips the encoder; made and written when missing."""
    if cache is None:
        return
    path = cache.with_name(f"{cache.stem}.emb{tokens}.pkl")
    stored = pickle.loads(path.read_bytes()) if path.exists() else {}
    for page in pages:
        if page.id in stored:
            page.embeddings = {**(page.embeddings or {}), tokens: stored[page.id]}
    if any(page.id not in stored for page in pages):
        path.write_bytes(pickle.dumps({page.id: page_embeddings(page, tokens) for page in pages}))


def extra_pages(folder: Path | None, pages: list[LabelledPage]) -> list[LabelledPage]:
    """The weakly labelled pages of `folder` whose site is not the site of a scored page."""
    if folder is None:
        return []
    sites = {site_name(p.site) for p in pages}
    extra = [p for p in load_folder(folder, "silver") if site_name(p.site) not in sites]
    print(f"{len(extra)} extra pages from {folder} (always learned from, never scored)", flush=True)
    return extra


def score_pages(pages: list[LabelledPage], fold: list[int], probabilities: dict[str, np.ndarray],
                decision: DecisionRule, methods: tuple[str, ...] = ("rules", "learned")) -> list[dict]:
    """One row of figures a page and method."""
    rows = []
    for page, k in zip(pages, fold, strict=True):
        for method in methods:
            rows.append({"method": method, "page": page.id, "kind": page.kind, "site": page.site,
                         "lang": (page.lang or "none").split("-")[0].lower(), "fold": k,
                         **figures_of(page, method, probabilities[page.id], decision)})
    return rows


_FIGURES: dict[tuple, dict] = {}


def figures_of(page: LabelledPage, method: str, probabilities: np.ndarray, decision: DecisionRule) -> dict:
    """A page's figures for its line labels, remembered: most decision rules label most pages alike."""
    labels = learned_labels(page.verdicts, probabilities, decision) if method == "learned" else None
    key = (page.id, method, tuple(labels) if labels else None)
    if key not in _FIGURES:
        _FIGURES[key] = page_figures(page, parse_with(page, method, labels=labels))
    return _FIGURES[key]


#: The issue's bars on the dev pages (reviewed gold), which a decision rule must keep to be chosen.
DEV_BARS = {"heading_f1": 0.90, "body_f1": 0.95}


def objective(rows: list[dict]) -> float:
    """What the decision rule is chosen on: silver heading F1 + dev heading F1 + both body F1s,
    less 0.01 per invented heading on silver pages without headings; -inf where the dev figures
    fall below the issue's bars (`DEV_BARS`)."""
    silver = summarise([r for r in rows if r["kind"] == "silver"], "learned")
    dev = summarise([r for r in rows if r["kind"] == "gold"], "learned")
    if any(dev[key] < bar for key, bar in DEV_BARS.items()):
        return float("-inf")
    return (silver["heading_f1"] + dev["heading_f1"] + silver["body_f1"] + dev["body_f1"]
            - 0.01 * silver["invented_headings"])


def search_decision(pages: list[LabelledPage], probabilities: dict[str, np.ndarray],
                    verbose: bool = True) -> DecisionRule:
    """The decision rule with the best `objective` on the out-of-fold probabilities (a small grid)."""
    fold = [0] * len(pages)
    best, best_value = DecisionRule(), float("-inf")
    # add_heading 1.1 / keep_heading 0.0: the model never adds or drops a heading (the rules decide)
    grid = itertools.product((0.4, 0.5, 0.6, 0.7, 0.8, 1.1), (0.0, 0.05, 0.1, 0.2, 0.3),
                             ((0.7, 0.2), (0.8, 0.1)), (0.0, 0.7, 0.9))
    for add_h, keep_h, (add_p, keep_p), lone in grid:
        decision = DecisionRule(add_h, keep_h, add_p, keep_p, lone, stub_runs=1.0)
        value = objective(score_pages(pages, fold, probabilities, decision, ("learned",)))
        if value > best_value:
            best, best_value = decision, value
            if verbose:
                print(f"  {decision.as_dict()} -> {value:.3f}", flush=True)
    if best_value == float("-inf"):
        print("  no decision rule keeps the dev bars: the default one is returned", flush=True)
    return best


def nested_rows(pages: list[LabelledPage], fold: list[int], probabilities: dict[str, np.ndarray],
                folds: int) -> list[dict]:
    """Rows of the learned parser where each fold's decision rule is chosen on the other folds only,
    so that neither the model nor its thresholds ever saw the sites they are scored on."""
    rows = []
    for k in range(folds):
        others = [p for p, f in zip(pages, fold, strict=True) if f != k]
        mine = [p for p, f in zip(pages, fold, strict=True) if f == k]
        decision = search_decision(others, probabilities, verbose=False)
        print(f"  fold {k}: {decision.as_dict()}", flush=True)
        rows += score_pages(mine, [k] * len(mine), probabilities, decision, ("learned",))
    return rows


def parse_setting(text: str) -> tuple[str, float]:
    key, _, value = text.partition("=")
    return key, float(value)


def summarise(rows: list[dict], method: str) -> dict[str, float]:
    """Mean body F1, heading F1 on pages with >= 2 labelled headings, invented headings on pages with none."""
    mine = [r for r in rows if r["method"] == method]
    with_h = [r for r in mine if r["n_gold_headings"] >= 2]
    without = [r for r in mine if r["n_gold_headings"] == 0]
    return {
        "pages": len(mine),
        "body_f1": statistics.mean(r["body_f1"] for r in mine) if mine else float("nan"),
        "heading_f1": statistics.mean(r["heading_f1"] for r in with_h) if with_h else float("nan"),
        "heading_pages": len(with_h),
        "invented_headings": sum(r["n_pred_headings"] for r in without),
        "pages_with_invented": sum(r["n_pred_headings"] > 0 for r in without),
        "failures": sum(r["failed"] for r in mine),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gold-weight", type=float, default=3.0)
    parser.add_argument("--heading-weight", type=float, default=5.0)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--embedding-dims", type=int, default=0,
                        help="line-embedding features (line_embeddings.py): principal components; 0: none")
    parser.add_argument("--embedding-tokens", type=int, default=MAX_TOKENS,
                        help="tokens of a line the encoder reads (v3: 64)")
    parser.add_argument("--cache", type=Path, help="pickle of the loaded pages (made if missing)")
    parser.add_argument("--probabilities", type=Path,
                        help="pickle of the out-of-fold probabilities (made if missing, reused if there)")
    parser.add_argument("--search", action="store_true", help="choose the decision rule on the CV")
    parser.add_argument("--nested", action="store_true",
                        help="also score each fold with a decision rule chosen on the other folds")
    parser.add_argument("--decision", nargs="*", default=[], metavar="KEY=VALUE",
                        help="decision rule settings (add_heading=0.6 ...); default: decision.json")
    parser.add_argument("--labels", choices=("silver", "reviewed"), default="silver",
                        help="silver pages' headings: as reviewed (silver_review.jsonl, REVIEW-GUIDE.md) "
                             "or the raw silver labels")
    parser.add_argument("--extra", type=Path,
                        help="folder of weakly labelled pages (extra_pages.py): always trained on, never "
                             "scored; pages of a site among the scored pages are left out")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--mlflow", action="store_true", help="log the figures to ./mlflow.db")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # OpenMP trees on 2 busy cores crawl; one thread each is faster
    start = time.perf_counter()
    if args.cache and args.cache.exists():
        pages = pickle.loads(args.cache.read_bytes())
    else:
        pages = load_folder(SHARED / "silver", "silver") + load_folder(SHARED / "dev", "gold")
        if args.cache:
            args.cache.write_bytes(pickle.dumps(pages))
    if args.labels == "reviewed":
        review = load_review(REVIEW_FILE)
        pages = [apply_review(p, review.get(p.id, {})) if p.kind == "silver" else p for p in pages]
    print(f"{len(pages)} pages ({args.labels} labels), {len({p.site for p in pages})} sites, "
          f"{len(set(page_groups(pages)))} groups, "
          f"{sum(len(p.labels) for p in pages)} lines ({time.perf_counter() - start:.0f} s)", flush=True)
    fold = site_folds(pages, args.folds)
    if args.probabilities and args.probabilities.exists():
        probabilities = pickle.loads(args.probabilities.read_bytes())
    else:
        if args.embedding_dims:
            cached_embeddings(pages, args.cache, args.embedding_tokens)
        probabilities = out_of_fold_probabilities(pages, fold, args, extra_pages(args.extra, pages))
        if args.probabilities:
            args.probabilities.write_bytes(pickle.dumps(probabilities))
    print(f"out-of-fold probabilities ({time.perf_counter() - start:.0f} s)", flush=True)
    if args.search:
        decision = search_decision(pages, probabilities)
    elif args.decision:
        decision = DecisionRule(**dict(parse_setting(kv) for kv in args.decision))
    else:
        decision = DecisionRule(**json.loads(DECISION_FILE.read_text(encoding="utf-8")))
    print(f"decision rule: {decision.as_dict()}", flush=True)
    if args.search:
        DECISION_FILE.write_text(json.dumps(decision.as_dict(), indent=2) + "\n", encoding="utf-8")
        print(f"written to {DECISION_FILE} (train.py stores it with the model)")
    rows = score_pages(pages, fold, probabilities, decision)
    report(rows, args.verbose)
    if args.nested:
        print("\nnested: each fold's decision rule chosen on the other folds", flush=True)
        nested = nested_rows(pages, fold, probabilities, args.folds)
        for name, kind in (("silver", "silver"), ("dev", "gold")):
            s = summarise([r for r in nested if r["kind"] == kind], "learned")
            print(f"{name:8s} nested   {s['pages']:4d} {s['body_f1']:8.3f} {s['heading_f1']:8.3f} "
                  f"{s['heading_pages']:8d} {s['invented_headings']:9d} {s['pages_with_invented']:9d}")
    if args.mlflow:
        log_to_mlflow(rows, args)


def report(rows: list[dict], verbose: bool) -> None:
    """Tables: per kind of page, per language; misses by kind."""
    groups = {"silver": lambda r: r["kind"] == "silver", "dev": lambda r: r["kind"] == "gold"}
    print(f"\n{'pages':8s} {'method':8s} {'n':>4s} {'body F1':>8s} {'head F1':>8s} {'(pages)':>8s} "
          f"{'invented':>9s} {'on pages':>9s} {'fails':>6s}")
    for name, keep in groups.items():
        for method in ("rules", "learned"):
            s = summarise([r for r in rows if keep(r)], method)
            print(f"{name:8s} {method:8s} {s['pages']:4d} {s['body_f1']:8.3f} {s['heading_f1']:8.3f} "
                  f"{s['heading_pages']:8d} {s['invented_headings']:9d} {s['pages_with_invented']:9d} "
                  f"{s['failures']:6d}")
    print("\nsilver by language (body F1 / heading F1 rules -> learned):")
    by_lang = defaultdict(list)
    for r in rows:
        if r["kind"] == "silver":
            by_lang[r["lang"]].append(r)
    for lang, mine in sorted(by_lang.items(), key=lambda kv: -len(kv[1])):
        a, b = summarise(mine, "rules"), summarise(mine, "learned")
        print(f"  {lang:6s} {a['pages']:4d} body {a['body_f1']:.3f} -> {b['body_f1']:.3f}   "
              f"head {a['heading_f1']:.3f} -> {b['heading_f1']:.3f} ({a['heading_pages']} pages)")
    misses = Counter()
    for r in rows:
        if r["method"] == "learned":
            misses.update(r["miss_kinds"])
    print("\nlearned, kinds of heading error (all pages):", dict(misses.most_common()))
    if verbose:
        learned = {r["page"]: r for r in rows if r["method"] == "learned"}
        for r in rows:
            if r["method"] == "rules" and (r["n_gold_headings"] or learned[r["page"]]["n_pred_headings"]):
                b = learned[r["page"]]
                print(f"  {r['page'][:44]:44s} head {r['heading_f1']:.2f} -> {b['heading_f1']:.2f} "
                      f"({b['n_pred_headings']}/{r['n_gold_headings']}) body {r['body_f1']:.2f} -> "
                      f"{b['body_f1']:.2f}  missed {b['missed'][:3]} extra {b['extra'][:3]}")


def log_to_mlflow(rows: list[dict], args: argparse.Namespace) -> None:
    import mlflow

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    mlflow.set_experiment("article-structure")
    with mlflow.start_run(run_name="line-model-site-cv"):
        mlflow.log_params({"folds": args.folds, "seed": args.seed, "grouping": "site",
                           "extra": str(args.extra) if args.extra else "", "labels": args.labels,
                           "gold_weight": args.gold_weight, "heading_weight": args.heading_weight,
                           "max_iter": args.max_iter, "embedding_dims": args.embedding_dims,
                           "embedding_tokens": args.embedding_tokens})
        for kind in ("silver", "gold"):
            for method in ("rules", "learned"):
                s = summarise([r for r in rows if r["kind"] == kind], method)
                mlflow.log_metrics({f"{kind}.{method}.{k}": float(v) for k, v in s.items()})
        import pandas as pd

        table = pd.DataFrame([{k: v for k, v in r.items() if k not in ("missed", "extra", "miss_kinds")}
                              for r in rows])
        mlflow.log_table(table, "cv_pages.json")


if __name__ == "__main__":
    main()
