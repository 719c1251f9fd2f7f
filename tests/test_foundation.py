"""Config validation, the component registry, decoding, Markdown and corpus reading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import RunConfig, flatten, load_config
from pipeline.errors import ConfigError, InputError
from pipeline.evaluation.segmentation import bag_f1, boundaries_to_labels, heading_f1, pk, windowdiff
from pipeline.ingest import iter_corpus, load_article
from pipeline.ingest.decode import decode_bytes
from pipeline.registry import Registry
from pipeline.segment import SEGMENTERS, segment_article

REPO = Path(__file__).resolve().parents[1]


# --- config -------------------------------------------------------------------------------------


def test_default_config_file_is_valid():
    config = load_config(REPO / "configs" / "default.yaml")
    assert isinstance(config, RunConfig) and config.segment.method == "auto"


def test_unknown_nested_key_names_path_and_suggestion(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("segment:\n  paragraphs:\n    windw: 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    message = str(err.value)
    assert "segment.paragraphs.windw" in message and "segment.paragraphs.window" in message
    assert str(cfg) in message and "\n" not in message


def test_wrong_type_says_expected_and_found():
    with pytest.raises(ConfigError, match=r"segment\.min_headings.*integer.*found 'two'"):
        load_config(None, ["segment.min_headings=two"])


def test_missing_config_file():
    with pytest.raises(ConfigError, match="config file not found: nowhere.yaml"):
        load_config("nowhere.yaml")


def test_overrides_parse_yaml_scalars():
    config = load_config(
        None, ["segment.min_headings=3", "ingest.drop_boilerplate=false", "experiment=my exp"]
    )
    assert config.segment.min_headings == 3 and config.ingest.drop_boilerplate is False
    assert config.experiment == "my exp"


def test_bad_override_syntax():
    with pytest.raises(ConfigError, match="KEY.PATH=VALUE"):
        load_config(None, ["segment.method"])


def test_flatten_is_stable():
    flat = flatten(load_config(None).model_dump(mode="json"))
    assert flat["segment.paragraphs.window"] == 4 and "segment.topics.model" in flat


# --- registry -----------------------------------------------------------------------------------


def test_registry_resolves_newest_and_lists_known_on_error():
    reg: Registry[int] = Registry("thing")
    reg.register("alpha.v1")(1)
    reg.register("alpha.v2")(2)
    assert reg.get("alpha") == 2 and reg.get("alpha.v1") == 1
    with pytest.raises(ConfigError, match="unknown thing 'beta': expected one of alpha.v1, alpha.v2"):
        reg.get("beta")


def test_builtin_segmenters_are_registered():
    segment_article  # noqa: B018 - importing registers them on first use
    from pipeline.segment import _load_builtin

    _load_builtin()
    assert {"headings.v1", "topics.v1", "paragraphs.v1"} <= set(SEGMENTERS.names())


# --- decoding -----------------------------------------------------------------------------------

TEXT = "Café “quoted” — naïve\u00a0text"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_decodes_common_encodings(encoding):
    assert decode_bytes(TEXT.encode(encoding), "x") == "Café “quoted” — naïve text"


def test_latin1_fallback_for_bytes_cp1252_cannot_decode():
    assert decode_bytes("Zürich".encode("latin-1") + b"\x81", "x").startswith("Zürich")


def test_binary_refused():
    with pytest.raises(InputError, match="binary"):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00", "img.png")


def test_windows_newlines_and_invisible_characters(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(
        (
            "Title Here\r\n\r\nFirst para\u200bgraph of the story, with enough words to count."
            "\r\n\r\nSecond paragraph of the story, also long enough to be body text.\r\n"
        ).encode()
    )
    article = load_article(path)
    assert all("\r" not in p and "\u200b" not in p for p in article.paragraphs)


# --- markdown and corpora -----------------------------------------------------------------------

MARKDOWN = """# Storm Closes Coastal Road

*Engineers say repairs could take a week*

High winds and waves closed the coastal road on Friday, cutting off two villages.

## Repairs

Crews began clearing debris on **Saturday** morning, the [council](https://example.org) said.

## Travel advice

Drivers are asked to use the inland route until further notice.
"""


def test_markdown_title_standfirst_headings(tmp_path):
    path = tmp_path / "storm.md"
    path.write_text(MARKDOWN)
    article = load_article(path)
    assert article.title == "Storm Closes Coastal Road"
    assert article.standfirst == "Engineers say repairs could take a week"
    assert article.headings == ["Repairs", "Travel advice"]
    assert "Crews began clearing debris on Saturday morning, the council said." in article.paragraphs
    sections = segment_article(article, RunConfig().segment).sections
    assert [s.heading for s in sections] == [None, "Repairs", "Travel advice"]


def test_folder_corpus_yields_each_file_and_errors(tmp_path):
    (tmp_path / "b.md").write_text(MARKDOWN)
    (tmp_path / "a.md").write_text(MARKDOWN)
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "notes.csv").write_text("ignored")
    items = list(iter_corpus(tmp_path))
    ids = [i.id for i in items if not isinstance(i, InputError)]
    assert ids == ["a", "b"]
    assert [str(i) for i in items if isinstance(i, InputError)] == [
        f"input is empty: {tmp_path / 'empty.txt'} has no text"
    ]


def test_jsonl_corpus_reports_bad_lines(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"id": "x", "text": "Body."}) + "\n{broken\n" + json.dumps({"id": "y"}) + "\n")
    items = list(iter_corpus(path))
    assert items[0].id == "x"
    assert isinstance(items[1], InputError) and f"{path}:2" in str(items[1])
    assert isinstance(items[2], InputError) and "'text' or 'html'" in str(items[2])


# --- metrics ------------------------------------------------------------------------------------


def test_segmentation_metrics():
    ref = boundaries_to_labels([3, 6], 9)
    assert ref == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert pk(ref, ref) == 0.0 and windowdiff(ref, ref) == 0.0
    assert pk(ref, [0] * 9) > 0.3
    assert bag_f1("a b c", "a b d")[2] == pytest.approx(2 / 3)
    assert heading_f1(["‘We need to listen’"], ["'We need to listen'"])[2] == 1.0
