"""Score records as tables: one row per section (wide, per-target columns) and per section-target."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pipeline.score import STANCE_LABELS, TONE_LABELS, SectionScore


def section_rows(scores: Sequence[SectionScore]) -> list[dict]:
    """index, heading, n_tokens, tone_label, p_negative..., tone_score, then per target
    `<target>.stance_label`, `<target>.p_against`, ..., `<target>.stance_score`, `<target>.mentions`."""
    rows = []
    for s in scores:
        row: dict = {
            "article_id": s.article_id,
            "index": s.index,
            "heading": s.heading,
            "n_tokens": s.n_tokens,
            "tone_label": s.tone_label,
        }
        for label in TONE_LABELS:
            row[f"p_{label}"] = s.tone_probs[label] if s.tone_probs else None
        row["tone_score"] = s.tone_score
        for r in s.stance:
            row[f"{r.target}.stance_label"] = r.label
            for label in STANCE_LABELS:
                row[f"{r.target}.p_{label}"] = r.probs[label] if r.probs else None
            row[f"{r.target}.stance_score"] = r.score
            row[f"{r.target}.mentions"] = r.mentions
        rows.append(row)
    return rows


def stance_rows(scores: Sequence[SectionScore]) -> list[dict]:
    """Long form: one row per section and target, with the reason where nothing was scored."""
    return [
        {
            "article_id": s.article_id,
            "index": s.index,
            "heading": s.heading,
            "target": r.target,
            "mentions": r.mentions,
            "stance_label": r.label,
            **{f"p_{label}": (r.probs[label] if r.probs else None) for label in STANCE_LABELS},
            "stance_score": r.score,
            "reason": r.reason,
        }
        for s in scores
        for r in s.stance
    ]


def article_metrics(scores: Sequence[SectionScore]) -> dict[str, float]:
    """Mean tone score, share of negative and positive sections, mean stance score per target."""
    metrics: dict[str, float] = {}
    toned = [s for s in scores if s.tone_probs]
    if toned:
        metrics["tone.mean_score"] = sum(s.tone_score for s in toned) / len(toned)
        metrics["tone.share_negative"] = sum(s.tone_label == "negative" for s in toned) / len(toned)
        metrics["tone.share_positive"] = sum(s.tone_label == "positive" for s in toned) / len(toned)
    by_target: dict[str, list[float]] = {}
    for s in scores:
        for r in s.stance:
            by_target.setdefault(r.target, [])
            if r.score is not None:
                by_target[r.target].append(r.score)
    for target, values in by_target.items():
        key = metric_key(target)
        metrics[f"stance.{key}.n_sections"] = len(values)
        if values:
            metrics[f"stance.{key}.mean_score"] = sum(values) / len(values)
    return {k: v for k, v in metrics.items() if not (isinstance(v, float) and math.isnan(v))}


def metric_key(name: str) -> str:
    """MLflow metric names allow letters, digits, _ - . / and spaces; keep the rest out."""
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in name)
