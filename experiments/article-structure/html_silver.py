"""Body F1, heading F1, invented headings and failures of the HTML path on the silver pages, per language.

Usage: python experiments/article-structure/html_silver.py [--silver DIR] [--method headings]
       [--lang LANG ...] [--verbose] [--mlflow]

Each `<id>.html` of ../shared/articles/silver is read with `pipeline.ingest.load_article` and segmented
with `pipeline.segment.segment_article`; the result is scored against `<id>.silver.json` (body = its
`headings` + `paragraphs` as a bag of lower-cased tokens; headings as normalised exact matches).
A *failure* is any exception on a page whose silver labels hold body text. Heading F1 is averaged over
the pages with 2 or more silver headings; *invented* counts predicted headings on pages with none.
Languages come from `manifest.jsonl` (`en-US` -> `en`, no tag -> `none`); scripts from the letters of the
silver body text (`script_of`), since many pages carry no language tag. Only figures are printed
and logged, never the pages' text (except the failure messages and headings with `--verbose`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import traceback
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

from pipeline.config import RunConfig, load_config
from pipeline.evaluation.segmentation import bag_f1, body_text, heading_f1
from pipeline.ingest import load_article
from pipeline.segment import segment_article

REPO = Path(__file__).resolve().parents[2]
SILVER = REPO.parent / "shared" / "articles" / "silver"
NAN = float("nan")
PER_LANGUAGE_METRICS = ("pages", "failures", "body_f1", "heading_f1", "invented", "invented_pages")
MIN_HEADINGS = 2  # heading F1 is averaged over pages with at least this many silver headings


def language(tag: str | None) -> str:
    """`en-US` -> `en`; no tag -> `none`."""
    return (tag or "none").split("-")[0].split("_")[0].lower() or "none"


def read_manifest(silver: Path) -> dict[str, str]:
    """Page id -> language, from `manifest.jsonl` (empty when there is none)."""
    path = silver / "manifest.jsonl"
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: language(row.get("lang")) for row in rows}


def script_of(text: str) -> str:
    """The main writing system of a text, from its letters' Unicode names: latin, cyrillic, greek,
    arabic, hangul, han (Chinese), kana (Japanese, when kana are a tenth of the letters or more)..."""
    names = {"HIRAGANA": "kana", "KATAKANA": "kana", "CJK": "han"}
    counts: Counter = Counter()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "OTHER").split()[0]
            counts[names.get(name, name.lower())] += 1
    if not counts:
        return "none"
    if counts["kana"] >= 0.1 * sum(counts.values()):
        return "kana"
    return counts.most_common(1)[0][0]


def segment_page(page: Path, config: RunConfig, method: str) -> dict:
    """The segmented page as JSON (title, standfirst, sections)."""
    article = load_article(page, config.ingest)
    return segment_article(article, config.segment, method).to_json_dict()


def score_page(page: Path, labels: dict, config: RunConfig, method: str) -> dict:
    """One row of figures for a page; a failure keeps its error message and scores an empty output."""
    gold_body = "\n\n".join([*labels.get("headings", []), *labels.get("paragraphs", [])])
    error = trace = None
    try:
        out = segment_page(page, config, method)
    except Exception as exc:  # noqa: BLE001 - every exception on a page is a failure to count
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        trace = traceback.format_exc()
        out = {"title": None, "standfirst": None, "sections": []}
    predicted = [s["heading"] for s in out["sections"] if s["heading"]]
    _, _, body = bag_f1(body_text(out), gold_body)
    hp, hr, hf = heading_f1(predicted, labels.get("headings", []))
    return {"page": page.stem, "body_f1": body, "heading_p": hp, "heading_r": hr, "heading_f1": hf,
            "n_gold_headings": len(labels.get("headings", [])), "n_pred_headings": len(predicted),
            "has_body": bool(gold_body.strip()), "error": error, "traceback": trace, "predicted": predicted,
            "gold_headings": labels.get("headings", []), "script": script_of(gold_body)}


def summarise(rows: list[dict]) -> dict:
    """Pages, failures, mean body F1, heading F1 over pages with >= MIN_HEADINGS, invented headings."""
    with_headings = [r for r in rows if r["n_gold_headings"] >= MIN_HEADINGS]
    without = [r for r in rows if r["n_gold_headings"] == 0]
    return {
        "pages": len(rows),
        "failures": sum(1 for r in rows if r["error"] and r["has_body"]),
        "body_f1": statistics.mean(r["body_f1"] for r in rows) if rows else NAN,
        "heading_pages": len(with_headings),
        "heading_f1": statistics.mean(r["heading_f1"] for r in with_headings) if with_headings else NAN,
        "pages_without": len(without),
        "invented": sum(r["n_pred_headings"] for r in without),
        "invented_pages": sum(1 for r in without if r["n_pred_headings"]),
    }


def print_page(row: dict) -> None:
    """One verbose line per page, with its error or its heading misses."""
    error = f"  {row['error']}" if row["error"] else ""
    print(f"  {row['page']:45s} body {row['body_f1']:.3f}  head F {row['heading_f1']:.2f} "
          f"({row['n_pred_headings']}/{row['n_gold_headings']}){error}")
    if row["heading_f1"] < 1 and row["n_gold_headings"] >= MIN_HEADINGS:
        print("     missed:", [h for h in row["gold_headings"] if h not in row["predicted"]][:5])
        print("     extra: ", [h for h in row["predicted"] if h not in row["gold_headings"]][:5])


def evaluate(silver: Path, method: str, langs: set[str] | None, verbose: bool) -> tuple[list[dict], dict]:
    """Score every silver HTML page (of the chosen languages); rows and language per page."""
    config = load_config(None)
    manifest = read_manifest(silver)
    rows: list[dict] = []
    for label_path in sorted(silver.glob("*.silver.json")):
        page_id = label_path.name.removesuffix(".silver.json")
        lang = manifest.get(page_id, "none")
        page = label_path.with_name(f"{page_id}.html")
        if (langs and lang not in langs) or not page.exists():
            continue
        labels = json.loads(label_path.read_text(encoding="utf-8"))
        row = score_page(page, labels, config, method)
        row["lang"] = lang
        rows.append(row)
        if verbose:
            print_page(row)
            if row["traceback"] and verbose > 1:
                print(row["traceback"])
    return rows, manifest


def by_group(rows: list[dict], field: str) -> dict[str, dict]:
    """Figures per value of `field` (`lang` or `script`), most pages first."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row[field]].append(row)
    return {lang: summarise(g) for lang, g in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))}


def print_table(overall: dict, groups: dict[str, dict], name: str = "lang") -> None:
    """The summary row and one row per group (language or script)."""
    header = f"{name:8s} {'pages':>5s} {'fail':>4s} {'body F1':>8s} {'head F1':>8s} {'(pages)':>7s} " \
             f"{'invented':>8s} {'on pages':>8s} {'(of w/o)':>8s}"
    print(header)
    print("-" * len(header))
    for group, f in [("all", overall), *groups.items()]:
        print(f"{group:8s} {f['pages']:5d} {f['failures']:4d} {f['body_f1']:8.3f} {f['heading_f1']:8.3f} "
              f"{f['heading_pages']:7d} {f['invented']:8d} {f['invented_pages']:8d} {f['pages_without']:8d}")


def log_mlflow(method: str, overall: dict, groups: dict[str, dict], seconds: float) -> None:
    """Log the figures to ./mlflow.db, experiment `article-structure`."""
    import mlflow

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    mlflow.set_experiment("article-structure")
    with mlflow.start_run(run_name="silver-html"):
        mlflow.log_params({"format": "html", "pages": "silver", "method": method,
                           "min_headings": MIN_HEADINGS})
        metrics = {f"silver.html.{k}": float(v) for k, v in overall.items()}
        for group, figures in groups.items():
            metrics.update({f"silver.html.{group}.{k}": float(v) for k, v in figures.items()
                            if k in PER_LANGUAGE_METRICS and v == v})  # NaN (no page with headings) left out
        metrics["silver.html.seconds"] = seconds
        mlflow.log_metrics(metrics)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--silver", type=Path, default=SILVER, help="folder of <id>.html + <id>.silver.json")
    parser.add_argument("--method", default="headings", help="segment method (default: headings)")
    parser.add_argument("--lang", nargs="*", help="only these languages (as in the table: en, ru, none...)")
    parser.add_argument("--verbose", "-v", action="count", default=0,
                        help="one line per page; twice: tracebacks of failures")
    parser.add_argument("--mlflow", action="store_true", help="log the figures to ./mlflow.db")
    args = parser.parse_args()
    start = time.perf_counter()
    rows, _ = evaluate(args.silver, args.method, set(args.lang) if args.lang else None, args.verbose)
    seconds = time.perf_counter() - start
    overall, per_lang, per_script = summarise(rows), by_group(rows, "lang"), by_group(rows, "script")
    print_table(overall, per_lang, "lang")
    print()
    print_table(overall, per_script, "script")
    for row in rows:
        if row["error"] and row["has_body"]:
            print(f"FAILED {row['page']} ({row['lang']}): {row['error']}")
    print(f"{seconds:.0f} s")
    if args.mlflow:
        groups = {f"lang.{k}": v for k, v in per_lang.items()}
        groups.update({f"script.{k}": v for k, v in per_script.items()})
        log_mlflow(args.method, overall, groups, seconds)


if __name__ == "__main__":
    main()
