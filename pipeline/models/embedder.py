"""Sentence embeddings with a transformers encoder: mean pooling and L2 normalisation.

This is the sentence-transformers recipe for all-MiniLM-L6-v2 (Transformer -> mean Pooling ->
Normalize) written with plain ``AutoTokenizer``/``AutoModel``, so sentence-transformers is not needed.

torch and transformers are imported inside the functions that need them, so importing this module
(and ``pipeline.segment``) stays fast.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from pipeline.errors import ModelError
from pipeline.models.locate import quiet_transformers, resolve_encoder

if TYPE_CHECKING:  # pragma: no cover
    import torch

Precision = Literal["auto", "bf16", "fp32"]

_DEFAULT_MAX_LENGTH = 256  # all-MiniLM-L6-v2's sentence_bert_config.json max_seq_length


class SentenceEncoder:
    """Embed sentences (or short paragraphs) as L2-normalised mean-pooled token vectors.

    Parameters
    ----------
    name:
        Model name for :func:`pipeline.models.locate.resolve_encoder`: ``all-MiniLM-L6-v2`` (from its
        PyPI package), a local transformers folder, or a Hub id in the local cache.
    precision:
        ``auto`` uses bf16 autocast where the device has native bf16 (a GPU from Ampere on, a CPU with
        AMX / AVX512-BF16; :func:`pipeline.models.device.autocast_dtype`) and fp32 elsewhere;
        ``bf16`` / ``fp32`` force one.
    max_length:
        Token window; default: the model's ``sentence_bert_config.json`` ``max_seq_length`` (256 for
        all-MiniLM-L6-v2), else the tokenizer's limit capped at 512.

    Long inputs are **truncated** to the model window: only the first ``max_length`` tokens count.
    That is acceptable for what this class is used for, embedding sentences and news paragraphs for
    topical segmentation, where a unit's opening is representative of its topic and units rarely
    exceed the window. Do not use it where the whole of a long text must be represented (chunk it).

    device:
        ``auto`` (the GPU when CUDA is available, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``.

    The model is loaded on first use; use :func:`get_encoder` to share one instance per process.
    """

    def __init__(self, name: str = "all-MiniLM-L6-v2", precision: Precision = "auto",
                 max_length: int | None = None, device: str = "auto") -> None:
        self.name = name
        self.device = device
        self.precision = precision
        self.max_length = max_length
        self._model = None
        self._tokenizer = None
        self._where = "cpu"
        self._lock = threading.Lock()

    # -- loading ------------------------------------------------------------------------------

    @property
    def use_bf16(self) -> bool:
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"precision must be 'auto', 'bf16' or 'fp32', found {self.precision!r}")
        if self.precision == "auto":
            import torch

            from pipeline.models.device import autocast_dtype

            return autocast_dtype("auto", self._where) is torch.bfloat16
        return self.precision == "bf16"

    def _load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            from transformers import AutoModel, AutoTokenizer

            source = resolve_encoder(self.name)
            quiet_transformers()
            try:
                tokenizer = AutoTokenizer.from_pretrained(source)
                model = AutoModel.from_pretrained(source)
            except (OSError, ValueError) as exc:
                raise ModelError(
                    f"cannot load sentence encoder {self.name!r} from {source}: {exc}. "
                    "Expected a transformers model folder or a Hub id in the local cache."
                ) from exc
            from pipeline.models.device import resolve_device

            self._where = resolve_device(self.device)
            model.to(self._where).eval()
            if self.max_length is None:
                self.max_length = _window(source, tokenizer)
            self._tokenizer, self._model = tokenizer, model

    @property
    def dimension(self) -> int:
        self._load()
        return int(self._model.config.hidden_size)

    # -- encoding -----------------------------------------------------------------------------

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Return a float32 array (len(texts), dim) of unit-length embeddings, in input order.

        Texts are sorted by length before batching so each batch pads little; the rows are put back
        in input order. Empty input gives an array of shape (0, dim).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, found {batch_size}")
        self._load()
        import torch

        texts = [t if isinstance(t, str) else str(t) for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        bf16 = self.use_bf16
        kind = self._where.split(":")[0]
        with torch.inference_mode(), torch.autocast(kind, dtype=torch.bfloat16, enabled=bf16):
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = self._tokenizer(
                    [texts[i] for i in idx], padding=True, truncation=True,
                    max_length=self.max_length, return_tensors="pt",
                )
                batch = {k: v.to(self._where) for k, v in batch.items()}
                hidden = self._model(**batch).last_hidden_state
                out[idx] = _mean_pool(hidden, batch["attention_mask"]).cpu().numpy()
        return out


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token vectors under the attention mask, then L2-normalised (in fp32)."""
    import torch

    m = mask.unsqueeze(-1).to(torch.float32)
    summed = (hidden.to(torch.float32) * m).sum(dim=1)
    pooled = summed / m.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


def _window(source: str, tokenizer) -> int:
    cfg = Path(source) / "sentence_bert_config.json"
    if cfg.is_file():
        try:
            value = json.loads(cfg.read_text(encoding="utf-8")).get("max_seq_length")
            if isinstance(value, int) and value > 0:
                return value
        except (OSError, ValueError):
            pass
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit <= 100_000:
        return min(limit, 512)
    return _DEFAULT_MAX_LENGTH


_CACHE: dict[tuple[str, str], SentenceEncoder] = {}
_CACHE_LOCK = threading.Lock()


def get_encoder(name: str = "all-MiniLM-L6-v2", precision: Precision = "auto") -> SentenceEncoder:
    """One shared :class:`SentenceEncoder` per (model, precision) in this process."""
    key = (name.lower(), precision)
    with _CACHE_LOCK:
        encoder = _CACHE.get(key)
        if encoder is None:
            encoder = _CACHE[key] = SentenceEncoder(name, precision=precision)
    return encoder
