"""Targets, score config validation, tables, plots, the HTML report and windows (no model needed here)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.records import Article, Block, Section, Segmented
from pipeline.report.html import render_report
from pipeline.report.plots import stance_heatmap, tone_bar_chart
from pipeline.score import NOT_MENTIONED, SectionScore, StanceResult
from pipeline.score.tables import article_metrics, section_rows, stance_rows
from pipeline.score.targets import Target


def test_target_matches_name_and_aliases_as_whole_words():
    iran = Target("Iran", ("Iranian", "Tehran"))
    assert iran.mentions("Iran said the Iranian navy left Tehran; Iranians cheered.") == 3
    assert iran.mentions("Tehranis") == 0
    eu = Target("European Union", ("EU", "Brussels"))
    assert eu.mentions("The European\nUnion and the EU met in Brussels (EUR 5bn).") == 3
    assert Target("Turkey").mentions("roast turkey") == 0
    assert Target("Turkey", case_sensitive=False).mentions("roast turkey") == 1


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("score.stance={targets: {}}", "no targets"),
        ("score.stance={targets: {Iran: [Tehran], Israel: [tehran]}}", "duplicate target or alias 'tehran'"),
        ("score.stance={targets: {Iran: [], iran: []}}", "duplicate target or alias 'iran'"),
    ],
)
def test_bad_target_lists_fail_at_load(override, expected):
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    assert expected in str(err.value) and "score.stance.targets" in str(err.value)


def test_duplicate_yaml_key_fails(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("score:\n  stance:\n    targets:\n      Iran: [Tehran]\n      Iran: [Iranian]\n")
    with pytest.raises(ConfigError, match="line 5.*duplicate key 'Iran'"):
        load_config(cfg)


def _scores() -> tuple[Segmented, list[SectionScore]]:
    sections = (Section(0, None, ("Tehran warned Israel.",)), Section(1, "Trade", ("Grain prices rose.",)))
    article = Article("a", "Title", "Deck", tuple(Block(p) for s in sections for p in s.paragraphs))
    seg = Segmented(article, sections, "headings.v1")
    probs = {"against": 0.7, "neutral": 0.2, "favor": 0.1}
    scores = [
        SectionScore(
            "a",
            0,
            None,
            5,
            "negative",
            {"negative": 0.8, "neutral": 0.15, "positive": 0.05},
            (StanceResult("Iran", 1, "against", probs), StanceResult("Israel", 1, "against", probs)),
        ),
        SectionScore(
            "a",
            1,
            "Trade",
            4,
            "positive",
            {"negative": 0.1, "neutral": 0.2, "positive": 0.7},
            (StanceResult("Iran", 0, reason=NOT_MENTIONED), StanceResult("Israel", 0, reason=NOT_MENTIONED)),
        ),
    ]
    return seg, scores


def test_tables_and_article_metrics():
    _, scores = _scores()
    rows = section_rows(scores)
    assert rows[0]["tone_score"] == pytest.approx(-0.75) and rows[1]["tone_label"] == "positive"
    assert rows[0]["Iran.stance_score"] == pytest.approx(-0.6) and rows[0]["Iran.mentions"] == 1
    assert rows[1]["Iran.stance_label"] is None and rows[1]["Iran.p_favor"] is None
    long = stance_rows(scores)
    assert [r["reason"] for r in long] == [None, None, NOT_MENTIONED, NOT_MENTIONED]
    metrics = article_metrics(scores)
    assert metrics["tone.mean_score"] == pytest.approx((-0.75 + 0.6) / 2)
    assert metrics["tone.share_negative"] == 0.5 and metrics["stance.Iran.n_sections"] == 1
    assert metrics["stance.Iran.mean_score"] == pytest.approx(-0.6)


def test_plots_and_report(tmp_path):
    seg, scores = _scores()
    bar = tone_bar_chart(scores, tmp_path / "tone.png")
    heat = stance_heatmap(scores, tmp_path / "stance.png")
    assert bar.read_bytes()[:4] == b"\x89PNG" and heat.stat().st_size > 1000
    page = render_report(seg, scores, [bar])
    assert page.count('class="section"') == 2 and "<h2>Trade</h2>" in page
    assert 'Iran: <span class="badge against">against -0.60' in page and NOT_MENTIONED in page
    assert "data:image/png;base64," in page


def test_mention_context_keeps_only_the_sentences_that_name_the_target():
    from pipeline.score import mention_context

    paragraphs = ("Talks resumed in Vienna. Tehran called them useful. Oil rose.",
                  "Israel objected. Analysts doubt Iranian intentions.")
    section = Section(0, "Iran and the deal", paragraphs)
    iran = Target("Iran", ("Tehran", "Iranian"))
    assert mention_context(section, iran) == (
        "Iran and the deal Tehran called them useful. Analysts doubt Iranian intentions."
    )
    assert mention_context(section, Target("Israel")) == "Israel objected."


class RecordingStance:
    """A stance model that records what it is asked to read (uniform probabilities)."""

    labels = ["against", "neutral", "favor"]

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.about_target: list[bool] = []

    def predict_proba(self, texts, targets=None, about_target=False):
        import numpy as np

        self.seen += list(zip(texts, targets, strict=True))
        self.about_target.append(about_target)
        return np.full((len(texts), 3), 1 / 3)


@pytest.mark.parametrize("context", ["mentions", "section"])
def test_stance_reads_mention_sentences_or_the_whole_section(context):
    from pipeline.score import score_sections

    section = Section(0, None, ("Iran spoke. Rain fell all day. Israel replied.",))
    seg = Segmented(Article("a", None, None, ()), (section,), "test")
    model = RecordingStance()
    targets = [Target("Iran"), Target("Israel"), Target("Turkey")]
    [score] = score_sections([seg], None, model, targets, context)
    expected = {"mentions": [("Iran spoke.", "Iran"), ("Israel replied.", "Israel")],
                "section": [(section.paragraphs[0], "Iran"), (section.paragraphs[0], "Israel")]}[context]
    assert model.seen == expected
    assert model.about_target == [True]  # only passages naming the target: no relatedness gate
    assert [r.reason for r in score.stance] == [None, None, NOT_MENTIONED]


def test_unknown_stance_context_is_refused():
    from pipeline.errors import ModelError
    from pipeline.score import score_sections

    seg = Segmented(Article("a", None, None, ()), (Section(0, None, ("Iran spoke.",)),), "test")
    with pytest.raises(ModelError, match="unknown stance context 'window'"):
        score_sections([seg], None, RecordingStance(), [Target("Iran")], "window")


def test_mention_context_keeps_words_either_side_within_the_sentence():
    from pipeline.score import mention_context

    words = [f"w{i}" for i in range(30)]
    sentence = "Then " + " ".join(words[:10] + ["Iran"] + words[10:25] + ["Iran"] + words[25:]) + "."
    section = Section(0, None, (f"Before this. {sentence} After that.",))
    iran = Target("Iran")
    assert mention_context(section, iran, 2) == "w8 w9 Iran w10 w11 w23 w24 Iran w25 w26"
    assert mention_context(section, iran, 8).startswith("w2 ")
    assert "w18" not in mention_context(section, iran, 6)
    assert mention_context(section, iran, None) == sentence  # whole sentences
    assert mention_context(section, iran, 100) == sentence  # never beyond the sentence


def test_token_batches_cover_every_index_once_within_both_limits():
    from pipeline.models.classifier import token_batches

    lengths = [5, 120, 7, 64, 64, 3, 128, 30]
    batches = token_batches(lengths, max_items=3, max_tokens=200)
    flat = [int(i) for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths)  # length order: little padding
    for b in batches:
        assert len(b) <= 3 and (len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 200)


def test_long_text_probabilities_are_the_plain_mean_of_its_windows():
    """Four windows of 10 tokens (step 5, the last moved back to end at the text's end); each
    window's logits are fixed, so the text's probabilities are known by hand."""
    from transformers import AutoTokenizer

    from pipeline.models.classifier import TransformerClassifier
    from pipeline.models.locate import minilm_path

    window_probs = {"one": [0.7, 0.2, 0.1], "six": [0.1, 0.6, 0.3], "eleven": [0.2, 0.2, 0.6],
                    "fourteen": [0.5, 0.25, 0.25]}

    class FixedWindows(TransformerClassifier):
        def logits(self, texts, targets):
            return np.log(np.array([window_probs[t.split()[0]] for t in texts]))

    words = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
             "sixteen seventeen eighteen nineteen twenty red blue green")
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    clf = FixedWindows(None, tokenizer, ["negative", "neutral", "positive"], max_length=14)
    assert [words[a:b].split()[0] for a, b, _ in clf.windows(words)] == list(window_probs)
    assert [n for _, _, n in clf.windows(words)] == [10, 10, 10, 10]
    probs = clf.predict_proba([words])[0]
    # (0.7 + 0.1 + 0.2 + 0.5) / 4, (0.2 + 0.6 + 0.2 + 0.25) / 4, (0.1 + 0.3 + 0.6 + 0.25) / 4
    assert probs == pytest.approx([0.375, 0.3125, 0.3125])
