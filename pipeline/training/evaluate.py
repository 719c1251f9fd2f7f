"""Metrics, plots and calibration of a classifier's predictions.

- :func:`classification_metrics`: accuracy, macro-F1, per-class precision / recall / F1 / support;
  :func:`evaluate_classifier` gives them for a classifier on a labelled file;
- :func:`expected_calibration_error` (top-label confidence, equal-width bins);
- :func:`fit_temperature`: one temperature T > 0 minimising the dev negative log-likelihood of
  ``softmax(logits / T)`` (windows averaged as in prediction), by a bounded 1-D search over log T;
- :func:`confusion_png`, :func:`reliability_png`: matplotlib figures (Agg backend) saved as PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.models.classifier import combine_windows


def classification_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """``{"n", "accuracy", "macro_f1", "per_class": {label: {precision, recall, f1, support}}}``.

    Macro-F1 averages over the labels present in ``y_true`` or ``y_pred`` (a label absent from both
    would add a meaningless 0).
    """
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    labels = list(labels)
    present = [label for label in labels if label in set(y_true) | set(y_pred)]
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))
        if len(y_true)
        else 0.0,
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
    }


def evaluate_classifier(classifier: Any, data: str | Path) -> dict[str, Any]:
    """:func:`classification_metrics` of a loaded classifier on a labelled file (``text``, ``label``
    and, for stance, ``target``, with the classifier's label names)."""
    from pipeline.training.data import read_labelled_file

    frame = read_labelled_file(str(data), classifier.labels, classifier.task)
    targets = frame["target"].tolist() if classifier.task == "stance" else None
    predicted = classifier.predict(frame["text"].tolist(), targets)
    return classification_metrics(frame["label"].tolist(), predicted, classifier.labels)


def flat_metrics(metrics: dict[str, Any], prefix: str) -> dict[str, float]:
    """``dev.macro_f1``, ``dev.accuracy``, ``dev.f1.<label>``, ``dev.precision.<label>`` ... for MLflow."""
    out = {f"{prefix}.macro_f1": metrics["macro_f1"], f"{prefix}.accuracy": metrics["accuracy"]}
    for label, row in metrics["per_class"].items():
        for key in ("f1", "precision", "recall"):
            out[f"{prefix}.{key}.{_safe(label)}"] = row[key]
    return out


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Weighted mean |accuracy - confidence| over equal-width bins of the top-label confidence."""
    if len(y) == 0:
        return 0.0
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def nll(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the true classes."""
    p = np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)
    return float(-np.log(p).mean())


def fit_temperature(
    window_logits: Sequence[np.ndarray],
    window_weights: Sequence[np.ndarray],
    y: np.ndarray,
    bounds: tuple[float, float] = (0.05, 20.0),
) -> float:
    """The temperature minimising the dev NLL (bounded search over log T); 1.0 when there are no rows."""
    if len(y) == 0:
        return 1.0
    from scipy.optimize import minimize_scalar

    def loss(log_t: float) -> float:
        return nll(combine_windows(window_logits, window_weights, float(np.exp(log_t))), y)

    result = minimize_scalar(
        loss, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded", options={"xatol": 1e-4}
    )
    best = float(np.exp(result.x))
    return best if loss(np.log(best)) <= loss(0.0) else 1.0


def confusion_png(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str], path: str | Path, title: str = ""
) -> Path:
    """Confusion matrix (rows: gold, columns: predicted), counts and row shares, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = list(labels)
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * len(labels), 1.2 + 1.0 * len(labels)))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                f"{matrix[i, j]}\n{shares[i, j]:.0%}",
                ha="center",
                va="center",
                color="white" if shares[i, j] > 0.6 else "black",
                fontsize=9,
            )
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title or "confusion matrix", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def reliability_png(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path, bins: int = 15, title: str = ""
) -> Path:
    """Reliability diagram: accuracy against confidence per bin, one line per (name -> probs, y)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect")
    edges = np.linspace(0, 1, bins + 1)
    for name, (probs, y) in curves.items():
        conf = probs.max(axis=1)
        correct = probs.argmax(axis=1) == y
        which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
        xs, ys = [], []
        for b in range(bins):
            mask = which == b
            if mask.sum() >= 3:
                xs.append(conf[mask].mean())
                ys.append(correct[mask].mean())
        ece = expected_calibration_error(probs, y, bins)
        ax.plot(xs, ys, marker="o", ms=3, label=f"{name} (ECE {ece:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top label)")
    ax.set_ylabel("accuracy")
    ax.set_title(title or "reliability", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _safe(label: str) -> str:
    """A label as an MLflow metric-name part (letters, digits, _ - . / and space are allowed)."""
    return "".join(c if c.isalnum() or c in "_-./ " else "_" for c in label)
