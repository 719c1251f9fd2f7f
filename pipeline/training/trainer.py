"""Fine-tune a :class:`TransformerClassifier`: a plain torch loop.

- seeded (Python, numpy, torch; the batch order too);
- AdamW (no decay on biases and LayerNorm weights) with linear warm-up then linear decay to zero;
- cross-entropy weighted by inverse label frequency (``class_weights``), gradients clipped at 1.0;
- on the device the config names (``device: auto | cpu | cuda[:N]``, :mod:`pipeline.models.device`);
  bf16 autocast where the hardware has native bf16 (``bf16: auto``; fp16 with loss scaling on a GPU
  without bf16), fp32 elsewhere;
- distillation: optional soft targets (a teacher's probabilities per row) mixed with the gold labels;
  rows without a gold label (``None``) learn from the teacher alone;
- dynamic padding (to a multiple of 8: fewer distinct shapes for the kernels to cache) in
  length-grouped batches: shuffle, cut into mega-batches of 50 batches, sort each by
  length, cut into batches, shuffle the batches. Only token id lists are held, never whole-data tensors;
- dev evaluated after each epoch (and every ``eval_every`` steps); the best state by the dev score is
  kept as an in-memory copy and restored at the end;
- a tqdm progress bar with the running loss; an optional time budget (``max_minutes``, counted over
  all attempts of a resumed training);
- resumable (``checkpoints``): the whole state is saved every few minutes and on Ctrl-C; a rerun
  continues at the same batch of the same epoch with the same random states.

A plain loop rather than ``transformers.Trainer``: it keeps the class-weighted loss, the windowed
dev evaluation (the same code path as prediction) and the length grouping in a few readable lines.
Its speed was not compared with ``Trainer`` here; per-step cost is dominated by the model itself.
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.models.classifier import TransformerClassifier
from pipeline.models.device import autocast_dtype, describe
from pipeline.training.config import ModelConfig

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.training.checkpoints import TrainCheckpoints


@dataclass
class TrainResult:
    steps: int = 0
    best_step: int = 0
    best_score: float = -1.0
    truncated: int = 0
    """Training examples longer than max_length (cut to it)."""
    seconds: float = 0.0
    bf16: bool = False
    device: dict[str, str] = field(default_factory=dict)
    """Where it trained: device, device_name, precision."""
    stopped_early: bool = False
    """True when ``max_minutes`` ran out before the last step."""
    resumed_at: int = 0
    """The step a saved state was resumed at (0: trained from the start)."""
    seconds_before: float = 0.0
    """Training seconds of the earlier attempts of a resumed training."""
    history: list[dict[str, float]] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """n / (n_classes * count) per class; 1.0 for a class missing from the training rows."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    weights = np.ones(n_classes)
    present = counts > 0
    weights[present] = len(y) / (present.sum() * counts[present])
    return weights


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator, mega: int = 50
) -> list[np.ndarray]:
    """Batches of similar length in random order (each index once)."""
    order = rng.permutation(len(lengths))
    lengths = np.asarray(lengths)
    batches: list[np.ndarray] = []
    size = batch_size * mega
    for lo in range(0, len(order), size):
        block = order[lo : lo + size]
        block = block[np.argsort(-lengths[block], kind="stable")]
        batches.extend(block[i : i + batch_size] for i in range(0, len(block), batch_size))
    rng.shuffle(batches)  # type: ignore[arg-type]
    return batches


def fine_tune(
    classifier: TransformerClassifier,
    texts: Sequence[str],
    labels: Sequence[str | None],
    targets: Sequence[str | None],
    params: ModelConfig,
    seed: int,
    evaluate: Callable[[TransformerClassifier], tuple[float, dict[str, float]]],
    log: Callable[[dict[str, float], int], Any] | None = None,
    checkpoints: TrainCheckpoints | None = None,
    extra: dict[str, Any] | None = None,
    soft: np.ndarray | None = None,
    gold_weight: float = 1.0,
) -> TrainResult:
    """Train ``classifier.model`` in place; ``evaluate`` returns (dev score to maximise, metrics).

    ``soft`` (rows x labels, a teacher's probabilities; NaN rows: none) adds a distillation loss, the
    cross-entropy against those probabilities, weighted ``1 - gold_weight``; the gold labels' loss is
    weighted ``gold_weight``. A row whose label is None has no gold loss.

    With ``checkpoints``, a saved state is resumed and the state is saved along the way; ``extra``
    (a dict the caller keeps, e.g. the best checkpoint's dev predictions) is saved with it and
    restored in place.
    """
    import torch
    from tqdm.auto import tqdm

    start = time.perf_counter()
    seed_everything(seed)
    torch.set_num_threads(params.threads or os.cpu_count() or 1)
    model, tok = classifier.model, classifier.tokenizer
    device = classifier.device
    dtype = autocast_dtype(params.bf16, device)
    result = TrainResult(bf16=dtype is not None, device=describe(device, dtype))
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)

    index = {label: i for i, label in enumerate(classifier.labels)}
    y = np.array([-1 if label is None else index[label] for label in labels])
    if soft is not None:
        soft = np.asarray(soft, dtype=np.float32)
        has_soft = ~np.isnan(soft).any(axis=1)
        soft = np.where(has_soft[:, None], soft, 0.0).astype(np.float32)
        if not has_soft.any() and gold_weight < 1.0:
            raise ValueError("soft targets given but every row is NaN")
    targets = classifier._targets(list(texts), list(targets))
    enc = classifier.encode(list(texts), targets, truncate=False)
    lengths = [len(ids) for ids in enc["input_ids"]]
    result.truncated = sum(n > classifier.max_length for n in lengths)
    enc = classifier.encode(list(texts), targets, truncate=True)
    lengths = [len(ids) for ids in enc["input_ids"]]
    keys = list(enc.keys())

    n_labels = len(classifier.labels)
    weight = torch.tensor(
        class_weights(y[y >= 0], n_labels) if params.class_weights else np.ones(n_labels),
        dtype=torch.float32,
        device=device,
    )
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight, ignore_index=-1, reduction="sum")

    def batch_loss(logits: Any, batch_idx: np.ndarray) -> Any:
        """Gold cross-entropy (class-weighted mean over rows with a label), plus the soft part."""
        gold = torch.as_tensor(y[batch_idx], device=device)
        labelled = gold >= 0
        hard = logits.new_zeros(())
        if bool(labelled.any()):
            hard = loss_fn(logits, gold) / weight[gold[labelled]].sum()
        if soft is None or gold_weight >= 1.0:
            return hard
        rows = torch.as_tensor(has_soft[batch_idx], device=device)
        teacher = torch.as_tensor(soft[batch_idx], device=device)
        per_row = -(teacher * torch.log_softmax(logits, dim=-1)).sum(dim=-1)
        distil = (per_row * rows).sum() / rows.sum().clamp(min=1)
        if not bool(labelled.any()):
            return distil
        return gold_weight * hard + (1.0 - gold_weight) * distil
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": params.weight_decay,
        },
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=params.lr)
    steps_per_epoch = math.ceil(len(y) / params.batch_size)
    total = max(1, int(round(steps_per_epoch * params.epochs)))
    warm = int(total * params.warmup)

    def rate(step: int) -> float:
        if step < warm:
            return (step + 1) / max(1, warm)
        return max(0.0, (total - step) / max(1, total - warm))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    rng = np.random.default_rng(seed)
    best_state: dict[str, Any] | None = None

    def checkpoint(step: int, epoch: float) -> None:
        nonlocal best_state
        score, metrics = evaluate(classifier)
        row = {"step": step, "epoch": epoch, "score": score, **metrics}
        result.history.append(row)
        if log:
            log({"dev.score": score, **metrics}, step)
        if score > result.best_score:
            result.best_score, result.best_step = score, step
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        model.train()

    # position: the epoch, the random state its batch order was drawn from, batches done in it
    epoch, epoch_rng, done_in_epoch = 0, rng.bit_generator.state, 0
    step, running, elapsed_before = 0, 0.0, 0.0

    def save(when_due: bool = False) -> None:
        if checkpoints is None or (when_due and not checkpoints.due()):
            return
        checkpoints.save({
            "step": step, "epoch": epoch, "epoch_rng": epoch_rng, "done_in_epoch": done_in_epoch,
            "running": running, "torch_rng": torch.get_rng_state(),
            "elapsed": elapsed_before + time.perf_counter() - start,
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "best_state": best_state,
            "best_score": result.best_score, "best_step": result.best_step,
            "history": result.history, "extra": dict(extra or {}),
        })

    saved = checkpoints.load() if checkpoints is not None else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"])
        epoch, epoch_rng, done_in_epoch = saved["epoch"], saved["epoch_rng"], saved["done_in_epoch"]
        step, running, elapsed_before = saved["step"], saved["running"], saved["elapsed"]
        best_state, result.history = saved["best_state"], saved["history"]
        result.best_score, result.best_step, result.resumed_at = saved["best_score"], saved["best_step"], step
        result.seconds_before = elapsed_before
        if extra is not None:
            extra.clear()
            extra.update(saved["extra"])
        print(f"resuming at step {step} of {total} ({elapsed_before / 60:.1f} min trained so far) from "
              f"{checkpoints.folder}", file=sys.stderr)  # type: ignore[union-attr]

    deadline = start - elapsed_before + params.max_minutes * 60 if params.max_minutes else None
    model.train()
    bar = tqdm(
        total=total,
        initial=step,
        desc="train",
        unit="step",
        file=sys.stderr,
        mininterval=2.0 if sys.stderr.isatty() else 30.0,
        dynamic_ncols=True,
    )
    try:
        while step < total:
            rng.bit_generator.state = epoch_rng
            batches = length_grouped_batches(lengths, params.batch_size, rng)
            for batch_idx in batches[done_in_epoch:]:
                features = [{k: enc[k][j] for k in keys} for j in batch_idx]
                padded = tok.pad(features, pad_to_multiple_of=8, return_tensors="pt")
                batch = {k: v.to(device) for k, v in padded.items()}
                kind = device.split(":")[0]
                with torch.autocast(kind, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
                    logits = model(**batch).logits
                loss = batch_loss(logits.float(), batch_idx)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                done_in_epoch += 1
                running = loss.item() if step == 1 else 0.98 * running + 0.02 * loss.item()
                bar.update(1)
                bar.set_postfix(loss=f"{running:.3f}", refresh=False)
                if log and (step % 20 == 0 or step == total):
                    log({"train.loss": running, "train.lr": scheduler.get_last_lr()[0]}, step)
                if params.eval_every and step % params.eval_every == 0 and step < total:
                    checkpoint(step, step / steps_per_epoch)
                save(when_due=True)
                if deadline is not None and time.perf_counter() > deadline:
                    result.stopped_early = True
                if step >= total or result.stopped_early:
                    break
            checkpoint(step, step / steps_per_epoch)
            epoch, epoch_rng, done_in_epoch = epoch + 1, rng.bit_generator.state, 0
            if result.stopped_early:
                break
            save(when_due=True)
    except KeyboardInterrupt:
        save()  # Ctrl-C: the next run resumes here
        raise
    finally:
        bar.close()
    if checkpoints is not None and checkpoints.exists():
        save()  # a long training is kept until the model is registered (the caller clears it)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    result.steps = step
    result.seconds = elapsed_before + time.perf_counter() - start
    return result
