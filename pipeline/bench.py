"""Scoring speed: the project's scorer against `transformers.pipeline` called once per section.

Both score the same sections with the same fine-tuned model and the same windows (long sections are
split into the classifier's overlapping windows and their probabilities averaged by token count), so
they do the same work and should give the same labels:

- (a) ``transformers.pipeline("text-classification")`` in fp32, called once per section (its windows as a
  list), as most people write it;
- (b) the project's scorer (`Classifier.predict_proba`): one call per article, length-sorted batches,
  ``inference_mode``, bf16 autocast only where the CPU has native bf16.

With several models (``--model A --model B``) or labelled dev sets (``--dev NAME=PATH``), it also
compares the models as a user would choose between them: the comparison above runs for the first model
only (the ``transformers.pipeline`` part is the slow one), then each model in turn is loaded on the
bench device, scores the same sections with the project's scorer and is evaluated on each dev set
(:func:`model_row`), and is released before the next one is loaded.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import random
import re
import resource
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import DataError, InputError, first_line

SECTIONS_PER_ARTICLE = 10
MIN_TOKENS, MAX_TOKENS = 20, 600
TARGETS_PER_SECTION = 5
MAX_TARGET_SECTIONS = 300  # bounds the target-cost part's time
_NAME = re.compile(r"\b[A-Z][a-z]{2,}\b")
_SENTENCE_START = re.compile(r"(?:^|[.!?:][\"'\u201d\u2019)]*)\s*$")
_NOT_NAMES = frozenset(
    [
        "The",
        "This",
        "That",
        "These",
        "Those",
        "There",
        "Then",
        "When",
        "What",
        "Which",
        "While",
        "Where",
        "Who",
        "How",
        "His",
        "Her",
        "Their",
        "Its",
        "Our",
        "And",
        "But",
    ]
)


@dataclass
class BenchSections:
    articles: list[list[str]]
    source: str

    @property
    def texts(self) -> list[str]:
        return [t for article in self.articles for t in article]


def shared_documents(shared: Path) -> list[str]:
    path = shared / "datasets" / "tone" / "persent-dev-documents.jsonl"
    if not path.is_file():
        raise InputError(f"bench data not found: {path} (the benchmark builds its sections from ../shared)")
    with path.open(encoding="utf-8") as handle:
        return [row["text"] for row in map(json.loads, handle) if row.get("text")]


def build_sections(tokenizer, documents: list[str], n: int, seed: int = 13) -> list[str]:
    """``n`` sections cut from the documents at token lengths drawn log-uniformly from 20 to 600."""
    rng = random.Random(seed)
    usable = [d for d in documents if len(d.split()) >= MIN_TOKENS]
    sections: list[str] = []
    while len(sections) < n:
        doc = rng.choice(usable)
        want = int(round(np.exp(rng.uniform(np.log(MIN_TOKENS), np.log(MAX_TOKENS)))))
        offsets = tokenizer(doc, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        if len(offsets) < MIN_TOKENS:
            continue
        start = rng.randrange(0, max(1, len(offsets) - want))
        end = min(len(offsets), start + want)
        sections.append(doc[offsets[start][0] : offsets[end - 1][1]])
    return sections


def baseline_pipeline(classifier):
    """``transformers.pipeline`` on the classifier's own fp32 model and tokenizer, raw logits out."""
    from transformers import pipeline

    return pipeline(
        "text-classification",
        model=classifier.model,
        tokenizer=classifier.tokenizer,
        device=-1,
        function_to_apply="none",
        top_k=None,
    )


def baseline_proba(pipe, classifier, text: str) -> np.ndarray:
    """(a): one pipeline call for the section (its windows as a list), same aggregation as (b)."""
    from pipeline.models.classifier import combine_windows

    windows = classifier.windows(text)
    outputs = pipe([text[s:e] for s, e, _ in windows])
    index = {label: i for i, label in enumerate(classifier.labels)}
    logits = np.zeros((len(windows), len(index)))
    for w, scores in enumerate(outputs):
        for item in scores:
            logits[w, index[item["label"]]] = item["score"]
    return combine_windows(
        [logits], [np.array([c for _, _, c in windows], dtype=float)], classifier.temperature
    )[0]


def frequent_names(text: str, k: int = TARGETS_PER_SECTION) -> list[str]:
    """The ``k`` capitalised words (not sentence-initial) a text names most often; fewer if it has fewer."""
    from collections import Counter

    counts = Counter(
        m.group()
        for m in _NAME.finditer(text)
        if m.group() not in _NOT_NAMES and not _SENTENCE_START.search(text[max(0, m.start() - 4) : m.start()])
    )
    return [name for name, _ in counts.most_common(k)]


def target_cost(tone, stance, texts: list[str]) -> dict:
    """Seconds for tone alone against tone plus stance toward 5 targets that each section mentions.

    Each section with five distinct names (capitalised words, not sentence-initial) is scored on its
    own, once with tone only and once with tone and stance toward its five most frequent names, with
    the stance model reading the mention sentences (the default) and, for comparison, whole sections.
    """
    from pipeline.records import Article, Section, Segmented
    from pipeline.score import score_sections
    from pipeline.score.targets import Target

    chosen = [(t, names) for t in texts if len(names := frequent_names(t)) == TARGETS_PER_SECTION]
    chosen = chosen[:MAX_TARGET_SECTIONS]
    if not chosen:
        return {}
    segs = [
        Segmented(Article(str(i), None, None, ()), (Section(0, None, (t,)),), "bench")
        for i, (t, _) in enumerate(chosen)
    ]
    targets = [[Target(n) for n in names] for _, names in chosen]
    score_sections(segs[:2], tone, stance, targets[0])  # warm-up, not timed

    def seconds(stance_model, context: str = "mentions") -> float:
        start = time.perf_counter()
        for seg, tgt in zip(segs, targets, strict=True):
            score_sections([seg], tone, stance_model, tgt if stance_model else [], context)
        return time.perf_counter() - start

    tone_s = seconds(None)
    mentions_s = seconds(stance)
    section_s = seconds(stance, "section")
    return {
        "target_sections": len(chosen),
        "target_tone_seconds": tone_s,
        "target_tone_stance_seconds": mentions_s,
        "target_cost_ratio": mentions_s / tone_s,
        "target_cost_ratio_whole_sections": section_s / tone_s,
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_on(reference: str, device: str) -> Any:
    """The classifier ``reference`` names, placed on a resolved device (``cpu``, ``cuda:0``)."""
    from pipeline.keys import resolve_model
    from pipeline.score.models import load_resolved

    return load_resolved(resolve_model(reference), device)


def where_it_runs(classifier: Any, device: str) -> dict[str, str]:
    """device, device_name and precision of a classifier on a resolved device."""
    from pipeline.models.device import autocast_dtype, describe

    return describe(device, autocast_dtype(getattr(classifier, "bf16", "auto"), device))


def run_bench(
    model: str, n: int, shared: Path, seed: int = 13, stance_model: str | None = None, device: str = "cpu"
) -> dict:
    """Score ``n`` sections both ways in this process on a resolved device; return the figures.

    With ``stance_model``, also the cost of stance toward five targets relative to tone alone.
    """
    return _compare_ways(model, n, shared, seed, stance_model, device)[0]


def _compare_ways(
    model: str, n: int, shared: Path, seed: int, stance_model: str | None, device: str
) -> tuple[dict, list[str], dict[str, str]]:
    """:func:`run_bench`'s figures, the sections it scored and where the model ran."""
    from pipeline.config import ScoreConfig

    classifier = load_on(model, device)
    classifier.configure_windows(batch_size=ScoreConfig().batch_size)  # as `pipeline run` scores
    if not hasattr(classifier, "tokenizer"):
        raise InputError(f"the benchmark needs a transformer classifier; {model} is a {classifier.kind}")
    texts = build_sections(classifier.tokenizer, shared_documents(shared), n, seed)
    articles = [texts[i : i + SECTIONS_PER_ARTICLE] for i in range(0, len(texts), SECTIONS_PER_ARTICLE)]
    rss_before = peak_rss_mb()

    pipe = baseline_pipeline(classifier)
    baseline_proba(pipe, classifier, texts[0])  # warm-up, not timed
    a_labels: list[int] = []
    a_latency: list[float] = []
    start = time.perf_counter()
    for article in articles:
        t0 = time.perf_counter()
        a_labels.extend(int(baseline_proba(pipe, classifier, t).argmax()) for t in article)
        a_latency.append(time.perf_counter() - t0)
    a_seconds = time.perf_counter() - start

    classifier.predict_proba(texts[:2])  # warm-up, not timed
    b_labels: list[int] = []
    b_latency: list[float] = []
    start = time.perf_counter()
    for article in articles:
        t0 = time.perf_counter()
        b_labels.extend(int(i) for i in classifier.predict_proba(article).argmax(axis=1))
        b_latency.append(time.perf_counter() - t0)
    b_seconds = time.perf_counter() - start

    n_tokens = [len(ids) for ids in classifier.tokenizer(texts, add_special_tokens=False)["input_ids"]]
    agreement = float(np.mean(np.array(a_labels) == np.array(b_labels)))
    costs = target_cost(classifier, load_on(stance_model, device), texts) if stance_model else {}
    figures = costs | {
        "n": len(texts),
        "baseline_sections_per_s": len(texts) / a_seconds,
        "pipeline_sections_per_s": len(texts) / b_seconds,
        "ratio": a_seconds / b_seconds,
        "agreement": agreement,
        "baseline_p50_article_s": statistics.median(a_latency),
        "baseline_p95_article_s": float(np.percentile(a_latency, 95)),
        "pipeline_p50_article_s": statistics.median(b_latency),
        "pipeline_p95_article_s": float(np.percentile(b_latency, 95)),
        "baseline_seconds": a_seconds,
        "pipeline_seconds": b_seconds,
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_mb_before_scoring": rss_before,
        "mean_tokens": float(np.mean(n_tokens)),
        "max_tokens": int(max(n_tokens)),
        "window": int(classifier.max_length),
    }
    return figures, texts, where_it_runs(classifier, device)


# --- several models: speed against quality --------------------------------------------------------


def current_rss_bytes() -> int:
    """This process's resident memory now: /proc/self/statm where there is one, else psutil."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import psutil

        return int(psutil.Process().memory_info().rss)


class RssSampler:
    """The peak of this process's resident memory while the ``with`` block runs.

    A daemon thread reads the current RSS (:func:`current_rss_bytes`) every ``interval`` seconds, and
    once more on entry and exit; ``peak_mb`` is the largest reading. Unlike ``ru_maxrss`` (a peak over
    the whole process, which never goes down), this gives each block its own peak; a spike shorter than
    the interval, or one while an extension holds the GIL (torch's kernels release it), can be missed.
    """

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, current_rss_bytes())

    def __enter__(self) -> RssSampler:
        self.peak = current_rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss_bytes())

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20


def release_models() -> None:
    """Forget the loaded classifiers and hand their memory back (glibc ``malloc_trim``, CUDA cache)."""
    import torch

    from pipeline.score.models import clear_loaded

    clear_loaded()
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: what the allocator keeps stays counted in the next model's RSS
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def score_articles(classifier: Any, articles: list[list[str]]) -> tuple[float, list[float]]:
    """Seconds to score every article with ``predict_proba`` (one call each) and each article's seconds,
    after scoring the first article once untimed (warm-up)."""
    classifier.predict_proba(articles[0])  # warm-up, not timed
    latency: list[float] = []
    start = time.perf_counter()
    for article in articles:
        t0 = time.perf_counter()
        classifier.predict_proba(article)
        latency.append(time.perf_counter() - t0)
    return time.perf_counter() - start, latency


def set_task(path: Path) -> str:
    """``stance`` for a labelled file with a ``target`` column, else ``tone`` (from its first row)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        columns = list(pq.read_schema(path).names)
    else:
        with path.open(encoding="utf-8") as handle:
            if suffix == ".csv":
                columns = next(csv.reader(handle), [])
            else:
                text = handle.read().lstrip()
                first = json.loads(text)[0] if text.startswith("[") else json.loads(text.splitlines()[0])
                columns = list(first)
    return "stance" if "target" in columns else "tone"


def dev_macro_f1(classifier: Any, path: Path) -> tuple[float | None, str | None]:
    """The classifier's macro-F1 on a labelled file, or None and why it was skipped."""
    from pipeline.training.evaluate import evaluate_classifier

    task = set_task(path)
    if task != classifier.task:
        return None, f"a {task} set, the model is a {classifier.task} model"
    try:
        return evaluate_classifier(classifier, path)["macro_f1"], None
    except DataError as exc:
        return None, first_line(exc)


def model_row(reference: str, articles: list[list[str]], device: str, dev_sets: dict[str, Path]) -> dict:
    """One model's speed, memory and dev macro-F1 on the bench sections.

    ``peak_rss_mb``: the largest resident memory of this process, sampled every 10 ms by
    :class:`RssSampler`, from just before the model is loaded until it has scored the sections and the
    dev sets; it includes the interpreter and libraries (and what earlier models left that the allocator
    kept), so compare models by their difference. On CUDA, ``peak_gpu_mb`` is torch's peak allocation.
    """
    import torch

    from pipeline.config import ScoreConfig

    on_gpu = device.startswith("cuda")
    if on_gpu:
        torch.cuda.reset_peak_memory_stats(device)
    dev: dict[str, float] = {}
    skipped: dict[str, str] = {}
    with RssSampler() as rss:
        classifier = load_on(reference, device)
        classifier.configure_windows(batch_size=ScoreConfig().batch_size)  # as `pipeline run` scores
        seconds, latency = score_articles(classifier, articles)
        for name, path in dev_sets.items():
            value, note = dev_macro_f1(classifier, path)
            if value is None:
                skipped[name] = str(note)
            else:
                dev[name] = value
        precision = None if classifier.kind == "baseline" else where_it_runs(classifier, device)["precision"]
    n = sum(len(a) for a in articles)
    row = {
        "model": reference,
        "kind": classifier.kind,
        "precision": precision,
        "sections_per_s": n / seconds,
        "p50_article_s": statistics.median(latency),
        "p95_article_s": float(np.percentile(latency, 95)),
        "peak_rss_mb": rss.peak_mb,
        "dev": dev,
    }
    if on_gpu:
        row["peak_gpu_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    if skipped:
        row["dev_skipped"] = skipped
    del classifier
    release_models()
    return row


def compare_models(
    models: list[str], texts: list[str], device: str, dev_sets: dict[str, Path]
) -> list[dict]:
    """:func:`model_row` for each model in the order given, on the same sections."""
    import sys

    articles = [texts[i : i + SECTIONS_PER_ARTICLE] for i in range(0, len(texts), SECTIONS_PER_ARTICLE)]
    rows = []
    for reference in models:
        row = model_row(reference, articles, device, dev_sets)
        for name, note in row.get("dev_skipped", {}).items():
            print(f"note: {reference}: dev set {name!r} skipped ({note})", file=sys.stderr)
        rows.append(row)
    return rows


def models_table(rows: list[dict], dev_names: list[str]) -> Any:
    """The per-model rows as a flat frame: one column per figure and ``dev.<set>`` per dev set."""
    import pandas as pd

    flat = []
    for i, row in enumerate(rows, 1):
        item = {"model_no": f"model{i}"} | {k: v for k, v in row.items() if k not in ("dev", "dev_skipped")}
        item |= {f"dev.{name}": row["dev"].get(name) for name in dev_names}
        flat.append(item)
    return pd.DataFrame(flat)


def speed_quality_figure(rows: list[dict]) -> Any | None:
    """Sections/s (x, log scale) against dev macro-F1 (y): one labelled point per model and dev set."""
    points = [
        (i, row["sections_per_s"], name, f1)
        for i, row in enumerate(rows, 1)
        for name, f1 in row["dev"].items()
    ]
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, speed, name, f1 in points:
        colour = colours[(i - 1) % len(colours)]
        ax.scatter(speed, f1, color=colour, label=f"model{i}: {rows[i - 1]['model']}")
        ax.annotate(f"model{i} · {name}", (speed, f1), textcoords="offset points", xytext=(5, 5), fontsize=8)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="best")
    ax.set_xscale("log")
    ax.margins(x=0.2, y=0.1)  # room for the labels
    ax.set_xlabel("sections / s (project's scorer, log scale)")
    ax.set_ylabel("dev macro-F1")
    ax.set_title("Speed against quality")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def log_models(rows: list[dict], dev_sets: dict[str, Path]) -> None:
    """Per-model params and metrics (``model1.sections_per_s`` ...), the table and the scatter plot."""
    import mlflow

    from pipeline import tracking

    tracking.log_params({f"model{i}": r["model"] for i, r in enumerate(rows, 1)})
    tracking.log_params({f"dev.{name}": str(path) for name, path in dev_sets.items()})
    metrics: dict[str, float] = {}
    for i, row in enumerate(rows, 1):
        for key in ("sections_per_s", "p50_article_s", "p95_article_s", "peak_rss_mb", "peak_gpu_mb"):
            if key in row:
                metrics[f"model{i}.{key}"] = row[key]
        metrics |= {f"model{i}.dev.{name}.macro_f1": f1 for name, f1 in row["dev"].items()}
    tracking.log_metrics(metrics)
    mlflow.log_table(data=models_table(rows, list(dev_sets)), artifact_file="bench_models.json")
    figure = speed_quality_figure(rows)
    if figure is not None:
        import matplotlib.pyplot as plt

        mlflow.log_figure(figure, "plots/bench_speed_quality.png")
        plt.close(figure)


def bench(
    model: str | list[str],
    n: int,
    shared: Path,
    tracking_config,
    stance_model: str | None = None,
    *,
    device: str = "cpu",
    dev_sets: dict[str, Path] | None = None,
) -> dict:
    """Run the benchmark and log its figures to MLflow (experiment `bench`).

    ``model``: one URI (today's comparison with ``transformers.pipeline``), or a list; with more than
    one, or with ``dev_sets``, the figures also hold ``device``, ``device_name``, ``precision`` and
    ``models`` (:func:`model_row` per model, in the order given); the single-model figures are the
    first model's. ``device``: a resolved device (`pipeline.models.device.resolve_device`).
    """
    import torch

    from pipeline import tracking
    from pipeline.models.classifier import cpu_supports_bf16

    models = [model] if isinstance(model, str) else list(model)
    dev_sets = dev_sets or {}
    tracking.connect(tracking_config)
    experiment = tracking.experiment_id("bench", tracking_config)
    with tracking.run(f"bench-n{n}", experiment) as active:
        tracking.log_params(
            {
                "model": models[0],
                "stance_model": stance_model,
                "n": n,
                "threads": torch.get_num_threads(),
                "bf16": cpu_supports_bf16(),
                "cpu": torch.backends.cpu.get_cpu_capability(),
            }
        )
        figures, texts, where = _compare_ways(models[0], n, shared, 13, stance_model, device)
        tracking.log_params(where)
        tracking.log_metrics({k: v for k, v in figures.items() if isinstance(v, int | float)})
        if len(models) > 1 or dev_sets:
            release_models()
            figures |= where | {"models": compare_models(models, texts, device, dev_sets)}
            log_models(figures["models"], dev_sets)
        figures["run_id"] = active.info.run_id
    return figures
