"""The learned line model for plain text (`learned.v1` ... `learned.v4`): shipped, loaded, trained,
and chosen by name.

Pages here are synthetic ones the tests write; one test reads the real dev pages in ../shared/articles
(skipped where that folder is missing).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import IngestConfig
from pipeline.errors import ConfigError
from pipeline.ingest import RawDoc, parse
from pipeline.ingest.line_decoding import SequenceDecoder
from pipeline.ingest.line_embeddings import embed_lines
from pipeline.ingest.line_features import RULE_DERIVED, feature_names
from pipeline.ingest.line_model import (
    CLASSES,
    MODELS_DIR,
    DecisionRule,
    LineModel,
    RulesFreeBlend,
    TaggerBlend,
    decoded_labels,
    label_lines,
    learned_labels,
    parse_plain_text_learned,
    shipped_model,
)
from pipeline.ingest.line_training import (
    fit_line_model,
    load_folder,
    load_page,
    load_review,
    page_groups,
    site_name,
    site_of,
)
from pipeline.ingest.text import parse_plain_text, rule_verdicts
from tests.articles import PLAIN_NO_HEADINGS, SCRAPED_WITH_HEADINGS


def _parse(text: str, parser: str = "learned"):
    return parse(RawDoc("page", text, "text", "page.txt"), IngestConfig(text_parser=parser))


@pytest.mark.parametrize("version", ["v1", "v2", "v3", "v4", "v5", "v6"])
def test_shipped_model_loads_and_matches_the_feature_code(version: str) -> None:
    model = shipped_model(version)
    embedded = model.embedder.names() if model.embedder else []
    assert model.feature_names == feature_names() + embedded
    assert (version in ("v3", "v4", "v5", "v6")) == bool(embedded)
    assert (version in ("v4", "v5", "v6")) == (model.decoder is not None)
    assert (version == "v4") == isinstance(model.estimator, RulesFreeBlend)
    assert (version in ("v5", "v6")) == isinstance(model.estimator, TaggerBlend)
    if embedded:  # v3's meta.json names no token budget: it reads a line's first 64 tokens
        assert model.embedder.max_tokens == 64
    assert {"add_heading", "keep_heading", "add_paragraph", "keep_paragraph", "lone_heading"} <= set(
        model.meta["decision"]) <= set(DecisionRule.__dataclass_fields__)
    assert model.meta["sites"] >= 100
    verdicts = rule_verdicts(SCRAPED_WITH_HEADINGS, any_script=True)
    probabilities = model.predict_proba(model.features_of(verdicts))
    assert probabilities.shape == (len(verdicts.lines), len(CLASSES))
    assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_v6_averages_two_taggers_and_was_trained_on_three_review_rounds() -> None:
    v5, v6 = shipped_model("v5"), shipped_model("v6")
    assert len(v5.estimator.tagger.networks()) == 1 and len(v6.estimator.tagger.networks()) == 2
    assert "--labels reviewed3" in v6.meta["command"] and "--labels reviewed " in v5.meta["command"]
    rows = v6.features_of(rule_verdicts(SCRAPED_WITH_HEADINGS, any_script=True))
    assert not np.allclose(v6.predict_proba(rows), v5.predict_proba(rows))


def test_learned_parser_finds_the_headings_and_paragraphs_of_a_scraped_page() -> None:
    article = _parse(SCRAPED_WITH_HEADINGS)
    assert article.title == "Harbour Town Council Approves New Ferry Link"
    assert article.headings == ["Why the vote was close", "What happens next"]
    assert len(article.paragraphs) == 6
    assert {"Skip to content", "Sign up for our morning newsletter"} <= {d.text for d in article.dropped}


def test_learned_parser_invents_no_heading_on_a_page_without() -> None:
    assert _parse(PLAIN_NO_HEADINGS).headings == []


def test_rules_by_name_are_the_old_rules_exactly() -> None:
    for page in (SCRAPED_WITH_HEADINGS, PLAIN_NO_HEADINGS):
        old = parse_plain_text(page)
        article = _parse(page, "rules.v1")
        assert (article.title, article.standfirst, list(article.blocks), list(article.dropped)) == tuple(
            [old.title, old.standfirst, old.blocks, old.dropped]
        )


def test_v2_takes_its_sub_headings_from_the_rules_and_v1_keeps_its_own_reading() -> None:
    """learned.v2 lets the model decide paragraphs against boilerplate but never add or drop a
    sub-heading; learned.v1 keeps its decision rule, which does; `learned` is the newest, v6."""
    assert IngestConfig().text_parser == "learned"
    assert _parse(SCRAPED_WITH_HEADINGS).blocks == _parse(SCRAPED_WITH_HEADINGS, "learned.v6").blocks
    v1, v2 = shipped_model("v1").decision, shipped_model("v2").decision
    assert v2.add_heading > 1.0 and v2.keep_heading == 0.0
    assert v1.add_heading < 1.0 and v1.keep_heading > 0.0
    verdicts = rule_verdicts(SCRAPED_WITH_HEADINGS, any_script=True)
    # a model sure that the rules' sub-headings are paragraphs, and every line not text is other
    rule_text = ("paragraph", "heading")
    sure = np.asarray([np.eye(len(CLASSES))[CLASSES.index("paragraph" if label in rule_text else "other")]
                       for label in verdicts.labels])

    def headings(decision) -> list[int]:
        return [i for i, label in enumerate(label_lines(verdicts, sure, decision)) if label == "heading"]

    assert headings(v2) == [i for i, label in enumerate(verdicts.labels) if label == "heading"] != []
    assert headings(v1) == []


def test_unknown_text_parser_fails_at_config_load_listing_the_known_ones(tmp_path: Path) -> None:
    from pipeline.config import load_config

    config = tmp_path / "c.yaml"
    config.write_text("ingest:\n  text_parser: learnt\n", encoding="utf-8")
    known = r"learned\.v1, learned\.v2, learned\.v3, learned\.v4, learned\.v5, learned\.v6, rules\.v1"
    with pytest.raises(ConfigError, match=r"ingest.text_parser.*unknown plain-text parser 'learnt'.*"
                       + known):
        load_config(config)


def test_a_tampered_model_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "v1"
    shutil.copytree(MODELS_DIR / "v1", folder)
    (folder / "model.pkl").write_bytes((folder / "model.pkl").read_bytes() + b"x")
    with pytest.raises(ConfigError, match="does not match its meta.json"):
        LineModel.load(folder)
    with pytest.raises(ConfigError, match="no line model in"):
        LineModel.load(tmp_path / "missing")


def _write_labelled_page(folder: Path, name: str, heading: str) -> None:
    """A page in the shared pages' format: .txt plus labels by 1-based line."""
    text = SCRAPED_WITH_HEADINGS.replace("Why the vote was close", heading)
    (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    lines = text.split("\n")
    blocks = []
    for number, line in enumerate(lines, start=1):
        if line in (heading, "What happens next"):
            blocks.append({"type": "heading", "text": line, "txt_line": number})
        elif len(line.split()) >= 12:
            blocks.append({"type": "paragraph", "text": line, "txt_line": number})
    labels = {"id": name, "url": f"https://{name}.example/a", "headings": [heading, "What happens next"],
              "blocks": blocks}
    (folder / f"{name}.silver.json").write_text(json.dumps(labels), encoding="utf-8")


def test_a_model_trains_on_labelled_pages_and_round_trips(tmp_path: Path) -> None:
    for k, heading in enumerate(["Why the vote was close", "A narrow vote", "Opponents speak", "Money"]):
        _write_labelled_page(tmp_path, f"site{k}", heading)
    pages = [load_page(tmp_path / f"site{k}.txt", tmp_path / f"site{k}.silver.json", "silver")
             for k in range(4)]
    assert [p.site for p in pages] == ["site0.example", "site1.example", "site2.example", "site3.example"]
    assert (pages[0].labels == CLASSES.index("heading")).sum() == 2
    model = fit_line_model(pages, max_iter=20, min_samples_leaf=2)
    model.save(tmp_path / "model")
    loaded = LineModel.load(tmp_path / "model")
    p = loaded.predict_proba(pages[1].features)
    assert np.allclose(p, model.predict_proba(pages[1].features))
    labels = label_lines(pages[1].verdicts, p)
    lines = pages[1].verdicts.lines
    headings = [line.text for line, label in zip(lines, labels, strict=True) if label == "heading"]
    assert headings == ["A narrow vote", "What happens next"]


def test_a_model_with_line_embeddings_trains_round_trips_and_refuses_a_tampered_reduction(
        tmp_path: Path) -> None:
    for k, heading in enumerate(["Why the vote was close", "A narrow vote", "Opponents speak", "Money"]):
        _write_labelled_page(tmp_path, f"site{k}", heading)
    pages = load_folder(tmp_path, "silver")
    model = fit_line_model(pages, max_iter=20, min_samples_leaf=2, embedding_dims=4)
    assert model.embedder is not None and model.embedder.dims == 4
    assert model.feature_names[-5:] == ["emb_sim_page", "emb_pc0", "emb_pc1", "emb_pc2", "emb_pc3"]
    rows = model.features_of(pages[1].verdicts)
    assert rows.shape == (len(pages[1].verdicts.lines), len(feature_names()) + 3 + 4)
    model.save(tmp_path / "model")
    loaded = LineModel.load(tmp_path / "model")
    assert np.allclose(loaded.predict_proba(loaded.features_of(pages[1].verdicts)), model.predict_proba(rows))
    reduction = tmp_path / "model" / "embedder.npy"
    reduction.write_bytes(reduction.read_bytes()[:-4] + b"\0\0\0\1")
    with pytest.raises(ConfigError, match="embedder.npy"):
        LineModel.load(tmp_path / "model")


def test_a_model_reads_as_many_tokens_of_a_line_as_it_was_trained_on(tmp_path: Path) -> None:
    """A line longer than the model's token budget is embedded from its first tokens only, in training
    and when the saved model is loaded again."""
    for k, heading in enumerate(["Why the vote was close", "A narrow vote", "Opponents speak", "Money"]):
        _write_labelled_page(tmp_path, f"site{k}", heading)
    pages = load_folder(tmp_path, "silver")
    model = fit_line_model(pages, max_iter=20, min_samples_leaf=2, embedding_dims=4, embedding_tokens=8)
    model.save(tmp_path / "model")
    loaded = LineModel.load(tmp_path / "model")
    assert loaded.embedder.max_tokens == model.embedder.max_tokens == 8
    assert json.loads((tmp_path / "model" / "meta.json").read_text())["embedder"]["max_tokens"] == 8
    first = "the council voted on the new ferry link after a long debate"
    second = "the council voted on the new ferry link tonight in the town hall"  # the same first 8 words
    short = loaded.embedder.embed([first, second])
    assert np.allclose(short[0], short[1])  # the same first tokens
    assert not np.allclose(*embed_lines([first, second], max_tokens=64))
    rows = loaded.features_of(pages[1].verdicts)
    assert np.allclose(loaded.predict_proba(rows), model.predict_proba(model.features_of(pages[1].verdicts)))


def test_a_blended_model_with_a_decoder_trains_round_trips_and_parses_by_decoding(tmp_path: Path) -> None:
    """v4's make: a second model without the rules' features blended in, and a sequence decoder
    counted on the training pages; the parser labels the page by decoding, not line by line."""
    for k, heading in enumerate(["Why the vote was close", "A narrow vote", "Opponents speak", "Money"]):
        _write_labelled_page(tmp_path, f"site{k}", heading)
    pages = load_folder(tmp_path, "silver")
    model = fit_line_model(pages, max_iter=20, min_samples_leaf=2, rules_free_weight=0.5)
    blend = model.estimator
    assert isinstance(blend, RulesFreeBlend) and blend.weight == 0.5
    assert [model.feature_names[i] for i in blend.columns] == [
        name for name in feature_names() if name not in RULE_DERIVED]
    assert "rule_paragraph" not in [model.feature_names[i] for i in blend.columns]
    rows = pages[1].features
    assert np.allclose(model.predict_proba(rows), 0.5 * blend.full.predict_proba(rows)
                       + 0.5 * blend.rules_free.predict_proba(rows[:, blend.columns]))
    decoder = SequenceDecoder.fit([p.labels for p in pages], "page", dropped_penalty=4.0)
    model.meta["decoder"] = decoder.as_dict()
    model.save(tmp_path / "model")
    loaded = LineModel.load(tmp_path / "model")
    assert loaded.decoder == decoder and loaded.meta["rules_free_weight"] == 0.5
    assert np.allclose(loaded.predict_proba(rows), model.predict_proba(rows))
    verdicts = pages[1].verdicts
    probabilities = loaded.predict_proba(loaded.features_of(verdicts))
    parsed = parse_plain_text_learned(pages[1].text, model=loaded)
    decoded = learned_labels(verdicts, probabilities, loaded.decision, loaded.decoder)
    assert decoded == decoded_labels(verdicts, probabilities, decoder)
    assert [b.text for b in parsed.blocks if b.kind == "heading"] == [
        line.text for line, label in zip(verdicts.lines, decoded, strict=True) if label == "heading"
    ] == ["A narrow vote", "What happens next"]


def test_a_model_with_a_line_tagger_trains_round_trips_and_blends_it_in(tmp_path: Path) -> None:
    """v5's make: v4's blend with a BiGRU over each page's lines blended in again (`TaggerBlend`);
    the tagger is trained on the same feature rows, pickled with the model and loaded back."""
    for k, heading in enumerate(["Why the vote was close", "A narrow vote", "Opponents speak", "Money"]):
        _write_labelled_page(tmp_path, f"site{k}", heading)
    pages = load_folder(tmp_path, "silver")
    model = fit_line_model(pages, max_iter=20, min_samples_leaf=2, rules_free_weight=0.25, tagger_weight=0.5,
                           tagger={"epochs": 30, "hidden": 16})
    blend = model.estimator
    assert isinstance(blend, TaggerBlend) and isinstance(blend.lines, RulesFreeBlend)
    assert model.meta["tagger_weight"] == 0.5 and model.meta["tagger"]["hidden"] == 16
    rows = pages[1].features
    tagged = blend.tagger.predict_proba(rows)
    assert np.allclose(model.predict_proba(rows), 0.5 * blend.lines.predict_proba(rows) + 0.5 * tagged)
    heading = CLASSES.index("heading")
    assert set(np.flatnonzero(tagged.argmax(1) == heading)) == set(np.flatnonzero(pages[1].labels == heading))
    model.save(tmp_path / "model")
    loaded = LineModel.load(tmp_path / "model")
    assert np.array_equal(loaded.predict_proba(rows), model.predict_proba(rows))


def test_a_review_relabels_heading_lines_and_the_pages_headings(tmp_path: Path) -> None:
    _write_labelled_page(tmp_path, "site0", "Why the vote was close")
    numbers = {line: n for n, line in enumerate(SCRAPED_WITH_HEADINGS.split("\n"), start=1)}
    review = tmp_path / "review.jsonl"
    review.write_text(
        json.dumps({"page": "site0", "line": numbers["What happens next"], "heading": False}) + "\n"
        + json.dumps({"page": "site0", "line": numbers["Why the vote was close"], "heading": True}) + "\n"
        + json.dumps({"page": "other", "line": 1, "heading": True}) + "\n", encoding="utf-8")
    raw = load_folder(tmp_path, "silver")[0]
    reviewed = load_folder(tmp_path, "silver", review=load_review(review))[0]
    heading = CLASSES.index("heading")
    assert raw.gold["headings"] == ["Why the vote was close", "What happens next"]
    assert reviewed.gold["headings"] == ["Why the vote was close"]
    rejected = [i for i, line in enumerate(raw.verdicts.lines) if line.text == "What happens next"][0]
    assert raw.labels[rejected] == heading and reviewed.labels[rejected] == CLASSES.index("other")
    assert (reviewed.labels == heading).sum() == 1
    assert raw.body_text == reviewed.body_text  # the body is not what a heading review changes


def test_a_second_review_round_adds_its_verdicts_and_overrules_the_first_on_the_same_line(
        tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(json.dumps({"page": "a", "line": 3, "heading": True}) + "\n"
                     + json.dumps({"page": "a", "line": 5, "heading": False}) + "\n", encoding="utf-8")
    second.write_text(json.dumps({"page": "a", "line": 5, "heading": True}) + "\n"
                      + json.dumps({"page": "b", "line": 1, "heading": False}) + "\n", encoding="utf-8")
    assert load_review(first) == {"a": {3: True, 5: False}}
    assert load_review(first, second) == {"a": {3: True, 5: True}, "b": {1: False}}


def test_site_of_groups_pages_by_site() -> None:
    assert site_of("aeb-bbc.com-c7e39ac49f", None) == "bbc.com"
    assert site_of("rdb-ehow-2", None) == "ehow"
    assert site_of("rdb-002", "https://www.hacks.mozilla.org/2015/x") == "hacks.mozilla.org"


def test_site_name_drops_subdomains_and_public_suffixes() -> None:
    assert site_name("en.wikipedia.org") == site_name("wikipedia") == "wikipedia"
    assert site_name("hacks.mozilla.org") == site_name("mozilla.org") == "mozilla"
    assert site_name("www1.folha.uol.com.br") == "folha"
    assert site_name("news.bbc.co.uk") == "bbc"


def test_page_groups_join_one_site_and_one_template_under_other_names(tmp_path: Path) -> None:
    """Cross-validation folds hold whole groups: a template page copied under other site names (a
    test suite's fixtures) and one site's subdomains must not be split across folds."""
    for k, heading in enumerate(["Why the vote was close", "A narrow vote"]):
        _write_labelled_page(tmp_path, f"site{k}", heading)
    pages = [load_page(tmp_path / f"site{k}.txt", tmp_path / f"site{k}.silver.json", "silver")
             for k in range(2)]
    for name, url in (("plain", "https://en.plain.example/a"), ("plain2", "https://plain.example/b"),
                      ("alone", "https://alone.example/c")):
        text = "\n\n".join(f"Line {k} of the page {name}, which shares no sentence with any other page here."
                           for k in range(8))
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
        labels = json.dumps({"id": name, "url": url, "blocks": []})
        (tmp_path / f"{name}.silver.json").write_text(labels, encoding="utf-8")
        pages.append(load_page(tmp_path / f"{name}.txt", tmp_path / f"{name}.silver.json", "silver"))
    groups = page_groups(pages)
    assert groups[0] == groups[1]  # the same template under two site names
    assert groups[2] == groups[3]  # en.plain.example and plain.example
    assert len({groups[0], groups[2], groups[4]}) == 3


def test_the_segment_key_covers_the_shipped_line_model(tmp_path: Path, monkeypatch) -> None:
    """Retraining the line model changes what ingest gives: cached segments must not be reused."""
    import pipeline
    from pipeline import keys

    copy = tmp_path / "pipeline"
    shutil.copytree(Path(pipeline.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(keys, "_package_root", lambda: copy)
    keys.code_files.cache_clear()
    keys.code_digest.cache_clear()
    try:
        before = keys.code_digest(*keys.STAGE_CODE["segment"])
        meta = copy / "data" / "line_model" / "v2" / "meta.json"
        meta.write_text(meta.read_text(encoding="utf-8") + " ", encoding="utf-8")
        keys.code_digest.cache_clear()
        assert keys.code_digest(*keys.STAGE_CODE["segment"]) != before
    finally:
        keys.code_files.cache_clear()
        keys.code_digest.cache_clear()


@pytest.mark.parametrize("module", ["pipeline.ingest", "pipeline.config", "pipeline.ingest.line_model",
                                    "pipeline.segment", "pipeline.cli"])
def test_each_module_imports_first_in_a_fresh_process(module: str) -> None:
    """The config checks parser names against the ingest registry: no import cycle in any order."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]
