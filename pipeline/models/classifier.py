"""Tone and stance classifiers behind one interface, saved to and loaded from a folder.

Every classifier has

- ``labels``: the ordered label set; probability columns follow it;
- ``predict_proba(texts, targets=None) -> np.ndarray`` (rows sum to 1);
- ``predict(texts, targets=None) -> list[str]``;
- ``save(folder)``; :func:`load_classifier` reads it back from the folder's ``classifier.json``.

Stance is target-aware: ``targets`` gives one target per text (the transformer reads it as the first
text of a pair, the baseline as marked target-word features). Tone ignores targets.

A temperature (fitted on dev, see :mod:`pipeline.training.evaluate`) divides the logits before the
softmax; it changes the confidence, never the ranking of one window's classes.

torch, transformers and scikit-learn are imported only when a classifier is built or loaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pipeline.errors import ModelError
from pipeline.errors import first_line as _first_line
from pipeline.models.relatedness import RelatednessGate

META_FILE = "classifier.json"
FORMAT_VERSION = 1
TargetMode = Literal["none", "pair", "marked"]


@lru_cache(maxsize=1)
def cpu_supports_bf16() -> bool:
    """True where /proc/cpuinfo lists native bf16 instructions (amx_bf16 or avx512_bf16).

    Without them bf16 autocast on CPU is emulated and several times slower than fp32, so ``auto``
    means fp32 there (and everywhere /proc/cpuinfo is missing).
    """
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool(set(line.partition(":")[2].split()) & {"amx_bf16", "avx512_bf16"})
    return False


def token_batches(lengths: Sequence[int], max_items: int, max_tokens: int) -> list[np.ndarray]:
    """Indices in length order, cut into batches of at most ``max_items`` and ``max_tokens`` padded tokens."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and (len(current) >= max_items or (len(current) + 1) * lengths[i] > max_tokens):
            batches.append(current)
            current = []
        current.append(int(i))
    if current:
        batches.append(current)
    return [np.array(b) for b in batches]


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def combine_windows(
    window_logits: Sequence[np.ndarray], window_weights: Sequence[np.ndarray], temperature: float = 1.0
) -> np.ndarray:
    """Per text: the softmax of each window's logits / T, averaged with the windows' weights."""
    out = np.empty((len(window_logits), window_logits[0].shape[1] if window_logits else 0), dtype=np.float64)
    for i, (logits, weights) in enumerate(zip(window_logits, window_weights, strict=True)):
        probs = softmax(np.asarray(logits, dtype=np.float64) / temperature)
        w = np.asarray(weights, dtype=np.float64)
        out[i] = (probs * w[:, None]).sum(axis=0) / w.sum()
    return out


class Classifier:
    """Common base: subclasses give ``window_logits`` and ``_save_weights``."""

    kind = "abstract"

    def __init__(
        self,
        labels: Sequence[str],
        task: str = "tone",
        target_mode: TargetMode = "none",
        temperature: float = 1.0,
    ) -> None:
        self.labels = list(labels)
        self.task = task
        self.target_mode: TargetMode = target_mode
        self.temperature = float(temperature)
        self.gate: RelatednessGate | None = None
        """Stance only: moves probability to neutral where a text is not about its target."""

    # --- prediction ---------------------------------------------------------------------------

    def window_logits(
        self, texts: Sequence[str], targets: Sequence[str | None] | None = None
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per text: logits of its windows (n_windows x n_labels, before temperature) and their weights."""
        raise NotImplementedError

    def predict_proba(
        self, texts: Sequence[str], targets: Sequence[str | None] | None = None, *, about_target: bool = False
    ) -> np.ndarray:
        """Probabilities, one row per text, columns in ``labels`` order, rows summing to 1.

        ``about_target``: the caller knows every text is about its target (the scorer reads only
        passages that name the target or an alias), so the relatedness gate is skipped.
        """
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels)))
        paired = self._targets(texts, targets)
        logits, weights = self.window_logits(texts, paired)
        probs = combine_windows(logits, weights, self.temperature)
        if self.gate is not None and not about_target:
            probs = self.gate.apply(probs, self.gate.unrelated(texts, paired), self.labels)
        return probs

    def configure_windows(self, max_length: int | None = None, stride: float = 0.5,
                          batch_size: int | None = None) -> None:
        """Scoring settings (``score.max_length``, ``score.stride``, ``score.batch_size``); only
        windowed classifiers use them."""

    def predict(self, texts: Sequence[str], targets: Sequence[str | None] | None = None) -> list[str]:
        probs = self.predict_proba(texts, targets)
        return [self.labels[i] for i in probs.argmax(axis=1)]

    def _targets(self, texts: Sequence[str], targets: Sequence[str | None] | None) -> list[str | None]:
        if self.target_mode == "none" or targets is None:
            return [None] * len(texts)
        if len(targets) != len(texts):
            raise ValueError(f"expected one target per text ({len(texts)}), found {len(targets)} targets")
        return [t if isinstance(t, str) and t.strip() else None for t in targets]

    # --- persistence --------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "task": self.task,
            "labels": self.labels,
            "target_mode": self.target_mode,
            "temperature": self.temperature,
            "relatedness_gate": self.gate.to_meta() if self.gate else None,
        }

    def save(self, folder: str | Path) -> Path:
        """Write the weights and ``classifier.json`` into ``folder`` (created if missing)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._save_weights(folder)
        (folder / META_FILE).write_text(json.dumps(self.meta(), indent=2), encoding="utf-8")
        return folder

    def _save_weights(self, folder: Path) -> None:
        raise NotImplementedError


# --- baseline -----------------------------------------------------------------------------------


def marked_target_text(text: str, target: str | None) -> str:
    """Baseline input: the target's words as distinct features (``tgt_<word>``), then the text."""
    if not target:
        return text
    words = " ".join(f"tgt_{w}" for w in re.findall(r"\w+", target.lower()))
    return f"{words} [SEP] {text}"


class BaselineClassifier(Classifier):
    """TF-IDF word n-grams + logistic regression (class_weight="balanced" unless turned off).

    For stance the target's words are added as their own features (``tgt_<word>``), so the same
    sentence can lean differently toward two targets (only as far as a linear model can).
    """

    kind = "baseline"
    WEIGHTS = "sklearn.joblib"

    def __init__(
        self,
        labels: Sequence[str],
        task: str = "tone",
        *,
        pipeline: Any = None,
        temperature: float = 1.0,
        ngram_max: int = 2,
        min_df: int = 2,
        max_features: int = 200_000,
        C: float = 1.0,
        class_weights: bool = True,
        seed: int = 13,
    ) -> None:
        super().__init__(labels, task, "marked" if task == "stance" else "none", temperature)
        self.params = {
            "ngram_max": ngram_max,
            "min_df": min_df,
            "max_features": max_features,
            "C": C,
            "class_weights": class_weights,
            "seed": seed,
        }
        self.pipeline = pipeline

    def _inputs(self, texts: Sequence[str], targets: Sequence[str | None]) -> list[str]:
        if self.target_mode == "marked":
            return [marked_target_text(t, g) for t, g in zip(texts, targets, strict=True)]
        return list(texts)

    def fit(
        self, texts: Sequence[str], labels: Sequence[str], targets: Sequence[str | None] | None = None
    ) -> BaselineClassifier:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        index = {label: i for i, label in enumerate(self.labels)}
        y = np.array([index[label] for label in labels])
        min_df = self.params["min_df"] if len(texts) >= 50 else 1
        self.pipeline = Pipeline(
            [
                (
                    "tfidf",
                    TfidfVectorizer(
                        ngram_range=(1, self.params["ngram_max"]),
                        min_df=min_df,
                        max_features=self.params["max_features"],
                        sublinear_tf=True,
                    ),
                ),
                (
                    "lr",
                    LogisticRegression(
                        C=self.params["C"],
                        max_iter=3000,
                        random_state=self.params["seed"],
                        class_weight="balanced" if self.params["class_weights"] else None,
                    ),
                ),
            ]
        )
        self.pipeline.fit(self._inputs(texts, self._targets(texts, targets)), y)
        return self

    def window_logits(self, texts, targets=None):
        if self.pipeline is None:
            raise ModelError("the baseline classifier is not trained: call fit() or load_classifier() first")
        scores = self.pipeline.decision_function(self._inputs(texts, self._targets(texts, targets)))
        classes = self.pipeline.classes_
        if scores.ndim == 1:  # binary logistic regression: P(classes_[1]) = sigmoid(score)
            scores = np.stack([np.zeros_like(scores), scores], axis=1)
        logits = np.full((len(texts), len(self.labels)), -1e4)
        logits[:, classes] = scores
        return [row[None, :] for row in logits], [np.ones(1)] * len(texts)

    def meta(self) -> dict[str, Any]:
        return {**super().meta(), **self.params}

    def _save_weights(self, folder: Path) -> None:
        import joblib

        joblib.dump(self.pipeline, folder / self.WEIGHTS)

    @classmethod
    def load(cls, folder: Path, meta: dict[str, Any]) -> BaselineClassifier:
        import joblib

        params = {
            k: meta[k]
            for k in ("ngram_max", "min_df", "max_features", "C", "class_weights", "seed")
            if k in meta
        }
        return cls(
            meta["labels"],
            meta["task"],
            pipeline=joblib.load(folder / cls.WEIGHTS),
            temperature=meta.get("temperature", 1.0),
            **params,
        )


# --- transformer --------------------------------------------------------------------------------


class TransformerClassifier(Classifier):
    """A transformers encoder with a sequence-classification head.

    Stance reads ``(target, text)`` as a text pair. Tone reads the text alone.

    **Long texts are never silently truncated.** A text longer than the window (``max_length`` tokens
    less the special tokens and the target's tokens) is split into overlapping token windows with a
    stride of half a window (the last window moved back to end at the text's end); each window is
    classified (with the target, for stance), and the text's probabilities are the plain mean of its
    windows' probabilities: every window holds the same number of tokens, so the token-count weights
    that :func:`combine_windows` applies are all equal.
    :meth:`windows` shows the character spans used. (Training truncates each example to ``max_length``;
    the trainer logs how many were cut.)

    Prediction runs under ``torch.inference_mode`` in length-sorted batches (little padding), with
    bf16 autocast where the hardware has native bf16 (see :func:`pipeline.models.device.autocast_dtype`),
    fp32 elsewhere.
    """

    kind = "transformer"
    WEIGHTS = "model"
    MARGIN = 2  # tokens kept free in each window for a tokenisation that differs at a cut
    BATCH_TOKENS = 2048  # padded tokens per forward pass: activations stay in cache (faster than 64 x 128)
    GPU_BATCH_TOKENS = 65536  # on a GPU, bigger batches keep it busy

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        labels: Sequence[str],
        task: str = "tone",
        *,
        max_length: int = 128,
        encoder: str = "",
        temperature: float = 1.0,
        batch_size: int = 64,
        bf16: str = "auto",
    ) -> None:
        super().__init__(labels, task, "pair" if task == "stance" else "none", temperature)
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.encoder = encoder
        self.batch_size = batch_size
        self.bf16 = bf16
        self.stride = 0.5  # window step as a fraction of the window

    @classmethod
    def from_encoder(
        cls, encoder: str, labels: Sequence[str], task: str = "tone", *, max_length: int = 128, **kwargs: Any
    ) -> TransformerClassifier:
        """A new classifier: the encoder's weights with a freshly initialised head."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from pipeline.models.locate import quiet_transformers, resolve_encoder

        where = resolve_encoder(encoder)
        quiet_transformers()  # the "newly initialised head" report is expected here
        try:
            tokenizer = AutoTokenizer.from_pretrained(where)
            model = AutoModelForSequenceClassification.from_pretrained(
                where,
                num_labels=len(labels),
                id2label=dict(enumerate(labels)),
                label2id={label: i for i, label in enumerate(labels)},
            )
        except OSError as exc:
            raise ModelError(f"cannot load encoder {encoder!r} from {where}: {_first_line(exc)}") from None
        return cls(model, tokenizer, labels, task, max_length=max_length, encoder=encoder, **kwargs)

    @property
    def device(self) -> str:
        return str(next(self.model.parameters()).device)

    def to_device(self, device: str) -> TransformerClassifier:
        """Move the weights to a resolved torch device (``cpu``, ``cuda:0``); returns self."""
        if self.device != device:
            self.model.to(device)
        return self

    # --- windows ------------------------------------------------------------------------------

    def configure_windows(self, max_length: int | None = None, stride: float = 0.5,
                          batch_size: int | None = None) -> None:
        """Window length (capped at the model's positions), step as a fraction of it, batch size."""
        if max_length:
            self.max_length = min(int(max_length), int(self.model.config.max_position_embeddings))
        self.stride = float(stride)
        if batch_size:
            self.batch_size = int(batch_size)

    def _target_ids(self, target: str | None) -> list[int]:
        if target is None:
            return []
        ids = self.tokenizer(target, add_special_tokens=False)["input_ids"]
        return ids[: max(1, self.max_length // 4)]  # a very long target never crowds the text out

    def window_size(self, target: str | None = None) -> int:
        """Text tokens per window, given the target."""
        pair = target is not None
        room = self.max_length - self.tokenizer.num_special_tokens_to_add(pair=pair)
        room -= len(self._target_ids(target)) + self.MARGIN
        return max(4, room)

    def windows(self, text: str, target: str | None = None) -> list[tuple[int, int, int]]:
        """(char start, char end, token count) of each window of ``text``; one window when it fits."""
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
        n = len(offsets)
        room = self.window_size(target)
        if n <= room:
            return [(0, len(text), max(n, 1))]
        stride = max(1, int(room * self.stride))
        starts = list(range(0, n - room, stride)) + [n - room]
        return [(offsets[s][0], offsets[s + room - 1][1], room) for s in starts]

    def encode(
        self, texts: Sequence[str], targets: Sequence[str | None], truncate: bool = True
    ) -> dict[str, list[list[int]]]:
        """Token ids (no padding), the target first for stance; cut to ``max_length``."""
        tok = self.tokenizer
        if self.target_mode == "pair" and any(t is not None for t in targets):
            firsts = [t if t is not None else "" for t in targets]
            return tok(
                firsts,
                list(texts),
                truncation="only_second" if truncate else False,
                max_length=self.max_length,
            )
        return tok(list(texts), truncation=truncate, max_length=self.max_length)

    # --- prediction ---------------------------------------------------------------------------

    def window_logits(self, texts, targets=None):
        targets = self._targets(texts, targets)
        items: list[tuple[int, str, str | None, float]] = []
        for i, (text, target) in enumerate(zip(texts, targets, strict=True)):
            for start, end, count in self.windows(text, target):
                items.append((i, text[start:end], target, float(count)))
        logits_per_text: list[list[np.ndarray]] = [[] for _ in texts]
        weights_per_text: list[list[float]] = [[] for _ in texts]
        block = 2048  # bound memory: tokenise and run this many windows at a time
        for lo in range(0, len(items), block):
            chunk = items[lo : lo + block]
            out = self.logits([c[1] for c in chunk], [c[2] for c in chunk])
            for (i, _, _, weight), row in zip(chunk, out, strict=True):
                logits_per_text[i].append(row)
                weights_per_text[i].append(weight)
        return [np.stack(rows) for rows in logits_per_text], [np.array(w) for w in weights_per_text]

    def logits(self, texts: Sequence[str], targets: Sequence[str | None]) -> np.ndarray:
        """Logits of texts that fit the window, in length-sorted batches (no temperature)."""
        import torch

        enc = self.encode(texts, targets)
        ids = enc["input_ids"]
        out = np.zeros((len(ids), len(self.labels)), dtype=np.float32)
        from pipeline.models.device import autocast_dtype

        device = self.device
        dtype = autocast_dtype(self.bf16, device)
        on_gpu = device.startswith("cuda")
        max_items = self.batch_size * 4 if on_gpu else self.batch_size
        max_tokens = self.GPU_BATCH_TOKENS if on_gpu else self.BATCH_TOKENS
        was_training = self.model.training
        if was_training:  # eval() walks every module: skip it when there is nothing to switch
            self.model.eval()
        try:
            with torch.inference_mode():
                for idx in token_batches([len(x) for x in ids], max_items, max_tokens):
                    features = [{k: enc[k][j] for k in enc} for j in idx]
                    batch = self.tokenizer.pad(features, return_tensors="pt")  # to the batch max only
                    batch = {k: v.to(device) for k, v in batch.items()}
                    with torch.autocast(device.split(":")[0], dtype=dtype or torch.bfloat16,
                                        enabled=dtype is not None):
                        result = self.model(**batch).logits
                    out[idx] = result.float().cpu().numpy()
        finally:
            if was_training:
                self.model.train()
        return out

    # --- persistence --------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        return {**super().meta(), "max_length": self.max_length, "encoder": self.encoder}

    def _save_weights(self, folder: Path) -> None:
        self.model.save_pretrained(folder / self.WEIGHTS)
        self.tokenizer.save_pretrained(folder / self.WEIGHTS)

    @classmethod
    def load(cls, folder: Path, meta: dict[str, Any], **kwargs: Any) -> TransformerClassifier:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from pipeline.models.locate import quiet_transformers

        path = folder / cls.WEIGHTS
        quiet_transformers()
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForSequenceClassification.from_pretrained(path)
        except OSError as exc:
            raise ModelError(f"cannot load the transformer in {path}: {_first_line(exc)}") from None
        model.eval()
        return cls(
            model,
            tokenizer,
            meta["labels"],
            meta["task"],
            max_length=meta.get("max_length", 128),
            encoder=meta.get("encoder", ""),
            temperature=meta.get("temperature", 1.0),
            **kwargs,
        )


# --- loading ------------------------------------------------------------------------------------

KINDS: dict[str, type[Classifier]] = {"baseline": BaselineClassifier, "transformer": TransformerClassifier}


def classifier_class(kind: str) -> type[Classifier] | None:
    """The class a ``classifier.json`` kind names, or None."""
    if kind == "ensemble":  # imported here: the ensemble module builds on this one
        from pipeline.models.ensemble import EnsembleClassifier

        return EnsembleClassifier
    return KINDS.get(kind)


def read_meta(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / META_FILE
    if not path.is_file():
        raise ModelError(
            f"{folder}: no {META_FILE} (expected a classifier folder written by Classifier.save)"
        )
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return meta


def load_classifier(folder: str | Path) -> Classifier:
    """Load the classifier saved in ``folder``; its ``classifier.json`` says which class."""
    folder = Path(folder)
    meta = read_meta(folder)
    kind = meta.get("kind")
    cls = classifier_class(str(kind))
    if cls is None:
        known = ", ".join([*KINDS, "ensemble"])
        raise ModelError(f"{folder / META_FILE}: unknown kind {kind!r} (expected one of: {known})")
    if meta.get("format_version", 1) > FORMAT_VERSION:
        raise ModelError(
            f"{folder / META_FILE}: format_version {meta['format_version']} is newer than this code "
            f"({FORMAT_VERSION}); upgrade the pipeline package"
        )
    classifier = cls.load(folder, meta)  # type: ignore[attr-defined]
    classifier.gate = RelatednessGate.from_meta(meta.get("relatedness_gate"))
    return classifier


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("expected a list of texts, found one string: wrap it in a list")
    return [t if isinstance(t, str) else "" for t in texts]
