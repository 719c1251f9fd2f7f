"""Scoring speed: the project's scorer against `transformers.pipeline` called once per section.

Both score the same sections with the same fine-tuned model and the same windows (long sections are
split into the classifier's overlapping windows and their probabilities averaged by token count), so
they do the same work and should give the same labels:

- (a) ``transformers.pipeline("text-classification")`` in fp32, called once per section (its windows as a
  list), as most people write it;
- (b) the project's scorer (`Classifier.predict_proba`): one call per article, length-sorted batches,
  ``inference_mode``, bf16 autocast only where the CPU has native bf16.
"""

from __future__ import annotations

import json
import random
import re
import resource
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import InputError

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


def run_bench(model: str, n: int, shared: Path, seed: int = 13, stance_model: str | None = None) -> dict:
    """Score ``n`` sections both ways in this process; return the figures.

    With ``stance_model``, also the cost of stance toward five targets relative to tone alone.
    """
    from pipeline.config import ScoreConfig
    from pipeline.score.models import load_classifier

    classifier = load_classifier(model)
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
    costs = target_cost(classifier, load_classifier(stance_model), texts) if stance_model else {}
    return costs | {
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


def bench(model: str, n: int, shared: Path, tracking_config, stance_model: str | None = None) -> dict:
    """Run the benchmark and log its figures to MLflow (experiment `bench`)."""
    import torch

    from pipeline import tracking
    from pipeline.models.classifier import cpu_supports_bf16

    tracking.connect(tracking_config)
    experiment = tracking.experiment_id("bench", tracking_config)
    with tracking.run(f"bench-n{n}", experiment) as active:
        tracking.log_params(
            {
                "model": model,
                "stance_model": stance_model,
                "n": n,
                "threads": torch.get_num_threads(),
                "bf16": cpu_supports_bf16(),
                "cpu": torch.backends.cpu.get_cpu_capability(),
            }
        )
        figures = run_bench(model, n, shared, stance_model=stance_model)
        tracking.log_metrics({k: v for k, v in figures.items() if isinstance(v, int | float)})
        figures["run_id"] = active.info.run_id
    return figures
