"""What a registered model version carries for a reader of its page: a description and figure tags.

The description (Markdown, shown on the version page) says the task, the labels and how to read
them, the data each split came from with its rows, the model, and the dev figures; the tags repeat
the main dev figures so that the registry's tables and searches show them
(``dev.macro_f1``, ``dev.accuracy``, ``dev.score``, ``dev.<source>.macro_f1``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.training.config import TrainConfig
    from pipeline.training.data import Splits

TAGGED = ("dev.macro_f1", "dev.accuracy", "dev.score", "dev.ece_calibrated")
TASKS = {
    "tone": "Tone of a news text",
    "stance": "Stance of a news text toward a target, read as the first text of a (target, text) pair",
}


def version_tags(metrics: dict[str, float]) -> dict[str, str]:
    """The main dev figures (and each source's dev macro-F1) as tags, rounded to 4 places."""
    keys = [k for k in metrics if k in TAGGED or (k.startswith("dev.") and k.endswith(".macro_f1")
                                                  and k.count(".") == 2 and not k.startswith("dev.ungated"))]
    return {k: f"{metrics[k]:.4f}" for k in keys}


def version_description(config: TrainConfig, splits: Splits, metrics: dict[str, float]) -> str:
    """A short Markdown description of the version: task, labels, data, model, dev figures."""
    lines = [
        f"**{TASKS.get(config.task, config.task)}.** Labels: {', '.join(config.label_list)}.",
        "Input: a DataFrame with `text`" + (" and `target`" if config.task == "stance" else "")
        + f"; output: `label` and {', '.join(f'`p_{lab}`' for lab in config.label_list)}.",
        "",
        f"**Model:** {_model_line(config)}.",
        "",
        "**Data** (rows per split):",
    ]
    for split in ("train", "dev", "test"):
        frame = getattr(splits, split)
        if frame is None or frame.empty:
            continue
        counts = frame.groupby("source", sort=False).size()
        parts = [f"{source} {n:,} ({splits.origins.get(source, '?')})" for source, n in counts.items()]
        lines.append(f"- {split}: " + "; ".join(parts))
    shown = ("dev.macro_f1", "dev.accuracy", "dev.ece_calibrated")
    figures = [f"{k.removeprefix('dev.')} {metrics[k]:.3f}" for k in shown if k in metrics]
    per_source = [f"{k.split('.')[1]} {metrics[k]:.3f}" for k in version_tags(metrics)
                  if k.count(".") == 2 and k not in TAGGED]
    lines += ["", "**Dev:** " + ", ".join(figures) + (f" (macro-F1 per source: {', '.join(per_source)})"
                                                         if per_source else "")]
    return "\n".join(lines)


def _model_line(config: TrainConfig) -> str:
    model = config.model
    if model.kind == "transformer":
        return f"{model.encoder} fine-tuned with a classification head (max {model.max_length} tokens)"
    if model.kind == "baseline":
        return "TF-IDF + logistic regression"
    return f"{model.kind} of {len(model.members or [])} classifiers"
