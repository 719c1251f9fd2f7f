"""Thin command line: parse arguments, call `pipeline.api`, turn our errors into one-line messages.

Heavy modules (torch, transformers, mlflow) are imported inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

EPILOG = "Run 'pipeline COMMAND --help' for a command's options. Docs: README.md."


def _add_config_options(parser: argparse.ArgumentParser, config_positional: bool) -> None:
    if config_positional:
        parser.add_argument("config", metavar="CONFIG", help="YAML config file (see configs/)")
    else:
        parser.add_argument("--config", metavar="FILE", help="YAML config file (default: built-in defaults)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override any config key, e.g. --set segment.method=topics (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline",
        description="Read news articles, split them into sections, score the tone and the stance of "
        "every section, and track every run in MLflow.",
        epilog=EPILOG,
    )
    parser.add_argument("--debug", action="store_true",
                        help="show full tracebacks on errors, and every library warning and MLflow's log")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = commands.add_parser(
        "segment", help="split an article (or a corpus) into sections and print them",
        description="Ingest an article (.txt as scraped, .html, .md) or a corpus (a folder, or JSONL with "
        "'id' and 'text' or 'html') and split it into sections. With --json, prints one JSON object a "
        "line: {title, standfirst, sections: [{index, heading, paragraphs}], dropped: [{text, reason}]}, "
        "plus 'id' for corpus articles.",
    )
    p.add_argument("input", metavar="INPUT", help="article file, folder of articles, or JSONL corpus")
    _add_config_options(p, config_positional=False)
    p.add_argument("--method", choices=["headings", "topics", "paragraphs"],
                   help="override the configured segmentation method")
    p.add_argument("--json", action="store_true", help="print one JSON object per article, one a line")

    p = commands.add_parser(
        "run", help="run the configured stages and record an MLflow run",
        description="Run the stages named in CONFIG over its input (or --input) and record a parent "
        "MLflow run with one child run per stage: resolved config as params, tables as artifacts, "
        "counts as metrics.",
    )
    _add_config_options(p, config_positional=True)
    p.add_argument("--input", metavar="PATH", help="article or corpus (overrides input.path)")
    p.add_argument(
        "--output", metavar="DIR",
        help="for a corpus (folder, JSONL or Parquet): write DIR/sections/*.parquet (one row per section) "
        "and DIR/errors.parquet; rerunning with the same DIR resumes "
        "(default: outputs/<config name>-<input name>)",
    )
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="articles per committed part file in a corpus run (default 64; with --engine spark, "
                   "articles per batch on an executor)")
    p.add_argument("--engine", choices=["local", "spark"], default=None,
                   help="where a corpus run runs: local (this process) or spark (a Spark session: "
                   "engine.master, engine.conf; needs pip install -e \".[spark]\" and Java 17); "
                   "default: engine.kind in CONFIG (local)")

    p = commands.add_parser(
        "ui", help="open the MLflow UI on the tracking store",
        description="Start the MLflow UI on the store the config points at (default: ./mlflow.db). "
        "Binds to 127.0.0.1 unless --host says otherwise.",
    )
    _add_config_options(p, config_positional=False)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5000, help="port (default 5000)")

    p = commands.add_parser(
        "train", help="train, evaluate and register a tone or stance classifier",
        description="Train the classifier described by CONFIG (see configs/train/), log held-out "
        "metrics, plots and data set lineage to MLflow, and register it as models:/NAME@ALIAS. "
        "A transformer's training state is saved every model.checkpoint_minutes (default 10) and on "
        "Ctrl-C; rerunning the same command resumes it in the same MLflow run.",
    )
    _add_config_options(p, config_positional=True)
    p.add_argument("--fresh", action="store_true", help="discard a saved training state and start over")

    p = commands.add_parser(
        "evaluate", help="evaluate a model on a labelled file",
        description="Evaluate a model (models:/NAME@ALIAS, a runs:/ URI or a local folder) on a labelled "
        "file with columns text, label (and target for stance). With --json the last line of stdout is "
        '{"n", "accuracy", "macro_f1", "per_class": {label: {precision, recall, f1, support}}}.',
    )
    p.add_argument("--model", required=True, metavar="URI_OR_FOLDER", help="model URI or local folder")
    p.add_argument("--data", required=True, metavar="FILE", help="labelled JSONL, CSV or Parquet file")
    _add_config_options(p, config_positional=False)  # tracking.uri: the store a models:/ URI is read from
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON line")

    p = commands.add_parser(
        "bench", help="time the scorer against transformers.pipeline on the same sections",
        description="Score the same N sections (20-600 tokens, cut from ../shared data) with the same tone "
        "model two ways in one process: transformers.pipeline called once per section (fp32), and the "
        "project's scorer. Reports sections/s, their ratio, p50/p95 latency per article, peak RSS and "
        "label agreement, and logs them to MLflow (experiment 'bench'). With several --model or --dev, "
        "it also scores the same sections with each model (the project's scorer only) and evaluates each "
        "on the dev sets: sections/s, p50/p95 per article, peak RSS and dev macro-F1 per model. With --json "
        "the last line of stdout is one JSON object.",
    )
    p.add_argument("--n", type=int, default=2000, help="sections to score (default 2000)")
    p.add_argument("--model", action="append", default=None, metavar="URI",
                   help="tone model URI or folder (default models:/tone@champion); repeat to compare models "
                   "(the transformers.pipeline comparison runs for the first one only)")
    p.add_argument("--dev", action="append", default=[], metavar="NAME=PATH",
                   help="a labelled JSONL/CSV file (text, label; target for stance) each model is evaluated "
                   "on (macro-F1); repeatable")
    p.add_argument("--device", default="auto",
                   help="where the models score: auto (CUDA when available, else CPU), cpu, cuda or cuda:N")
    p.add_argument("--stance-model", default=None, metavar="URI",
                   help="also time tone + stance toward 5 targets each section mentions against tone alone")
    p.add_argument("--shared", default=None, metavar="DIR", help="the shared data folder (default ../shared)")
    _add_config_options(p, config_positional=False)
    p.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    return parser


def _version() -> str:
    from pipeline import __version__

    return f"pipeline {__version__}"


# --- commands -----------------------------------------------------------------------------------


def cmd_segment(args: argparse.Namespace) -> int:
    from pipeline import api
    from pipeline.errors import InputError

    config = api.load_run_config(args.config, args.overrides)
    n_ok = n_failed = 0
    corpus = _is_corpus(args.input)
    for item in api.segment(args.input, config, args.method):
        if isinstance(item, InputError):
            if not corpus:
                raise item
            n_failed += 1
            print(f"warning: skipped {item}", file=sys.stderr)
            continue
        n_ok += 1
        if args.json:
            print(json.dumps(item.to_json_dict(with_id=corpus), ensure_ascii=False), flush=True)
        else:
            _print_segmented(item)
    if corpus and n_ok == 0:
        raise InputError(f"every article in {args.input} failed ({n_failed} skipped)")
    return 0


def _is_corpus(path: str) -> bool:
    from pipeline.ingest import is_corpus

    return is_corpus(path)


def _print_segmented(item) -> None:
    from rich.console import Console

    console = Console()
    article = item.article
    console.rule(f"[bold]{article.title or article.id}")
    if article.standfirst:
        console.print(f"[italic]{article.standfirst}")
    for section in item.sections:
        words = len(section.text.split())
        console.print(f"\n[bold cyan]§{section.index}[/] {section.heading or '(no heading)'} "
                      f"[dim]{len(section.paragraphs)} paragraphs, {words} words[/]")
        first = section.paragraphs[0] if section.paragraphs else ""
        console.print(f"  [dim]{first[:160]}{'…' if len(first) > 160 else ''}[/]")
    console.print(f"\n[dim]method {item.method}; {len(article.dropped)} lines dropped as boilerplate[/]")


def cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from pipeline import api

    bar = _ProgressBars()
    try:
        result = api.run(args.config, args.overrides, args.input, progress=bar.update,
                         output=args.output, batch_size=args.batch_size, engine=args.engine)
    finally:
        bar.close()
    if not hasattr(result, "segmented"):
        return _print_corpus_summary(result, args)
    console = Console()
    console.print(_sections_table(result))
    console.print(f"run id:      {result.run_id}")
    console.print(f"experiment:  {result.experiment_id}   store: {result.tracking_uri}")
    if result.report:
        console.print(f"report:      {result.report}")
    console.print(f"look:        pipeline ui{_ui_hint(args)}, then "
                  f"{ui_url(UI_BASE, result.experiment_id, result.run_id)}", soft_wrap=True)
    return 0


def _sections_table(result, limit: int = 60):
    """One row per section: structure, and tone and stance where the run scored them."""
    from rich.table import Table

    scores = {(s.article_id, s.index): s for s in result.scores}
    targets = [r.target for r in result.scores[0].stance] if result.scores else []
    many = len(result.segmented) > 1
    table = Table(title=f"{result.run_name}: {sum(len(s.sections) for s in result.segmented)} sections")
    for column in [*(["article"] if many else []), "§", "heading", "words"]:
        table.add_column(column)
    if scores:
        table.add_column("tone")
    for target in targets:
        table.add_column(target)
    rows = [(seg, sec) for seg in result.segmented for sec in seg.sections]
    for seg, section in rows[:limit]:
        cells = [*([seg.article.id] if many else []), str(section.index), section.heading or "—",
                 str(len(section.text.split()))]
        score = scores.get((seg.article.id, section.index))
        if score is not None:
            cells.append(f"{score.tone_label} {score.tone_score:+.2f}" if score.tone_probs else "—")
            cells.extend(f"{r.label} {r.score:+.2f} ({r.mentions})" if r.label else "·" for r in score.stance)
        table.add_row(*cells)
    if len(rows) > limit:
        table.caption = f"first {limit} of {len(rows)} sections; all of them are in the run's tables"
    elif targets:
        table.caption = "stance: label, p(favor) − p(against), (mentions); · = target not mentioned"
    return table


def _print_corpus_summary(result, args: argparse.Namespace) -> int:
    from pipeline.corpus import show_errors

    print(f"done {result.done}  skipped {result.skipped}  failed {result.failed}  "
          f"sections {result.sections}  time {result.seconds:.1f} s ({result.articles_per_s:.1f} articles/s, "
          f"peak RSS {result.peak_rss_mb:.0f} MB)")
    print(f"results:     {result.output / 'sections'}/ ({result.parts} part files), "
          f"{result.output / 'errors.parquet'}")
    if result.recomputed:
        parts = result.recomputed_because
        more = f" and {len(parts) - 6} more" if len(parts) > 6 else ""
        because = f"{', '.join(parts[:6])}{more} changed" if parts else "their content changed"
        print(f"recomputed:  {result.recomputed} articles done before, because {because} (see keys.json)")
    shown = show_errors(result.errors)
    for line in shown:
        print(f"failed:      {line}")
    if result.failed > len(shown):
        print(f"             ... and {result.failed - len(shown)} more in errors.parquet")
    print(f"run id:      {result.run_id}")
    print(f"experiment:  {result.experiment_id}   store: {result.tracking_uri}")
    page = ui_url(UI_BASE, result.experiment_id, result.run_id)
    print(f"look:        pipeline ui{_ui_hint(args)}, then {page}")
    return 0


UI_BASE = "http://127.0.0.1:5000"  # where `pipeline ui` serves by default


def ui_url(base: str, experiment_id: str | None, run_id: str | None = None) -> str:
    from pipeline.tracking import ui_url as url

    return url(base, experiment_id, run_id)


def _ui_hint(args: argparse.Namespace) -> str:
    return f" --config {args.config}" if getattr(args, "config", None) else ""


class _ProgressBars:
    """One tqdm bar per stage, on stderr, shown only for more than one article."""

    def __init__(self) -> None:
        self._bars: dict = {}

    def update(self, stage: str, done: int, total: int) -> None:
        if total <= 1:
            return
        if stage not in self._bars:
            from tqdm import tqdm

            self._bars[stage] = tqdm(total=total, desc=stage, unit="article", file=sys.stderr)
        bar = self._bars[stage]
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()


def cmd_ui(args: argparse.Namespace) -> int:
    import mlflow

    from pipeline import api
    from pipeline.tracking import find_experiment, resolve_uri

    config = api.load_run_config(args.config, args.overrides)
    uri = resolve_uri(config.tracking)
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
               "--host", args.host, "--port", str(args.port)]
    base = f"http://{args.host}:{args.port}"
    mlflow.set_tracking_uri(uri)
    page = ui_url(base, find_experiment(config.experiment))
    print(f"MLflow UI on {base} for {uri} (Ctrl-C to stop)\nopen:        {page}", file=sys.stderr)
    os.execv(sys.executable, command)
    return 0  # not reached


def cmd_train(args: argparse.Namespace) -> int:
    from pipeline.training.api import train_from_config

    summary = train_from_config(args.config, args.overrides, fresh=args.fresh)
    for key, value in summary.items():
        print(f"{key}: {value}")
    if any(key.startswith("teacher.dev.") for key in summary.get("metrics") or {}):
        from pipeline.training.distill import side_by_side

        print(side_by_side(summary["metrics"]))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pipeline import api
    from pipeline.training.api import evaluate_model

    config = api.load_run_config(args.config, args.overrides)
    result = evaluate_model(args.model, args.data, config.tracking)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"n {result['n']}  accuracy {result['accuracy']:.3f}  macro-F1 {result['macro_f1']:.3f}")
    for label, row in result["per_class"].items():
        print(f"  {label:10s} P {row['precision']:.3f}  R {row['recall']:.3f}  F1 {row['f1']:.3f}  "
              f"n {row['support']}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from pipeline import api
    from pipeline.bench import bench
    from pipeline.score.models import check_model_reference
    from pipeline.tracking import connect

    device = _bench_device(args.device)
    models = args.model or ["models:/tone@champion"]
    dev_sets = _dev_sets(args.dev)
    config = api.load_run_config(args.config, args.overrides)
    connect(config.tracking)
    for reference in filter(None, (*models, args.stance_model)):
        check_model_reference(reference)
    shared = Path(args.shared) if args.shared else Path.cwd().parent / "shared"
    figures = bench(models, args.n, shared, config.tracking, args.stance_model, device=device,
                    dev_sets=dev_sets)
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"{figures['n']} sections (mean {figures['mean_tokens']:.0f} tokens, window {figures['window']})")
    for name, key in (("transformers.pipeline", "baseline"), ("pipeline scorer", "pipeline")):
        rate, p50, p95 = (figures[f"{key}_{k}"] for k in ("sections_per_s", "p50_article_s", "p95_article_s"))
        print(f"  {name:22s} {rate:.1f} sections/s, p50 {p50:.2f} s / p95 {p95:.2f} s per article")
    print(f"  ratio {figures['ratio']:.2f}x   agreement {figures['agreement']:.4f}   "
          f"peak RSS {figures['peak_rss_mb']:.0f} MB   run {figures['run_id']}")
    if "target_cost_ratio" in figures:
        print(f"  tone + stance (5 targets, {figures['target_sections']} sections): "
              f"{figures['target_cost_ratio']:.2f}x tone alone reading mention sentences, "
              f"{figures['target_cost_ratio_whole_sections']:.2f}x reading whole sections")
    if "models" in figures:
        _print_models(figures, list(dev_sets))
    return 0


def _bench_device(setting: str) -> str:
    """The resolved device for ``--device``; a one-line error where it is unknown or absent here."""
    from pipeline.errors import ConfigError
    from pipeline.models.device import resolve_device

    try:
        return resolve_device(setting)
    except ValueError as exc:
        raise ConfigError(f"--device: {exc}") from None


def _dev_sets(items: list[str]) -> dict[str, Path]:
    """``--dev NAME=PATH`` values as {name: path}, each name unique and each file present."""
    from pipeline.errors import ConfigError

    sets: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or not path:
            raise ConfigError(f"--dev {item!r}: expected NAME=PATH (NAME: letters, digits, '_', '.', '-')")
        if name in sets:
            raise ConfigError(f"--dev {name}: given twice")
        if not Path(path).is_file():
            raise ConfigError(f"--dev {name}: file not found: {path}")
        sets[name] = Path(path)
    return sets


def _print_models(figures: dict, names: list[str]) -> None:
    """Speed against quality, one line per model; a dev set a model was not evaluated on shows '-'."""
    rows = figures["models"]
    print(f"\nmodels on {figures['device']} ({figures['device_name']}, {figures['precision']}), "
          f"{figures['n']} sections:")
    header = f"  {'':7s} {'sections/s':>10s} {'p50 s':>7s} {'p95 s':>7s} {'RSS MB':>7s}"
    print(header + "".join(f" {('F1 ' + name)[:12]:>12s}" for name in names) + "  model")
    for i, row in enumerate(rows, 1):
        line = (f"  model{i:<2d} {row['sections_per_s']:10.1f} {row['p50_article_s']:7.3f} "
                f"{row['p95_article_s']:7.3f} {row['peak_rss_mb']:7.0f}")
        line += "".join(f" {row['dev'][n]:12.4f}" if n in row["dev"] else f" {'-':>12s}" for n in names)
        print(f"{line}  {row['model']}")


COMMANDS = {"bench": cmd_bench, "segment": cmd_segment, "run": cmd_run, "ui": cmd_ui, "train": cmd_train,
            "evaluate": cmd_evaluate}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if args.debug:
        _show_library_output()
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from pipeline.errors import PipelineError

        if args.debug:
            raise
        if isinstance(exc, PipelineError):
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
        print(f"error: unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
              "(rerun with --debug for the traceback)", file=sys.stderr)
        return 1


def _show_library_output() -> None:
    """--debug: every warning once per place (deprecations included) and MLflow's INFO log."""
    import logging
    import warnings

    warnings.simplefilter("default")
    os.environ["PIPELINE_DEBUG"] = "1"
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mlflow").setLevel(logging.INFO)


def entry() -> None:
    """The `pipeline` command: run it, run the exit handlers, then skip the interpreter's teardown.

    Tearing down torch, transformers and MLflow modules takes about 2 s on a 2-core machine and does
    nothing for the user: every file is closed and every exit handler (MLflow's included) has run.
    """
    import atexit

    code = main()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
