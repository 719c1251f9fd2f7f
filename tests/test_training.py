"""Training, evaluation, registration and data checks on tiny labelled sets written here.

The dev sentences share no sentiment or stance words with the training sentences: TF-IDF cannot carry
anything over, a pre-trained encoder can. MiniLM runs for a few steps at max_length 32-40.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.errors import ConfigError, DataError, ModelError

TONE_TRAIN = {
    "positive": [
        "What a wonderful day, everyone was happy.",
        "The festival was a joyful celebration.",
        "She gave a brilliant and inspiring speech.",
        "The results are excellent, a real triumph.",
        "I love this delightful little town.",
        "Fans cheered the fantastic victory.",
        "The new park is beautiful and pleasant.",
        "Great work, the team did an amazing job.",
        "A heartwarming story of kindness and hope.",
        "The volunteers were generous and kind.",
    ],
    "negative": [
        "What a terrible day, everyone was miserable.",
        "The festival was a painful disaster.",
        "She gave a dreadful and boring speech.",
        "The results are awful, a real catastrophe.",
        "I hate this ugly little town.",
        "Fans mourned the humiliating defeat.",
        "The new park is filthy and unpleasant.",
        "Bad work, the team did a horrible job.",
        "A tragic story of cruelty and despair.",
        "The officials were corrupt and cruel.",
    ],
    "neutral": [
        "The meeting starts at nine on Tuesday.",
        "The report has twelve pages and two tables.",
        "The office is on the third floor.",
        "The council will publish the minutes next week.",
        "Trains leave the station every hour.",
        "The survey covered four regions.",
        "The document lists the committee members.",
        "The building opened in 1990.",
        "The agency released its annual figures.",
        "The bridge is two kilometres long.",
    ],
}
TONE_DEV = {
    "positive": [
        "Superb, marvellous news that thrilled us.",
        "Such a lovely, glorious afternoon.",
        "Their kindness made me smile with gratitude.",
        "An uplifting, magnificent performance.",
        "We are proud of this splendid achievement.",
        "Terrific! Absolutely charming.",
    ],
    "negative": [
        "Appalling, shocking news that devastated us.",
        "Such a gloomy, wretched afternoon.",
        "Their rudeness made me cry with anger.",
        "A nasty, pathetic performance.",
        "We are ashamed of this disgraceful failure.",
        "Hideous! Absolutely sickening.",
    ],
    "neutral": [
        "Parliament convenes on Monday morning.",
        "Ticket sales figures appear in section five.",
        "Residents may collect forms at reception.",
        "Census data cover the period 2001 to 2011.",
        "Buses depart from platform seven.",
        "Its headquarters moved to Leeds in 2004.",
    ],
}
STANCE_TRAIN = [  # (target, text, label)
    ("the new tax", "I strongly support the new tax, it is fair.", "favor"),
    ("the new tax", "The new tax is a good idea and should pass.", "favor"),
    ("the new tax", "We should back the new tax without delay.", "favor"),
    ("the new tax", "I strongly oppose the new tax, it is unfair.", "against"),
    ("the new tax", "The new tax is a bad idea and should fail.", "against"),
    ("the new tax", "We should reject the new tax without delay.", "against"),
    ("the new tax", "The new tax was discussed in a meeting on Tuesday.", "neutral"),
    ("the new tax", "Officials described how the new tax would be collected.", "neutral"),
    ("the bridge project", "I strongly support the bridge project, it helps everyone.", "favor"),
    ("the bridge project", "The bridge project is a good plan and should go ahead.", "favor"),
    ("the bridge project", "We should back the bridge project right now.", "favor"),
    ("the bridge project", "I strongly oppose the bridge project, it hurts everyone.", "against"),
    ("the bridge project", "The bridge project is a bad plan and should be stopped.", "against"),
    ("the bridge project", "We should reject the bridge project right now.", "against"),
    ("the bridge project", "The bridge project was presented at the council on Monday.", "neutral"),
    ("the bridge project", "Engineers explained the timeline of the bridge project.", "neutral"),
]
STANCE_DEV = [
    ("the new tax", "Count me in: this levy deserves wholehearted endorsement.", "favor"),
    ("the new tax", "Bravo to lawmakers for this excellent levy.", "favor"),
    ("the new tax", "This levy is outrageous; scrap it immediately.", "against"),
    ("the new tax", "Lawmakers must abandon this harmful levy.", "against"),
    ("the new tax", "A spokesperson noted when this levy takes effect.", "neutral"),
    ("the bridge project", "Count me in: this crossing deserves wholehearted endorsement.", "favor"),
    ("the bridge project", "Bravo to planners for this excellent crossing.", "favor"),
    ("the bridge project", "This crossing is outrageous; scrap it immediately.", "against"),
    ("the bridge project", "Planners must abandon this harmful crossing.", "against"),
    ("the bridge project", "A spokesperson noted when this crossing opens.", "neutral"),
]

TRANSFORMER = ["model.kind=transformer", "model.lr=0.0003", "model.batch_size=8", "model.eval_batch_size=16"]


def toy_tone_config(root: Path, experiment: str) -> dict:
    """Write the toy tone rows to ``root/tone.jsonl``; a train config reading them (train and dev splits)."""
    rows = [{"text": t, "label": lab, "split": "train"} for lab, xs in TONE_TRAIN.items() for t in xs]
    rows += [{"text": t, "label": lab, "split": "dev"} for lab, xs in TONE_DEV.items() for t in xs]
    write_jsonl(root / "tone.jsonl", rows)
    return {
        "experiment": experiment,
        "task": "tone",
        "data": {"root": str(root), "sources": [
            {"name": "toy", "path": "tone.jsonl", "where": {"split": "train"}, "split": "train"},
            {"name": "toy", "path": "tone.jsonl", "where": {"split": "dev"}, "split": "dev"},
        ]},
        "tracking": {"uri": f"sqlite:///{root / 'mlflow.db'}", "artifact_root": str(root / "artifacts")},
    }


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("training")
    tone = [{"text": t, "label": lab, "split": "train"} for lab, xs in TONE_TRAIN.items() for t in xs]
    tone += [{"text": t, "label": lab, "split": "dev"} for lab, xs in TONE_DEV.items() for t in xs]
    write_jsonl(root / "tone.jsonl", tone)
    stance = [{"target": g, "text": t, "stance": lab, "split": "train"} for g, t, lab in STANCE_TRAIN]
    stance += [{"target": g, "text": t, "stance": lab, "split": "dev"} for g, t, lab in STANCE_DEV]
    write_jsonl(root / "stance.jsonl", stance)
    write_jsonl(
        root / "tone-eval.jsonl", [{"text": t, "label": lab} for lab, xs in TONE_DEV.items() for t in xs]
    )
    tracking = {"uri": f"sqlite:///{root / 'mlflow.db'}", "artifact_root": str(root / "artifacts")}
    (root / "tone.yaml").write_text(
        yaml.safe_dump(
            {
                "experiment": "test-train",
                "task": "tone",
                "data": {
                    "root": str(root),
                    "sources": [
                        {"name": "toy", "path": "tone.jsonl", "where": {"split": "train"}, "split": "train"},
                        {"name": "toy", "path": "tone.jsonl", "where": {"split": "dev"}, "split": "dev"},
                    ],
                },
                "model": {"kind": "baseline", "max_length": 32, "epochs": 2},
                "tracking": tracking,
            }
        )
    )
    (root / "stance.yaml").write_text(
        yaml.safe_dump(
            {
                "experiment": "test-train",
                "task": "stance",
                "data": {
                    "root": str(root),
                    "sources": [
                        {
                            "name": "toy",
                            "path": "stance.jsonl",
                            "where": {"split": "train"},
                            "split": "train",
                            "columns": {"label": "stance", "target": "target"},
                        },
                        {
                            "name": "toy",
                            "path": "stance.jsonl",
                            "where": {"split": "dev"},
                            "split": "dev",
                            "columns": {"label": "stance", "target": "target"},
                        },
                    ],
                },
                "model": {"kind": "baseline", "max_length": 40, "epochs": 3},
                "tracking": tracking,
            }
        )
    )
    return root


@pytest.fixture(scope="module")
def trained(workdir) -> dict[str, dict]:
    """Baseline and MiniLM for tone and stance, registered as tone-* / stance-* in one store."""
    from pipeline.training.api import train_from_config

    out = {}
    for task in ("tone", "stance"):
        config = str(workdir / f"{task}.yaml")
        out[f"{task}-baseline"] = train_from_config(config, [f"register.name={task}-baseline"])
        out[f"{task}-transformer"] = train_from_config(config, [f"register.name={task}-minilm", *TRANSFORMER])
    return out


def client(workdir):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
    return mlflow.MlflowClient()


# --- training, tracking, registry ---------------------------------------------------------------


@pytest.mark.parametrize("task", ["tone", "stance"])
def test_transformer_beats_baseline_on_unseen_wording(trained, task):
    baseline = trained[f"{task}-baseline"]["metrics"]["dev.macro_f1"]
    transformer = trained[f"{task}-transformer"]["metrics"]["dev.macro_f1"]
    assert transformer >= baseline + 0.25, (task, baseline, transformer)
    assert transformer >= 0.6


def test_metrics_params_inputs_and_plots_are_logged(trained, workdir):
    summary = trained["stance-transformer"]
    run = client(workdir).get_run(summary["run_id"])
    metrics = run.data.metrics
    for key in (
        "dev.macro_f1",
        "dev.accuracy",
        "dev.f1.against",
        "dev.f1.favor",
        "dev.toy.macro_f1",
        "dev.ece",
        "dev.ece_calibrated",
        "dev.temperature",
        "train.seconds",
        "train.peak_rss_mb",
        "train.loss",
    ):
        assert key in metrics, key
    assert metrics["train.peak_rss_mb"] > 50
    assert run.data.params["task"] == "stance"
    assert run.data.params["model.kind"] == "transformer"
    assert run.data.tags["config_hash"] == summary["config_hash"]
    inputs = {
        (d.dataset.name, [t.value for t in d.tags if t.key == "mlflow.data.context"][0])
        for d in run.inputs.dataset_inputs
    }
    assert inputs == {("toy-train", "training"), ("toy-dev", "validation")}
    artifacts = {a.path for a in client(workdir).list_artifacts(summary["run_id"], "plots")}
    assert {"plots/confusion_dev.png", "plots/reliability_dev.png"} <= artifacts
    assert run.info.run_name.startswith("stance-minilm-")


def test_alias_points_at_the_new_version_and_same_config_is_reused(trained, workdir):
    from pipeline.training.api import train_from_config

    summary = trained["tone-baseline"]
    assert summary["model_uri"] == "models:/tone-baseline@champion"
    mv = client(workdir).get_model_version_by_alias("tone-baseline", "champion")
    assert str(mv.version) == summary["version"]
    assert mv.tags["data_hash"] == summary["data_hash"]

    again = train_from_config(str(workdir / "tone.yaml"), ["register.name=tone-baseline"])
    assert again["reused"] is True
    assert again["version"] == summary["version"]
    assert again["metrics"]["dev.macro_f1"] == pytest.approx(summary["metrics"]["dev.macro_f1"])
    changed = train_from_config(
        str(workdir / "tone.yaml"), ["register.name=tone-baseline", "model.baseline.C=2"]
    )
    assert changed["reused"] is False and changed["version"] != summary["version"]
    assert (
        str(client(workdir).get_model_version_by_alias("tone-baseline", "champion").version)
        == changed["version"]
    )


def test_reuse_recognises_unchanged_data_files_without_loading_them(trained, workdir, monkeypatch):
    from pipeline.training import data
    from pipeline.training.api import train_from_config

    summary = trained["tone-baseline"]
    config, overrides = str(workdir / "tone.yaml"), ["register.name=tone-baseline"]
    train_from_config(config, overrides)  # a version trained before files_hash existed gets the tag here
    mv = client(workdir).get_model_version(summary["name"], summary["version"])
    assert len(mv.tags["files_hash"]) == 16

    def no_loading(*args, **kwargs):
        raise AssertionError("the data was loaded although the files did not change")

    monkeypatch.setattr(data, "load_splits", no_loading)
    again = train_from_config(config, overrides)
    assert again["reused"] is True and again["version"] == summary["version"]
    assert again["data_hash"] == summary["data_hash"]
    with (workdir / "tone.jsonl").open("a") as handle:  # new bytes: the data is read and hashed again
        handle.write('{"text": "A quiet day at the market.", "label": "neutral", "split": "train"}\n')
    with pytest.raises(AssertionError, match="the data was loaded"):
        train_from_config(config, overrides)


def test_evaluate_model_returns_the_documented_json(trained, workdir):
    from pipeline.training.api import evaluate_model

    for model in ("models:/tone-minilm@champion", "models:/tone-minilm/1"):
        result = evaluate_model(model, str(workdir / "tone-eval.jsonl"))
        assert set(result) == {"n", "accuracy", "macro_f1", "per_class"}
        assert result["n"] == 18 and isinstance(result["n"], int)
        assert isinstance(result["accuracy"], float) and isinstance(result["macro_f1"], float)
        assert set(result["per_class"]) == {"negative", "neutral", "positive"}
        for row in result["per_class"].values():
            assert set(row) == {"precision", "recall", "f1", "support"}
            assert isinstance(row["support"], int) and isinstance(row["f1"], float)
        assert result["macro_f1"] == pytest.approx(trained["tone-transformer"]["metrics"]["dev.macro_f1"])
        json.dumps(result)


def test_model_uri_and_folders_load_the_same_classifier(trained, workdir, tmp_path):
    import mlflow

    from pipeline.models.classifier import load_classifier
    from pipeline.models.mlflow_model import load_classifier_from_uri

    client(workdir)
    clf = load_classifier_from_uri("models:/stance-minilm@champion")
    assert clf.labels == ["against", "neutral", "favor"] and clf.kind == "transformer"
    assert clf.temperature == pytest.approx(trained["stance-transformer"]["metrics"]["dev.temperature"])
    folder = clf.save(tmp_path / "clf")
    again = load_classifier(folder)
    texts, targets = ["Bravo to planners for this excellent crossing."] * 2, ["the bridge project", None]
    np.testing.assert_allclose(
        again.predict_proba(texts, targets), clf.predict_proba(texts, targets), atol=1e-6
    )
    mlflow_folder = mlflow.artifacts.download_artifacts(
        "models:/stance-minilm@champion", dst_path=str(tmp_path / "m")
    )
    assert load_classifier_from_uri(mlflow_folder).labels == clf.labels


def test_missing_model_uri_is_one_line_model_error(workdir):
    from pipeline.models.mlflow_model import load_classifier_from_uri

    client(workdir)
    with pytest.raises(ModelError) as err:
        load_classifier_from_uri("models:/no-such-model@champion")
    assert "models:/no-such-model@champion" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ModelError, match="neither a folder nor a model URI"):
        load_classifier_from_uri("no/such/folder")


# --- classifiers --------------------------------------------------------------------------------


def test_baseline_stance_reads_the_target():
    from pipeline.models.classifier import BaselineClassifier

    texts = ["The plan was discussed again today.", "Officials spoke about the plan.", "A new plan appeared."]
    rows = [(t, "solar farms", "favor") for t in texts] + [(t, "coal mines", "against") for t in texts]
    texts, targets, labels = (list(col) for col in zip(*rows, strict=True))
    clf = BaselineClassifier(["against", "neutral", "favor"], "stance").fit(
        texts * 3, labels * 3, targets * 3
    )
    probs = clf.predict_proba(["The plan was discussed."] * 2, ["solar farms", "coal mines"])
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert clf.predict(["The plan was discussed."] * 2, ["solar farms", "coal mines"]) == ["favor", "against"]


def test_long_text_is_split_into_windows_not_truncated(trained, workdir):
    from pipeline.models.classifier import combine_windows
    from pipeline.models.mlflow_model import load_classifier_from_uri

    client(workdir)
    clf = load_classifier_from_uri("models:/tone-minilm@champion")
    filler = " ".join(
        ["The committee met on Tuesday and the report lists the figures for each region."] * 130
    )
    ending = " What a wonderful, joyful triumph, everyone was happy and the results are excellent!" * 3
    text = filler + ending
    assert len(clf.tokenizer(text, add_special_tokens=False)["input_ids"]) > 2000
    windows = clf.windows(text)
    assert len(windows) > 60
    assert windows[0][0] == 0 and windows[-1][1] == len(text.rstrip())
    for (_, e1, _), (s2, _, _) in zip(windows, windows[1:], strict=False):
        assert s2 < e1, "consecutive windows overlap"
    for start, end, _ in windows:
        assert len(clf.tokenizer(text[start:end])["input_ids"]) <= clf.max_length
    logits, weights = clf.window_logits([text])
    assert logits[0].shape == (len(windows), 3)
    probs = clf.predict_proba([text, filler])
    np.testing.assert_allclose(probs[0], combine_windows(logits, weights, clf.temperature)[0], atol=1e-5)
    # the ending is read: it moves the text toward positive, which truncation to 32 tokens could not do
    positive = clf.labels.index("positive")
    assert probs[0, positive] > probs[1, positive]
    head = clf.predict_proba([text[: windows[0][1]]])[0]
    assert abs(probs[0, positive] - head[positive]) > 1e-4


# --- calibration --------------------------------------------------------------------------------


def test_temperature_scaling_reduces_nll_when_overconfident():
    from pipeline.models.classifier import combine_windows
    from pipeline.training.evaluate import expected_calibration_error, fit_temperature, nll

    rng = np.random.default_rng(0)
    n, k = 600, 3
    y = rng.integers(0, k, n)
    predicted = np.where(rng.random(n) < 0.7, y, (y + rng.integers(1, k, n)) % k)  # 70 % right
    logits = [np.eye(k)[p][None, :] * 8.0 + rng.normal(0, 0.3, (1, k)) for p in predicted]
    weights = [np.ones(1)] * n
    raw = combine_windows(logits, weights, 1.0)
    t = fit_temperature(logits, weights, y)
    scaled = combine_windows(logits, weights, t)
    assert t > 2.0
    assert nll(scaled, y) < nll(raw, y) - 0.5
    assert expected_calibration_error(scaled, y) < expected_calibration_error(raw, y) / 2
    assert (scaled.argmax(axis=1) == raw.argmax(axis=1)).all()


# --- bad data -----------------------------------------------------------------------------------


def _config(tmp_path: Path, rows: list[dict], **source) -> tuple[str, str]:
    data = write_jsonl(tmp_path / "bad.jsonl", rows)
    sources = [{"path": str(data), "split": "train", **source}, {"path": str(data), "split": "dev", **source}]
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "task": "tone",
                "data": {"sources": sources},
                "model": {"kind": "baseline"},
                "tracking": {"uri": f"sqlite:///{tmp_path / 'm.db'}"},
            }
        )
    )
    return str(path), str(data)


GOOD = [{"text": "fine", "label": "positive"}, {"text": "bad", "label": "negative"}]


@pytest.mark.parametrize(
    ("rows", "source", "expected"),
    [
        ([{"body": "x", "label": "positive"}], {}, "missing column 'text'"),
        (
            [{"text": "x", "label": "positive"}],
            {"columns": {"label": "sentiment"}},
            "missing column 'sentiment'",
        ),
        ([*GOOD, {"text": "x", "label": "positiv"}], {}, "column 'label' has unknown label(s) 'positiv'"),
        ([{"text": "x", "label": "positive"}] * 3, {}, "column 'label' has one class only"),
        (
            [*GOOD, {"text": "x", "label": "positive", "split": "a"}],
            {"where": {"split": "dev"}},
            "column 'split' has no rows equal to 'dev'",
        ),
        ([{"text": None, "label": "positive"}, *GOOD], {}, "column 'text' has 1 rows that are not text"),
    ],
)
def test_bad_data_fails_with_one_line_naming_file_and_column(tmp_path, rows, source, expected):
    from pipeline.training.api import train_from_config

    config, data = _config(tmp_path, rows, **source)
    with pytest.raises(DataError) as err:
        train_from_config(config, [])
    message = str(err.value)
    assert message.startswith(data), message
    assert expected in message
    assert "\n" not in message


def test_stance_without_target_and_unknown_config_key(tmp_path):
    from pipeline.training.api import train_from_config

    config, data = _config(tmp_path, GOOD)
    with pytest.raises(DataError, match="no target column for a stance task"):
        train_from_config(config, ["task=stance", "labels=[negative, positive]"])
    with pytest.raises(ConfigError, match="model.learning_rate"):
        train_from_config(config, ["model.learning_rate=0.1"])


def test_holdout_keeps_groups_apart_and_is_seeded(tmp_path):
    from pipeline.training.config import TrainConfig
    from pipeline.training.data import load_splits

    rows = [
        {"text": f"paragraph {d}-{i}", "label": ["negative", "neutral", "positive"][(d + i) % 3], "doc": d}
        for d in range(20)
        for i in range(5)
    ]
    data = write_jsonl(tmp_path / "docs.jsonl", rows)
    source = {"path": str(data), "holdout": 0.2, "columns": {"group": "doc"}, "name": "docs"}
    config = TrainConfig.model_validate({"data": {"sources": [source]}})
    splits = load_splits(config)
    assert len(splits.dev) == 20 and len(splits.train) == 80
    assert not set(splits.dev["group"]) & set(splits.train["group"])
    assert set(splits.dev["label"]) == {"negative", "neutral", "positive"}
    assert load_splits(config).data_hash() == splits.data_hash()

    # another training seed: other splits, unless data.split_seed keeps them
    reseeded = TrainConfig.model_validate({"seed": 14, "data": {"sources": [source]}})
    assert load_splits(reseeded).data_hash() != splits.data_hash()
    pinned = TrainConfig.model_validate({"seed": 14, "data": {"sources": [source], "split_seed": 13}})
    assert load_splits(pinned).data_hash() == splits.data_hash()
    assert pinned.config_hash() != config.config_hash()


def test_time_budget_stops_training_and_keeps_an_evaluated_state():
    from pipeline.models.classifier import TransformerClassifier
    from pipeline.training.config import ModelConfig
    from pipeline.training.trainer import fine_tune

    texts = [t for xs in TONE_TRAIN.values() for t in xs]
    labels = [lab for lab, xs in TONE_TRAIN.items() for _ in xs]
    clf = TransformerClassifier.from_encoder("all-MiniLM-L6-v2", list(TONE_TRAIN), max_length=24)
    calls = []

    def evaluate(c):
        calls.append(1)
        return 0.5, {"dev.macro_f1": 0.5}

    params = ModelConfig(epochs=5, batch_size=4, max_length=24, max_minutes=1e-6)
    result = fine_tune(clf, texts, labels, [None] * len(texts), params, 13, evaluate)
    assert result.stopped_early and result.steps == 1 and len(calls) == 1 and result.best_step == 1
