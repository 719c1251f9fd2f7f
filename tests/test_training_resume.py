"""A killed training resumes where its last saved state left it, in the same MLflow run."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from pipeline.training.checkpoints import TrainCheckpoints
from tests.test_training import TONE_DEV, TONE_TRAIN, TRANSFORMER, write_jsonl

TEXTS = [t for xs in TONE_TRAIN.values() for t in xs]
LABELS = [lab for lab, xs in TONE_TRAIN.items() for _ in xs]


class Killed(RuntimeError):
    """Stands for kill -9 (or the end of a session) right after a save."""


class KilledAfterSave(TrainCheckpoints):
    """Saves once, after the ``at``-th step, then dies."""

    def __init__(self, folder, at: int) -> None:
        super().__init__(folder, every_minutes=60)
        self.at, self.calls = at, 0

    def due(self) -> bool:
        self.calls += 1
        return self.calls == self.at

    def save(self, state) -> None:
        super().save(state)
        raise Killed(f"killed after saving step {state['step']}")


def _train(checkpoints=None):
    """MiniLM on 30 sentences, 2 epochs of 8 steps, a dev check every 5 steps; weights and history."""
    from pipeline.models.classifier import TransformerClassifier
    from pipeline.training.config import ModelConfig
    from pipeline.training.trainer import fine_tune, seed_everything

    seed_everything(13)
    clf = TransformerClassifier.from_encoder("all-MiniLM-L6-v2", list(TONE_TRAIN), max_length=24)
    dev = [t for xs in TONE_DEV.values() for t in xs]

    def evaluate(c):
        probs = c.predict_proba(dev)
        return float(probs.max(axis=1).mean()), {}

    params = ModelConfig(epochs=2, batch_size=4, max_length=24, eval_every=5, lr=3e-4)
    extra = {"mine": "kept"} if checkpoints is None else {}
    result = fine_tune(clf, TEXTS, LABELS, [None] * len(TEXTS), params, 13, evaluate,
                       checkpoints=checkpoints, extra=extra)
    weights = {k: v.detach().clone() for k, v in clf.model.state_dict().items()}
    return result, weights, extra


def test_resumed_training_ends_exactly_where_an_uninterrupted_one_does(tmp_path):
    folder = tmp_path / "state"
    straight, straight_weights, _ = _train()
    with pytest.raises(Killed, match="step 6"):
        _train(KilledAfterSave(folder, at=6))  # mid-epoch 1, after the dev check at step 5
    assert (folder / "state.pt").is_file() and not list(folder.glob(".*tmp"))

    resumed, resumed_weights, extra = _train(TrainCheckpoints(folder, every_minutes=60))
    assert resumed.resumed_at == 6 and resumed.steps == straight.steps == 16
    assert [h["step"] for h in resumed.history] == [h["step"] for h in straight.history] == [5, 8, 10, 15, 16]
    np.testing.assert_allclose([h["score"] for h in resumed.history], [h["score"] for h in straight.history],
                               rtol=1e-5)
    assert resumed.best_step == straight.best_step
    for name, tensor in straight_weights.items():
        np.testing.assert_allclose(resumed_weights[name].numpy(), tensor.numpy(), rtol=1e-4, atol=1e-6)
    assert resumed.seconds >= resumed.seconds_before > 0


def test_pipeline_train_resumes_in_the_same_run_and_clears_the_state(tmp_path, monkeypatch):
    import mlflow

    from pipeline.training import checkpoints as module
    from pipeline.training.api import train_from_config

    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "cache"))
    rows = [{"text": t, "label": lab, "split": "train"} for lab, xs in TONE_TRAIN.items() for t in xs]
    rows += [{"text": t, "label": lab, "split": "dev"} for lab, xs in TONE_DEV.items() for t in xs]
    write_jsonl(tmp_path / "tone.jsonl", rows)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = tmp_path / "tone.yaml"
    config.write_text(yaml.safe_dump({
        "experiment": "test-resume",
        "task": "tone",
        "data": {"root": str(tmp_path), "sources": [
            {"name": "toy", "path": "tone.jsonl", "where": {"split": "train"}, "split": "train"},
            {"name": "toy", "path": "tone.jsonl", "where": {"split": "dev"}, "split": "dev"},
        ]},
        "model": {"max_length": 24, "epochs": 2},
        "tracking": {"uri": store, "artifact_root": str(tmp_path / "artifacts")},
    }))
    overrides = list(TRANSFORMER)

    real_save = module.TrainCheckpoints.save

    def save_then_die(self, state):
        real_save(self, state)
        raise Killed("killed")

    monkeypatch.setattr(module.TrainCheckpoints, "due", lambda self: True)
    monkeypatch.setattr(module.TrainCheckpoints, "save", save_then_die)
    with pytest.raises(Killed):
        train_from_config(str(config), overrides)
    saved = list((tmp_path / "cache" / "train-checkpoints").iterdir())
    assert len(saved) == 1 and (saved[0] / "state.pt").is_file()
    first_run = (saved[0] / "run_id").read_text()

    monkeypatch.setattr(module.TrainCheckpoints, "save", real_save)
    monkeypatch.setattr(module.TrainCheckpoints, "due", lambda self: False)
    summary = train_from_config(str(config), [*overrides, "model.max_minutes=30"])  # a new budget may resume
    assert summary["run_id"] == first_run and summary["metrics"]["train.resumed_at"] == 1
    assert not saved[0].exists()  # registered: the state is gone
    run = mlflow.MlflowClient(store).get_run(first_run)
    assert run.info.status == "FINISHED" and run.data.tags["registered_model"] == f"tone/{summary['version']}"



def test_fresh_discards_a_saved_state(tmp_path, monkeypatch):
    from pipeline.config import load_config
    from pipeline.training.api import _checkpoints
    from pipeline.training.config import TrainConfig

    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path))
    config = load_config(None, ["task=tone", "model.max_length=24"], model=TrainConfig)
    kept = _checkpoints(config, "d" * 64, fresh=False)
    kept.folder.mkdir(parents=True)
    (kept.folder / "state.pt").write_bytes(b"x")
    assert _checkpoints(config, "d" * 64, fresh=False).exists()
    assert not _checkpoints(config, "d" * 64, fresh=True).exists() and not kept.folder.exists()
    baseline = load_config(None, ["model.kind=baseline"], model=TrainConfig)
    assert _checkpoints(baseline, "d" * 64, fresh=False) is None


def test_sigterm_saves_the_state_and_the_rerun_finishes(tmp_path):
    import os
    import signal

    from pipeline.interrupts import sigterm_as_interrupt
    from pipeline.models.classifier import TransformerClassifier
    from pipeline.training.config import ModelConfig
    from pipeline.training.trainer import fine_tune

    calls: list[int] = []

    def evaluate(c):
        calls.append(1)
        if len(calls) == 2:  # the dev check at the end of epoch 1 (step 8)
            os.kill(os.getpid(), signal.SIGTERM)
        return float(len(calls)), {}

    params = ModelConfig(epochs=2, batch_size=4, max_length=24, eval_every=5)
    folder = tmp_path / "state"

    def train():
        clf = TransformerClassifier.from_encoder("all-MiniLM-L6-v2", list(TONE_TRAIN), max_length=24)
        return fine_tune(clf, TEXTS, LABELS, [None] * len(TEXTS), params, 13, evaluate,
                         checkpoints=TrainCheckpoints(folder, every_minutes=60))

    with sigterm_as_interrupt(), pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        train()
    assert TrainCheckpoints(folder).load()["step"] == 8
    result = train()
    assert result.resumed_at == 8 and result.steps == 16 and not result.stopped_early
