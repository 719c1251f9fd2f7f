"""Distillation: a tiny baseline teacher, a MiniLM student for a few steps, the teacher-label cache,
corpus sections and mention windows, and the config checks."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from pipeline.errors import ConfigError
from tests.articles import PLAIN_NO_HEADINGS, SCRAPED_WITH_HEADINGS
from tests.test_training import toy_tone_config

STUDENT = {"kind": "transformer", "max_length": 32, "batch_size": 8, "eval_batch_size": 16, "epochs": 0.5,
           "lr": 3e-4, "checkpoint_minutes": 0}


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> dict:
    """A baseline tone teacher registered as toy-teacher@champion; the toy config and a small corpus."""
    from pipeline.training.api import train_from_config

    root = tmp_path_factory.mktemp("distill")
    base = toy_tone_config(root, "test-distill")
    (root / "teacher.yaml").write_text(yaml.safe_dump(
        base | {"model": {"kind": "baseline", "baseline": {"min_df": 1}},
                "register": {"name": "toy-teacher"}}))
    summary = train_from_config(str(root / "teacher.yaml"), [])
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "ferry.txt").write_text(SCRAPED_WITH_HEADINGS, encoding="utf-8")
    (corpus / "rail.txt").write_text(PLAIN_NO_HEADINGS, encoding="utf-8")
    return {"root": root, "base": base, "summary": summary, "corpus": corpus}


def distill_config(teacher: dict, name: str, **distill) -> str:
    root = teacher["root"]
    config = teacher["base"] | {
        "model": STUDENT,
        "register": {"name": name},
        "distill": {"teacher": "models:/toy-teacher@champion", "cache": str(root / "cache")} | distill,
    }
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_student_is_registered_with_teacher_tags_and_side_by_side_metrics(teacher, capsys):
    import mlflow

    from pipeline.cli import main

    config = distill_config(teacher, "toy-fast", gold_weight=0.3, corpus=[str(teacher["corpus"])])
    assert main(["train", config]) == 0
    out = capsys.readouterr().out
    assert "dev macro-F1" in out and "student" in out and "teacher" in out
    client = mlflow.MlflowClient()
    version = client.get_model_version_by_alias("toy-fast", "champion")
    assert version.tags["distill.teacher_uri"] == "models:/toy-teacher@champion"
    assert version.tags["distill.teacher_version"] == "models:/toy-teacher/1"
    assert version.tags["distill.gold_weight"] == "0.3"
    assert version.tags["distill.rows.labelled"] == "30"
    assert int(version.tags["distill.rows.unlabelled"]) > 0
    run = client.get_run(version.run_id)
    metrics = run.data.metrics
    for key in ("teacher.dev.toy.macro_f1", "teacher.dev.mean.macro_f1", "dev.toy.macro_f1",
                "distill.gap.toy", "teacher.dev.toy.f1.positive"):
        assert key in metrics, key
    assert metrics["distill.gap.toy"] == pytest.approx(
        metrics["dev.toy.macro_f1"] - metrics["teacher.dev.toy.macro_f1"])
    assert run.data.tags["distill.teacher_version"] == "models:/toy-teacher/1"

    # the same config again: reused; a moved teacher alias: the hash changes, a new student
    from pipeline.training.api import train_from_config

    assert train_from_config(config, [])["reused"] is True
    client.set_registered_model_alias("toy-teacher", "champion", "1")
    from pipeline.config import load_config
    from pipeline.training.config import TrainConfig
    from pipeline.training.distill import pin_teacher

    loaded = load_config(config, model=TrainConfig)
    pin_teacher(loaded)
    before = loaded.config_hash()
    teacher_base = teacher["base"] | {"model": {"kind": "baseline", "baseline": {"min_df": 1, "C": 0.5}},
                                      "register": {"name": "toy-teacher"}}
    (teacher["root"] / "teacher2.yaml").write_text(yaml.safe_dump(teacher_base))
    train_from_config(str(teacher["root"] / "teacher2.yaml"), [])  # moves toy-teacher@champion to v2
    pin_teacher(loaded)
    assert loaded.config_hash() != before


def test_stance_student_learns_from_corpus_mention_windows(teacher):
    from pipeline.training.api import train_from_config
    from tests.test_training import STANCE_DEV, STANCE_TRAIN, write_jsonl

    root = teacher["root"]
    rows = [{"target": g, "text": t, "stance": lab, "split": "train"} for g, t, lab in STANCE_TRAIN]
    rows += [{"target": g, "text": t, "stance": lab, "split": "dev"} for g, t, lab in STANCE_DEV]
    write_jsonl(root / "stance.jsonl", rows)
    columns = {"label": "stance", "target": "target"}
    base = {
        "experiment": "test-distill", "task": "stance", "tracking": teacher["base"]["tracking"],
        "data": {"root": str(root), "sources": [
            {"name": "toy", "path": "stance.jsonl", "where": {"split": s}, "split": s, "columns": columns}
            for s in ("train", "dev")]},
    }
    (root / "stance-teacher.yaml").write_text(yaml.safe_dump(
        base | {"model": {"kind": "baseline", "baseline": {"min_df": 1}},
                "register": {"name": "st-teacher"}}))
    train_from_config(str(root / "stance-teacher.yaml"), [])
    (root / "stance-fast.yaml").write_text(yaml.safe_dump(base | {
        "model": STUDENT, "register": {"name": "st-fast"},
        "distill": {"teacher": "models:/st-teacher@champion", "cache": str(root / "cache"),
                    "gold_weight": 0.0, "training_texts": False, "corpus": [str(teacher["corpus"])],
                    "targets": {"Gull Island": ["island"], "the council": ["councillor"]}},
    }))
    summary = train_from_config(str(root / "stance-fast.yaml"), [])
    metrics = summary["metrics"]
    assert metrics["distill.rows.labelled"] == 16 and metrics["distill.rows.unlabelled"] >= 2
    assert metrics["distill.rows.teacher"] == metrics["distill.rows.unlabelled"]  # training texts: gold only
    assert "teacher.dev.toy.macro_f1" in metrics and "distill.gap.toy" in metrics


class Counting:
    """A real classifier that counts the texts it is asked about."""

    def __init__(self, model) -> None:
        self.model, self.labels, self.texts = model, model.labels, 0

    def predict_proba(self, texts, targets=None, *, about_target=False):
        self.texts += len(texts)
        return self.model.predict_proba(texts, targets, about_target=about_target)


def test_cache_sends_only_new_texts_to_the_teacher(teacher, tmp_path):
    from pipeline.models.mlflow_model import load_classifier_from_uri
    from pipeline.training.teacher_labels import TeacherLabels

    model = Counting(load_classifier_from_uri("models:/toy-teacher/1"))
    labels = ["negative", "neutral", "positive"]
    texts = ["A dreadful, awful day.", "A wonderful day.", "The meeting is on Tuesday."]
    cache = TeacherLabels(tmp_path, "teacher-identity")
    first = cache.label(lambda: model, texts, None, labels)
    assert (model.texts, first.hits, first.sent) == (3, 0, 3)
    again = cache.label(lambda: model, texts, None, labels)
    assert (model.texts, again.hits, again.sent) == (3, 3, 0)
    np.testing.assert_allclose(again.probs, first.probs, rtol=1e-6)
    cache.close()
    reopened = TeacherLabels(tmp_path, "teacher-identity")  # committed: survives a new process
    more = reopened.label(lambda: model, texts + ["Brilliant news!", "Terrible news."], None, labels)
    assert (model.texts, more.hits, more.sent) == (5, 3, 2)
    assert more.probs.shape == (5, 3)
    np.testing.assert_allclose(more.probs.sum(axis=1), 1.0, rtol=1e-5)
    other = TeacherLabels(tmp_path, "another-teacher")  # another identity: its own file
    assert other.label(lambda: model, texts, None, labels).sent == 3
    assert other.path != reopened.path


def test_labelling_killed_midway_keeps_the_batches_done(teacher, tmp_path, monkeypatch):
    from pipeline.models.mlflow_model import load_classifier_from_uri
    from pipeline.training import teacher_labels

    class Killed(Counting):
        def predict_proba(self, texts, targets=None, *, about_target=False):
            if self.texts >= 2:
                raise KeyboardInterrupt
            return super().predict_proba(texts, targets, about_target=about_target)

    monkeypatch.setattr(teacher_labels, "BATCH", 2)
    model = Killed(load_classifier_from_uri("models:/toy-teacher/1"))
    labels = ["negative", "neutral", "positive"]
    texts = ["One awful day.", "One lovely day.", "One plain day.", "One more day."]
    with pytest.raises(KeyboardInterrupt):
        teacher_labels.TeacherLabels(tmp_path, "t").label(lambda: model, texts, None, labels)
    resumed = Counting(model.model)
    done = teacher_labels.TeacherLabels(tmp_path, "t").label(lambda: resumed, texts, None, labels)
    assert (done.hits, done.sent, resumed.texts) == (2, 2, 2)


def test_corpus_is_cut_into_sections_and_mention_windows(teacher):
    from pipeline.training.config import DistillConfig
    from pipeline.training.distill_corpus import corpus_texts

    corpus = str(teacher["corpus"])
    texts, targets, failed = corpus_texts(DistillConfig(teacher="x", corpus=[corpus]), "tone", 13)
    assert failed == 0 and len(texts) >= 3 and set(targets) == {None}
    assert any("ferry link" in t for t in texts)
    stance = DistillConfig(teacher="x", corpus=[corpus], targets={"Gull Island": ["island"]})
    windows, names, _ = corpus_texts(stance, "stance", 13)
    assert windows and set(names) == {"Gull Island"}
    assert all("Gull Island" in w or "island" in w for w in windows)
    assert all(len(w.split()) <= 2 * 12 + 3 for w in windows)  # 12 words either side of a mention
    capped = DistillConfig(teacher="x", corpus=[corpus], max_corpus_texts=2)
    two = corpus_texts(capped, "tone", 13)[0]
    three = corpus_texts(capped.model_copy(update={"max_corpus_texts": 3}), "tone", 13)[0]
    assert len(two) == 2 and set(two) <= set(three)  # a larger cap keeps the texts (and cached labels)


def test_corpus_articles_that_cannot_be_cut_are_counted_and_the_first_reason_shown(teacher, tmp_path, capsys):
    from pipeline.training.config import DistillConfig
    from pipeline.training.distill_corpus import corpus_texts

    run = tmp_path / "run.yaml"  # every article over the size limit: none can be read
    run.write_text("ingest:\n  max_bytes: 10\n", encoding="utf-8")
    config = DistillConfig(teacher="x", corpus=[str(teacher["corpus"])], run_config=str(run))
    texts, _, failed = corpus_texts(config, "tone", 13)
    err = capsys.readouterr().err
    assert texts == [] and failed >= 1
    assert f"{failed} of {failed} corpus articles could not be cut" in err and "(first: " in err


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (["task=tone", "distill.teacher=models:/tone@champion", "distill.gold_weight=1.5"],
         "distill.gold_weight"),
        (["task=stance", "distill.teacher=models:/stance@champion", "distill.corpus=[articles/]"],
         "distill.corpus for stance needs distill.targets"),
        (["task=tone", "model.kind=baseline", "distill.teacher=models:/tone@champion"],
         "distill trains a student transformer"),
        (["distill.teacher=models:/tone@champion", "distill.training_texts=false"],
         "nothing for the teacher to label"),
    ],
)
def test_bad_distill_config_is_one_line(settings, expected):
    from pipeline.config import load_config
    from pipeline.training.config import TrainConfig

    with pytest.raises(ConfigError) as err:
        load_config(None, settings, model=TrainConfig)
    message = str(err.value)
    assert expected in message and "\n" not in message


def test_distill_keys_leave_plain_config_hashes_unchanged():
    from pipeline.training.config import TrainConfig

    plain = TrainConfig()
    distilled = TrainConfig.model_validate({"distill": {"teacher": "models:/tone@champion"}})
    assert plain.config_hash() == TrainConfig.model_validate({}).config_hash()
    assert distilled.config_hash() != plain.config_hash()
