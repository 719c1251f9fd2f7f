"""The relatedness gate: texts not about their target lose their stance to neutral (real MiniLM)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.models.relatedness import RelatednessGate, names_target

TOPICS = {
    "vaccination": [
        "Getting the jab protects children from measles.",
        "Immunisation programmes saved millions of lives.",
        "The shot caused a sore arm but it was worth it.",
        "Parents should follow the immunization schedule for their babies.",
    ],
    "gun control": [
        "Assault rifles should be banned from civilian hands.",
        "Background checks for firearm buyers save lives.",
        "The second amendment protects owning weapons.",
        "Stricter laws on pistols and ammunition are needed.",
    ],
    "climate change": [
        "Rising temperatures are melting the glaciers.",
        "Carbon emissions must fall to stop global warming.",
        "Heatwaves and droughts keep getting worse every summer.",
        "Burning coal and oil heats the planet.",
    ],
    "football": [
        "The striker scored twice in the cup final.",
        "The goalkeeper saved a penalty in extra time.",
        "The league title was decided on the last matchday.",
        "Fans sang as the team lifted the trophy.",
    ],
    "taxes": [
        "The government will raise income levies next year.",
        "Lower rates for corporations passed the senate.",
        "The revenue office audits the wealthy more often now.",
        "VAT rose by two points on most goods.",
    ],
}
TEXTS = [t for xs in TOPICS.values() for t in xs]
TARGETS = [g for g, xs in TOPICS.items() for _ in xs]


@pytest.fixture(scope="module")
def gate() -> RelatednessGate:
    return RelatednessGate.fit(TEXTS, TARGETS, "all-MiniLM-L6-v2", seed=13)


def test_names_target_matches_whole_words_in_any_case():
    assert names_target("Talks with IRAN resumed.", "Iran")
    assert names_target("a tax-break for firms", "tax break")
    assert not names_target("Iranian talks resumed.", "Iran")
    assert not names_target("anything", "  ")


def test_gate_separates_a_texts_own_topic_from_another(gate):
    assert gate.coef < 0  # closer in embedding space: less likely unrelated
    own = gate.unrelated(TEXTS, TARGETS)
    other = gate.unrelated(TEXTS, TARGETS[4:] + TARGETS[:4])  # every text paired with the next topic
    assert own.mean() < 0.5 < other.mean()
    assert (own < other).mean() >= 0.9
    named = gate.unrelated(["Football is a game.", "No target here."], ["football", None])
    assert named.tolist() == [0.0, 0.0]


def test_classifier_with_gate_moves_unrelated_stance_to_neutral_and_keeps_it_when_saved(gate, tmp_path):
    from pipeline.models.classifier import BaselineClassifier, load_classifier

    labels = ["against", "neutral", "favor"]
    y = ["favor", "against"] * (len(TEXTS) // 2)
    clf = BaselineClassifier(labels, "stance", min_df=1).fit(TEXTS, y, TARGETS)
    text, related, unrelated = TEXTS[0], "vaccination", "football"
    plain = clf.predict_proba([text, text], [related, unrelated])
    clf.gate = gate
    gated = clf.predict_proba([text, text], [related, unrelated])
    assert gated[1, 1] > plain[1, 1] + 0.3 and gated[1, 1] > 0.5  # unrelated: mostly neutral
    assert abs(gated[0, 1] - plain[0, 1]) < 0.2
    np.testing.assert_allclose(gated.sum(axis=1), 1.0)
    np.testing.assert_allclose(clf.predict_proba([text], [unrelated], about_target=True), plain[1:])

    again = load_classifier(clf.save(tmp_path / "model"))
    assert again.gate == gate
    np.testing.assert_allclose(again.predict_proba([text, text], [related, unrelated]), gated, atol=1e-9)


def test_training_with_a_gate_logs_it_and_registers_a_gated_model(tmp_path):
    import json

    import yaml

    from pipeline.models.mlflow_model import load_classifier_from_uri
    from pipeline.training.api import train_from_config

    rows = [{"text": t, "target": g, "label": lab, "split": split}
            for split in ("train", "dev")
            for t, g, lab in zip(TEXTS, TARGETS, ["favor", "against"] * 10, strict=True)]
    neutral = ["The football schedule was published on Monday.", "The vaccination centre opens at nine.",
               "A report on taxes has twelve pages.", "The climate change panel meets in May."]
    rows += [{"text": t, "target": g, "label": "neutral", "split": "train"}
             for t, g in zip(neutral, ["football", "vaccination", "taxes", "climate change"], strict=True)]
    rows += [{"text": t, "target": "football", "label": "neutral", "split": "dev"} for t in TOPICS["taxes"]]
    (tmp_path / "stance.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    source = {"name": "toy", "path": "stance.jsonl", "columns": {"target": "target"}}
    (tmp_path / "stance.yaml").write_text(yaml.safe_dump({
        "task": "stance",
        "data": {"root": str(tmp_path), "sources": [
            {**source, "where": {"split": "train"}, "split": "train"},
            {**source, "where": {"split": "dev"}, "split": "dev"},
        ]},
        "model": {"kind": "baseline", "relatedness_gate": "all-MiniLM-L6-v2", "baseline": {"min_df": 1}},
        "tracking": {"uri": store, "artifact_root": str(tmp_path / "artifacts")},
    }))
    summary = train_from_config(str(tmp_path / "stance.yaml"), [])
    metrics = summary["metrics"]
    assert metrics["gate.coef"] < 0 and 0 < metrics["gate.dev_mean"] < 1
    # dev adds tax texts paired with "football" (neutral): the gate finds them, the bare model cannot
    assert metrics["dev.macro_f1"] > metrics["dev.ungated.macro_f1"]
    model = load_classifier_from_uri(summary["model_uri"])
    assert model.gate is not None and model.gate.encoder == "all-MiniLM-L6-v2"


def test_gate_without_unnamed_pairs_fails_before_training():
    from pipeline.errors import ConfigError
    from pipeline.models.relatedness import gate_pairs

    named = [f"{g} was discussed." for g in TARGETS]
    with pytest.raises(ConfigError, match="0 pairs whose text does not name its target"):
        gate_pairs(named, TARGETS)
    real, shuffled = gate_pairs(TEXTS, TARGETS, max_pairs=12)
    assert len(real) == 12 and 0 < len(shuffled) <= 12 and all(t != dict(real)[x] for x, t in shuffled)
