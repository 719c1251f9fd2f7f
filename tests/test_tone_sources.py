"""Per-source tone data (issue 19): labels from ratings, grouped and dev-only hold-outs, per-source
figures and selection on their mean. Tiny files written here; nothing trains but a fake and a TF-IDF
baseline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.errors import ConfigError, DataError

LABELS = ["negative", "neutral", "positive"]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _config(sources: list[dict]):
    from pipeline.training.config import TrainConfig

    return TrainConfig.model_validate({"data": {"sources": sources}})


def _ratings(tmp_path: Path) -> Path:
    rows = [{"text": f"article {i}", "positivity": i % 9 + 1, "doc": f"d{i // 3}_{i}_{i + 1}"}
            for i in range(90)]
    return write_jsonl(tmp_path / "ratings.jsonl", rows)


def test_label_from_score_cuts_are_strict(tmp_path):
    from pipeline.training.data import load_source

    path = _ratings(tmp_path)
    source = _config([{"path": str(path), "holdout": 0.2,
                       "label_from_score": {"column": "positivity", "negative_below": 4.5,
                                            "positive_above": 5.5}}]).data.sources[0]
    frame = load_source(source, ".", "tone", LABELS)
    ratings = pd.read_json(path, lines=True)["positivity"]
    expected = np.where(ratings <= 4, "negative", np.where(ratings >= 6, "positive", "neutral"))
    assert frame["label"].tolist() == expected.tolist()

    valence = _config([{"path": str(path), "holdout": 0.2,
                        "label_from_score": {"column": "positivity", "negative_below": 3,
                                             "positive_above": 7}}]).data.sources[0]
    labels = load_source(valence, ".", "tone", LABELS)["label"]
    assert labels[ratings == 3].eq("neutral").all() and labels[ratings == 7].eq("neutral").all()
    assert labels[ratings == 2].eq("negative").all() and labels[ratings == 8].eq("positive").all()


def test_label_from_score_needs_numbers(tmp_path):
    from pipeline.training.data import load_source

    path = write_jsonl(tmp_path / "bad.jsonl", [{"text": "a", "v": "high"}, {"text": "b", "v": 2}])
    source = _config([{"path": str(path), "split": "train",
                       "label_from_score": {"column": "v", "negative_below": 2.5,
                                            "positive_above": 3.5}}]).data.sources[0]
    with pytest.raises(DataError, match="column 'v' has 1 rows that are not numbers"):
        load_source(source, ".", "tone", LABELS)


def test_group_pattern_keeps_documents_together(tmp_path):
    from pipeline.training.data import group_values, load_splits

    assert group_values(pd.Series(["nyt_1_2", "nyt_3_9", "SemEval_4"]), r"^(.+)_\d+_\d+$").tolist() == [
        "nyt", "nyt", "SemEval_4"]
    path = _ratings(tmp_path)
    config = _config([{"path": str(path), "holdout": 0.2, "columns": {"group": "doc"},
                       "group_pattern": r"^(d\d+)_", "name": "rated",
                       "label_from_score": {"column": "positivity", "negative_below": 4.5,
                                            "positive_above": 5.5}}])
    splits = load_splits(config)
    assert set(splits.dev["group"]) and not set(splits.dev["group"]) & set(splits.train["group"])
    assert all(g.startswith("d") and "_" not in g for g in splits.dev["group"])


def test_dev_only_source_gives_the_same_dev_rows_and_no_training_rows(tmp_path):
    from pipeline.training.data import load_splits

    main = write_jsonl(tmp_path / "main.jsonl", [
        {"text": f"main {i}", "label": LABELS[i % 3]} for i in range(30)])
    path = _ratings(tmp_path)
    rated = {"path": str(path), "holdout": 0.2, "name": "rated",
             "label_from_score": {"column": "positivity", "negative_below": 4.5, "positive_above": 5.5}}
    base = {"path": str(main), "split": "train", "name": "main"}
    dev_main = {"path": str(main), "split": "dev", "name": "main"}
    trained = load_splits(_config([base, dev_main, rated]))
    measured = load_splits(_config([base, dev_main, {**rated, "dev_only": True}]))
    assert "rated" in set(trained.train["source"]) and "rated" not in set(measured.train["source"])
    pd.testing.assert_frame_equal(trained.dev, measured.dev)


def _relabel_files(tmp_path: Path) -> tuple[Path, Path]:
    """A source of 40 paragraphs in 20 documents, and a re-annotation of some of them by (doc, para)."""
    source = write_jsonl(tmp_path / "source.jsonl", [
        {"text": f"paragraph {i}", "label": LABELS[(i // 2) % 3], "doc": i // 2, "para": i % 2}
        for i in range(40)])
    relabels = [{"doc": i // 2, "para": i % 2, "tone": LABELS[(i + 1) % 3] if i % 5 else None}
                for i in range(38)]  # rows 38 and 39 unlabelled; every fifth row's label empty
    return source, write_jsonl(tmp_path / "relabel.jsonl", relabels)


def test_relabel_keeps_the_split_and_takes_the_files_labels(tmp_path):
    from pipeline.training.data import load_splits

    source, relabels = _relabel_files(tmp_path)
    own = {"path": str(source), "holdout": 0.25, "name": "own", "columns": {"group": "doc"}}
    other = {**own, "name": "other",
             "relabel": {"path": str(relabels), "keys": ["doc", "para"], "label": "tone"}}
    plain, relabelled = load_splits(_config([own])), load_splits(_config([other]))
    expected = {f"paragraph {i}": LABELS[(i + 1) % 3] for i in range(38) if i % 5}
    for part in ("train", "dev"):
        before, after = getattr(plain, part), getattr(relabelled, part)
        assert set(after["text"]) == set(before["text"]) & set(expected)  # the same split, less unlabelled
        labelled = dict(zip(after["text"], after["label"], strict=True))
        assert labelled == {t: expected[t] for t in after["text"]}
        assert "relabel_key" not in after.columns
    assert relabelled.data_hash() != plain.data_hash()


def test_relabel_file_is_part_of_the_files_hash(tmp_path):
    from pipeline.training.data import files_hash

    source, relabels = _relabel_files(tmp_path)
    config = _config([{"path": str(source), "holdout": 0.25, "columns": {"group": "doc"},
                       "relabel": {"path": str(relabels), "keys": ["doc", "para"], "label": "tone"}}])
    before = files_hash(config)
    relabels.write_text(relabels.read_text(encoding="utf-8").replace('"neutral"', '"positive"', 1),
                        encoding="utf-8")
    assert before is not None and files_hash(config) != before


@pytest.mark.parametrize(
    ("relabel", "rows", "expected"),
    [
        ({"keys": ["doc", "nope"], "label": "tone"}, None, "missing column.*'nope'.*relabel.keys"),
        ({"keys": ["doc", "para"], "label": "verdict"}, None, "missing column.*'verdict'"),
        ({"keys": ["doc", "para"], "label": "tone"}, [{"doc": 0, "para": 0, "tone": "bad"}], "unknown label"),
        ({"keys": ["doc"], "label": "tone"}, [{"doc": 0, "tone": "negative"}, {"doc": 0, "tone": "positive"}],
         "has two labels"),
    ],
)
def test_relabel_errors_name_the_file_and_the_fix(tmp_path, relabel, rows, expected):
    from pipeline.training.data import load_splits

    source, relabels = _relabel_files(tmp_path)
    if rows is not None:
        write_jsonl(relabels, rows)
    config = _config([{"path": str(source), "holdout": 0.25, "columns": {"group": "doc"},
                       "relabel": {"path": str(relabels), **relabel}}])
    with pytest.raises(DataError, match=expected):
        load_splits(config)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"split": "train", "dev_only": True}, "dev_only needs a holdout"),
        ({"holdout": 0.2, "group_pattern": "(x)"}, "group_pattern needs columns.group"),
        ({"holdout": 0.2, "group_pattern": "x", "columns": {"group": "id"}}, "needs one capture group"),
        ({"holdout": 0.2, "group_pattern": "(x", "columns": {"group": "id"}}, "not a regular expression"),
        ({"holdout": 0.2, "label_from_score": {"column": "v", "negative_below": 4, "positive_above": 3}},
         "expected negative_below <= positive_above"),
    ],
)
def test_bad_source_keys_fail_at_load(tmp_path, source, expected):
    from pipeline.config import load_config
    from pipeline.training.config import TrainConfig

    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({"data": {"sources": [{"path": "x.jsonl", **source}]}}), encoding="utf-8")
    with pytest.raises(ConfigError, match=expected):
        load_config(str(path), [], model=TrainConfig)


def test_new_source_keys_at_their_defaults_keep_the_config_hash():
    plain = _config([{"path": "a.jsonl", "holdout": 0.2}])
    explicit = _config([{"path": "a.jsonl", "holdout": 0.2, "dev_only": False, "group_pattern": None,
                         "label_from_score": None, "relabel": None, "in_mean": True}])
    assert plain.config_hash() == explicit.config_hash()
    dev_only = _config([{"path": "a.jsonl", "holdout": 0.2, "dev_only": True}])
    assert dev_only.config_hash() != plain.config_hash()


def test_oversample_repeats_a_sources_training_rows_and_never_its_dev_rows(tmp_path):
    from pipeline.training.data import load_splits

    main = write_jsonl(tmp_path / "main.jsonl", [
        {"text": f"main {i}", "label": LABELS[i % 3]} for i in range(30)])
    rated = {"path": str(_ratings(tmp_path)), "holdout": 0.2, "name": "rated",
             "label_from_score": {"column": "positivity", "negative_below": 4.5, "positive_above": 5.5}}
    base = [{"path": str(main), "split": "train", "name": "main"},
            {"path": str(main), "split": "dev", "name": "main"}]
    once = load_splits(_config([*base, rated]))
    twice = load_splits(_config([*base, {**rated, "oversample": 2}]))
    more = load_splits(_config([*base, {**rated, "oversample": 2.5}]))
    n_rated = (once.train["source"] == "rated").sum()
    assert (twice.train["source"] == "rated").sum() == 2 * n_rated
    assert (more.train["source"] == "rated").sum() == 2 * n_rated + round(0.5 * n_rated)
    assert (twice.train["source"] == "main").sum() == (once.train["source"] == "main").sum()
    assert sorted(twice.train["text"][twice.train["source"] == "rated"].unique()) == sorted(
        once.train["text"][once.train["source"] == "rated"])
    pd.testing.assert_frame_equal(once.dev, twice.dev)
    assert twice.data_hash() != once.data_hash()
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        _config([{**rated, "oversample": 0.5}])


def test_the_device_is_not_part_of_what_a_config_trains():
    plain = _config([{"path": "a.jsonl", "holdout": 0.2}])
    on_gpu = _config([{"path": "a.jsonl", "holdout": 0.2}])
    on_gpu.model.device = "cuda:1"
    assert plain.config_hash() == on_gpu.config_hash()
    explicit = _config([{"path": "a.jsonl", "holdout": 0.2, "oversample": 1.0}])
    assert explicit.config_hash() == plain.config_hash()


def test_per_source_figures_and_the_score_is_their_mean():
    from pipeline.training.api import _scored

    frame = pd.DataFrame({
        "source": ["big"] * 8 + ["small"] * 4,
        "label": ["negative", "neutral", "positive", "neutral"] * 2 + ["negative", "positive"] * 2,
    })
    # right on every "big" row, wrong on every "small" row
    right = {"negative": 0, "neutral": 1, "positive": 2}
    wrong = {"negative": 2, "positive": 0}
    idx = [right[g] if s == "big" else wrong[g] for s, g in zip(frame["source"], frame["label"], strict=True)]
    probs = np.eye(3)[idx]
    out = _scored(frame, probs, LABELS)
    m = out["metrics"]
    assert m["dev.big.macro_f1"] == 1.0 and m["dev.small.macro_f1"] == 0.0
    assert m["dev.big.f1.negative"] == 1.0 and m["dev.small.f1.negative"] == 0.0
    assert "dev.small.f1.neutral" not in m  # a class the source does not have
    assert out["score"] == m["dev.mean.macro_f1"] == 0.5
    assert m["dev.macro_f1"] != 0.5  # the pooled figure is not what selection uses
    reported = _scored(frame, probs, LABELS, outside_mean={"small"})
    assert reported["metrics"]["dev.small.macro_f1"] == 0.0  # still logged
    assert reported["score"] == reported["metrics"]["dev.mean.macro_f1"] == 1.0  # not in the mean


def test_in_mean_false_names_its_sources_and_needs_one_that_counts():
    both = [{"path": "a.jsonl", "holdout": 0.2, "name": "a"},
            {"path": "b.jsonl", "holdout": 0.2, "name": "b", "in_mean": False}]
    assert _config(both).data.outside_mean == {"b"}
    with pytest.raises(ValueError, match="at least one must count"):
        _config([{**both[1], "name": "a"}, both[1]])
    split_up = [{"path": "b.jsonl", "split": "train", "name": "b"}, {**both[1], "name": "b"}, both[0]]
    with pytest.raises(ValueError, match="'b' has in_mean: false on one entry only"):
        _config(split_up)


def test_a_source_out_of_the_mean_does_not_calibrate_the_model(tmp_path):
    """The temperature (and the calibration figures) come from the in-mean sources' dev rows alone: a
    dev-only source with in_mean: false, here the same texts with contradicting labels, is logged but
    leaves them as they are without it; counted in, it moves them."""
    from pipeline.training.api import train_from_config
    from tests.test_training import TONE_DEV, TONE_TRAIN

    train = [{"text": t, "label": lab} for lab, texts in TONE_TRAIN.items() for t in texts]
    dev = [{"text": t, "label": lab} for lab, texts in TONE_DEV.items() for t in texts]
    flipped = {"negative": "positive", "positive": "negative", "neutral": "negative"}
    write_jsonl(tmp_path / "train.jsonl", train)
    write_jsonl(tmp_path / "dev.jsonl", dev)
    write_jsonl(tmp_path / "other.jsonl", [{**row, "label": flipped[row["label"]]} for row in dev])
    sources = [{"name": "a", "path": "train.jsonl", "split": "train"},
               {"name": "a", "path": "dev.jsonl", "split": "dev"}]
    other = {"name": "other", "path": "other.jsonl", "split": "dev"}

    def run(name: str, extra: list[dict]) -> dict[str, float]:
        data = {"root": str(tmp_path), "sources": sources + extra}
        config = {"experiment": "t", "task": "tone", "data": data,
                  "model": {"kind": "baseline"}, "register": {"name": name},
                  "tracking": {"uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
                               "artifact_root": str(tmp_path / "artifacts")}}
        path = tmp_path / f"{name}.yaml"
        path.write_text(json.dumps(config), encoding="utf-8")
        return train_from_config(str(path), [])["metrics"]

    alone, counted = run("alone", []), run("counted", [other])
    beside = run("beside", [{**other, "in_mean": False}])
    assert "dev.other.macro_f1" in beside and beside["dev.score"] == alone["dev.score"]
    for key in ("dev.temperature", "dev.ece", "dev.ece_calibrated", "dev.nll", "dev.nll_calibrated"):
        assert beside[key] == pytest.approx(alone[key], rel=1e-6), key
    assert counted["dev.temperature"] != pytest.approx(alone["dev.temperature"], rel=0.05)
    assert counted["dev.nll"] > alone["dev.nll"]


def test_trainer_keeps_the_check_with_the_best_mean_not_the_best_single_source():
    from pipeline.models.classifier import TransformerClassifier
    from pipeline.training.config import ModelConfig
    from pipeline.training.trainer import fine_tune
    from tests.tools.tiny_models import NEGATIVE, NEUTRAL, POSITIVE

    texts = [*POSITIVE, *NEGATIVE, *NEUTRAL]
    labels = ["positive"] * len(POSITIVE) + ["negative"] * len(NEGATIVE) + ["neutral"] * len(NEUTRAL)
    clf = TransformerClassifier.from_encoder("all-MiniLM-L6-v2", LABELS, max_length=16)
    # per check: (source a, source b); check 2 has the best single source, check 3 the best mean
    figures = iter([(0.4, 0.4), (0.9, 0.1), (0.6, 0.6), (0.5, 0.5)])

    def evaluate(c):
        a, b = next(figures)
        return float(np.mean([a, b])), {"dev.a.macro_f1": a, "dev.b.macro_f1": b}

    params = ModelConfig(epochs=4, batch_size=len(texts), max_length=16)
    result = fine_tune(clf, texts, labels, [None] * len(texts), params, 13, evaluate)
    assert [row["step"] for row in result.history] == [1, 2, 3, 4]
    assert result.best_step == 3 and result.best_score == pytest.approx(0.6)


def test_persent_tone_review_covers_the_dev_fifth_of_the_tone_config(shared):
    """experiments/tone-context/persent_tone_review.jsonl: two verdicts for every paragraph of PerSenT's
    dev fifth under configs/train/tone.yaml's split, keyed by text hash, and no text of its own."""
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "experiments" / "tone-context" / "persent_review.py"
    spec = importlib.util.spec_from_file_location("persent_review", path)
    review = importlib.util.module_from_spec(spec)
    sys.modules["persent_review"] = review
    spec.loader.exec_module(review)

    lines = [json.loads(line) for line in review.REVIEW.open(encoding="utf-8")]
    assert {tuple(sorted(row)) for row in lines} == {
        ("doc_id", "judge1", "judge2", "label", "paragraph_index", "text_key")}
    assert {row["judge1"] for row in lines} | {row["judge2"] for row in lines} <= set(LABELS)
    assert all(row["label"] == (row["judge1"] if row["judge1"] == row["judge2"] else None) for row in lines)
    config = str(Path(__file__).resolve().parents[1] / "configs" / "train" / "tone.yaml")
    rows = review.persent_dev(config, [f"data.root={shared / 'datasets'}"])
    assert len(rows) == 842 and rows[["judge1", "judge2"]].notna().all().all()
    assert len({(row["doc_id"], row["paragraph_index"]) for row in lines}) == len(lines) == 842
    assert len({row["text_key"] for row in lines}) == rows["text"].nunique()


def test_the_tone_student_is_measured_on_the_tone_configs_sources():
    """configs/distill/tone.yaml reads the sources and dev splits of configs/train/tone.yaml, so the
    student and its teacher are compared on the same rows (distill.gap.*)."""
    from pipeline.config import load_config
    from pipeline.training.config import TrainConfig

    repo = Path(__file__).resolve().parents[1]
    teacher = load_config(str(repo / "configs/train/tone.yaml"), [], model=TrainConfig)
    student = load_config(str(repo / "configs/distill/tone.yaml"), [], model=TrainConfig)
    assert student.data == teacher.data
    assert student.distill is not None and teacher.distill is None
