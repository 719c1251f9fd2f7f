"""An ensemble: the weighted mean of trained classifiers' probabilities, as one classifier.

Each member predicts as it would alone (its own windows, temperature and relatedness gate); the
ensemble averages their probabilities with fixed weights and applies its own temperature to the log
of that mean (fitted on dev like any classifier's). Members are saved in ``members/NN`` inside the
ensemble's folder, so a logged ensemble is self-contained.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import ModelError
from pipeline.models.classifier import Classifier, load_classifier, softmax

MEMBERS_DIR = "members"
FLOOR = 1e-9  # log(0) guard: a member can put exactly zero on a class (a gate, a saturated softmax)


class EnsembleClassifier(Classifier):
    """Weighted mean of member classifiers' probabilities; all members share task and labels."""

    kind = "ensemble"

    def __init__(
        self, members: Sequence[Classifier], weights: Sequence[float] | None = None, temperature: float = 1.0
    ) -> None:
        if len(members) < 2:
            raise ModelError(f"an ensemble needs at least two members, found {len(members)}")
        first = members[0]
        for member in members[1:]:
            if member.task != first.task or member.labels != first.labels:
                raise ModelError(
                    f"ensemble members disagree: a {first.task} model with labels {first.labels} and a "
                    f"{member.task} model with labels {member.labels}"
                )
        weights = [1.0] * len(members) if weights is None else [float(w) for w in weights]
        if len(weights) != len(members) or min(weights) < 0 or sum(weights) <= 0:
            raise ModelError(
                f"ensemble weights {weights}: expected {len(members)} non-negative weights, not all 0"
            )
        super().__init__(first.labels, first.task, first.target_mode, temperature)
        self.members = list(members)
        self.weights = np.asarray(weights, dtype=np.float64) / sum(weights)

    def member_probs(
        self, texts: Sequence[str], targets: Sequence[str | None] | None = None, *, about_target: bool = False
    ) -> np.ndarray:
        """The weighted mean of the members' own probabilities (temperatures and gates applied)."""
        out = np.zeros((len(texts), len(self.labels)))
        for member, weight in zip(self.members, self.weights, strict=True):
            out += weight * member.predict_proba(texts, targets, about_target=about_target)
        return out

    def window_logits(self, texts, targets=None):
        """One 'window' per text whose logits are the log of the members' mean probabilities."""
        logits = np.log(np.clip(self.member_probs(texts, targets), FLOOR, None))
        return [row[None, :] for row in logits], [np.ones(1) for _ in logits]

    def predict_proba(
        self, texts: Sequence[str], targets: Sequence[str | None] | None = None, *, about_target: bool = False
    ) -> np.ndarray:
        from pipeline.models.classifier import _check_texts

        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels)))
        mean = self.member_probs(texts, targets, about_target=about_target)
        return softmax(np.log(np.clip(mean, FLOOR, None)) / self.temperature)

    def configure_windows(self, max_length: int | None = None, stride: float = 0.5,
                          batch_size: int | None = None) -> None:
        for member in self.members:
            member.configure_windows(max_length, stride, batch_size)

    # --- persistence --------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        return {
            **super().meta(),
            "members": [
                {"folder": f"{MEMBERS_DIR}/{i:02d}", "kind": m.kind, "weight": float(w)}
                for i, (m, w) in enumerate(zip(self.members, self.weights, strict=True))
            ],
        }

    def _save_weights(self, folder: Path) -> None:
        for i, member in enumerate(self.members):
            member.save(folder / MEMBERS_DIR / f"{i:02d}")

    @classmethod
    def load(cls, folder: Path, meta: dict[str, Any]) -> EnsembleClassifier:
        entries = meta.get("members") or []
        members = [load_classifier(folder / entry["folder"]) for entry in entries]
        return cls(members, [entry["weight"] for entry in entries], temperature=meta.get("temperature", 1.0))
