"""Chains the stages for one article: ingest -> segment -> score, each a child run under one parent.

Corpora are streamed by `pipeline.corpus`, which reuses the same stage functions."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import STARTED
from pipeline.config import RunConfig
from pipeline.ingest import parse, read_document
from pipeline.records import Article, Segmented
from pipeline.segment import segment_article

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Progress = Callable[[str, int, int], None]


@dataclass
class RunResult:
    """What a run produced, for the CLI to show."""

    run_id: str
    experiment_id: str
    tracking_uri: str
    run_name: str
    segmented: list[Segmented] = field(default_factory=list)
    scores: list = field(default_factory=list)
    report: str | None = None
    seconds: float = 0.0
    models: dict[str, str] = field(default_factory=dict)
    """Role -> the resolved model that scored (``models:/tone/3``), as in the sections table."""


def default_run_name(config_path: str | None, input_path: Path, overrides: list[str] | None = None) -> str:
    """``<config>[+key=value...]-<input>-<time>``: the settings given with ``--set`` show in the name
    (last key part only, e.g. ``default+context=section-example_article-1129-2017``), so two runs
    that differ only there are told apart in the runs table and the compare view."""
    stem = Path(config_path).stem if config_path else "defaults"
    hidden = ("tracking.", "run_name")  # where the run goes, not what it does
    shown = [o.split("=", 1) for o in overrides or [] if "=" in o and not o.startswith(hidden)]
    changed = "".join(f"+{key.rsplit('.', 1)[-1]}={value}" for key, value in shown)
    return f"{stem}{changed[:80]}-{input_path.stem}-{dt.datetime.now():%m%d-%H%M%S}"


def run_pipeline(
    config: RunConfig,
    input_path: Path,
    config_path: str | None = None,
    progress: Progress | None = None,
    models: dict[str, str] | None = None,
    overrides: list[str] | None = None,
) -> RunResult:
    """One article: each configured stage is a child run of one parent run (corpora: pipeline.corpus)."""
    import pandas as pd

    from pipeline import lineage, tracking

    start = time.perf_counter()
    doc = read_document(input_path, config.ingest, config.input.format)  # bad input fails before any run
    uri = tracking.connect(config.tracking)
    experiment = tracking.experiment_id(config.experiment, config.tracking)
    name = config.run_name or default_run_name(config_path, input_path, overrides)
    with tracking.run(name, experiment, tags={"input": str(input_path)}) as parent:
        tracking.log_config(config)
        lineage.log_code_version()
        used: dict[str, str] = {}
        if models:
            tracking.set_tags({f"model.{role}": uri for role, uri in models.items()})
            used = lineage.log_model_inputs(models)
        lineage.describe_run(input_path, used, overrides)
        with tracking.run("ingest", experiment, nested=True):
            articles = [parse(doc, config.ingest)]
            stage_metrics = _ingest_metrics(articles)
            tracking.log_metrics(stage_metrics)
            tracking.log_dataframe(pd.DataFrame(_dropped_rows(articles), columns=DROPPED_COLUMNS), "dropped")
        paragraphs = pd.DataFrame(_paragraph_rows(articles), columns=PARAGRAPH_COLUMNS)
        dataset = lineage.log_article_input(input_path, paragraphs)  # on the parent, now active again
        segmented: list[Segmented] = []
        if "segment" in config.stages:
            with tracking.run("segment", experiment, nested=True):
                segmented = [segment_article(a, config.segment) for a in articles]
                stage_metrics |= _segment_metrics(segmented)
                tracking.log_metrics(_segment_metrics(segmented))
                rows = _section_rows(segmented)
                tracking.log_dataframe(pd.DataFrame(rows, columns=SECTION_COLUMNS), "sections")
                tracking.log_text("\n".join(_json_line(s) for s in segmented) + "\n", "segments.jsonl")
        scores: list = []
        resolved: dict[str, str] = {}
        if "score" in config.stages and segmented:
            with tracking.run("score", experiment, nested=True):
                lineage.log_model_inputs(models or {}, tag_versions=False)  # the parent's id is the tag
                scores, score_metrics, resolved = _score_stage(config, segmented, models or {})
                stage_metrics |= score_metrics
        seconds = time.perf_counter() - start
        totals = stage_metrics | {"n_articles": 1, "n_failed": 0, "seconds": seconds}
        lineage.log_metrics_for_models(totals, resolved, dataset)  # tone.* / stance.* on the models' pages
        lineage.log_section_table(_ui_table(segmented, scores), config.tracking.table_rows)
    return RunResult(
        run_id=parent.info.run_id,
        experiment_id=experiment,
        tracking_uri=uri,
        run_name=name,
        segmented=segmented,
        scores=scores,
        report=report_path(parent.info.run_id) if scores else None,
        seconds=seconds,
        models=resolved,
    )


DROPPED_COLUMNS = ["article_id", "text", "reason"]
SECTION_COLUMNS = ["article_id", "section_index", "heading", "n_paragraphs", "n_words", "method", "text"]


PARAGRAPH_COLUMNS = ["article_id", "text"]  # strings only: MLflow warns on integer columns


def _paragraph_rows(articles: list[Article]) -> list[dict]:
    """The paragraphs the run read (after boilerplate), the rows of its dataset input."""
    return [{"article_id": a.id, "text": p} for a in articles for p in a.paragraphs]


def _ui_table(segmented: list[Segmented], scores: list) -> pd.DataFrame:
    """One row per section: structure and text, with the scores where the run scored them."""
    import pandas as pd

    from pipeline.score.tables import section_rows

    frame = pd.DataFrame(_section_rows(segmented), columns=SECTION_COLUMNS)
    if not scores:
        return frame
    scored = pd.DataFrame(section_rows(scores)).rename(columns={"index": "section_index"})
    keep = ["article_id", "section_index", "n_words", "method", "text"]
    return scored.merge(frame[keep], on=["article_id", "section_index"], how="left")


def _dropped_rows(articles: list[Article]) -> list[dict]:
    return [{"article_id": a.id, "text": d.text, "reason": d.reason} for a in articles for d in a.dropped]


def _section_rows(segmented: list[Segmented]) -> list[dict]:
    return [
        {
            "article_id": s.article.id,
            "section_index": sec.index,
            "heading": sec.heading,
            "n_paragraphs": len(sec.paragraphs),
            "n_words": len(sec.text.split()),
            "method": s.method,
            "text": sec.text,
        }
        for s in segmented
        for sec in s.sections
    ]


def _ingest_metrics(articles: list[Article]) -> dict[str, float]:
    return {
        "ingest.n_articles": len(articles),
        "ingest.n_paragraphs": sum(len(a.paragraphs) for a in articles),
        "ingest.n_headings": sum(len(a.headings) for a in articles),
        "ingest.n_dropped": sum(len(a.dropped) for a in articles),
        "ingest.n_with_title": sum(a.title is not None for a in articles),
    }


def _segment_metrics(segmented: list[Segmented]) -> dict[str, float]:
    n_sections = sum(len(s.sections) for s in segmented)
    return {
        "segment.n_articles": len(segmented),
        "segment.n_sections": n_sections,
        "segment.n_headed_sections": sum(1 for s in segmented for x in s.sections if x.heading),
        "segment.mean_sections_per_article": n_sections / len(segmented) if segmented else 0.0,
        "segment.n_by_headings": sum(s.method.startswith("headings") for s in segmented),
        "segment.n_by_topics": sum(s.method.startswith("topics") for s in segmented),
    }


def _json_line(segmented: Segmented) -> str:
    import json

    return json.dumps(segmented.to_json_dict(), ensure_ascii=False)


MAX_REPORTS = 20


def _score_stage(
    config: RunConfig, segmented: list[Segmented], models: dict[str, str]
) -> tuple[list, dict, dict[str, str]]:
    """Score sections, log the tables, plots and reports to the active (score) run.

    Each model is resolved now (an alias to its version) and loaded by what it resolved to; the
    sections table says which model scored each row (``tone_model``, ``stance_model``)."""
    import tempfile

    import pandas as pd

    from pipeline import tracking
    from pipeline.corpus.work import MODEL_COLUMNS
    from pipeline.keys import resolve_model
    from pipeline.report.html import render_report
    from pipeline.report.plots import stance_heatmap, tone_bar_chart
    from pipeline.score import score_sections
    from pipeline.score.models import load_resolved
    from pipeline.score.tables import article_metrics, section_rows, stance_rows
    from pipeline.score.targets import targets_from_config

    cfg = config.score
    resolved = {role: resolve_model(models.get(role, getattr(cfg, role).model))
                for role in ("tone", "stance") if getattr(cfg, role)}
    tracking.set_tags({f"model.{role}.resolved": m.label for role, m in resolved.items()}
                      | {f"model.{role}.identity": m.identity for role, m in resolved.items()})
    tone = load_resolved(resolved["tone"], cfg.device) if "tone" in resolved else None
    stance = load_resolved(resolved["stance"], cfg.device) if "stance" in resolved else None
    targets = targets_from_config(cfg.stance.targets, cfg.stance.case_sensitive) if cfg.stance else []
    for model in (tone, stance):
        if model is not None:
            model.configure_windows(max_length=cfg.max_length, stride=cfg.stride, batch_size=cfg.batch_size)
    start = time.perf_counter()
    context = (cfg.stance.context, cfg.stance.mention_words) if cfg.stance else ("mentions", None)
    scores = score_sections(segmented, tone, stance, targets, *context)
    seconds = time.perf_counter() - start
    metrics = article_metrics(scores) | {
        "score.seconds_since_start": time.perf_counter() - STARTED,  # first scores, model loading included
        "score.n_sections": len(scores),
        "score.seconds": seconds,
        "score.sections_per_s": len(scores) / seconds if seconds else 0.0,
    }
    tracking.log_metrics(metrics)
    table = pd.DataFrame(section_rows(scores))
    for n, (role, model) in enumerate(resolved.items()):
        table.insert(1 + n, MODEL_COLUMNS[role], model.label)
    tracking.log_dataframe(table, "sections")
    if targets:
        tracking.log_dataframe(pd.DataFrame(stance_rows(scores)), "stance")
    with tempfile.TemporaryDirectory() as tmp:
        for n, seg in enumerate(segmented[:MAX_REPORTS]):
            mine = [s for s in scores if s.article_id == seg.article.id]
            prefix = "" if len(segmented) == 1 else f"articles/{_safe(seg.article.id)}/"
            images = []
            if cfg.tone:
                images.append(tone_bar_chart(mine, Path(tmp) / f"tone_{n}.png", seg.article.title or ""))
            if targets:
                images.append(stance_heatmap(mine, Path(tmp) / f"stance_{n}.png", seg.article.title or ""))
            for image, artifact in zip(images, ["tone_per_section.png", "stance_heatmap.png"], strict=False):
                tracking.log_file(image, prefix + artifact)
            tracking.log_text(render_report(seg, mine, images), prefix + "report.html")
    return scores, metrics, {role: m.label for role, m in resolved.items()}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:100]


def report_path(parent_run_id: str) -> str | None:
    """Where the score run's report lies (a local path on a local store, else its URI)."""
    import mlflow

    client = mlflow.MlflowClient()
    run = client.get_run(parent_run_id)
    children = client.search_runs(
        [run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}' and attributes.run_name = 'score'",
    )
    if not children:
        return None
    uri = children[0].info.artifact_uri.rstrip("/") + "/report.html"
    return uri.removeprefix("file://")
