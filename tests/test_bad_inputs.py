"""The table of bad inputs in a corpus run: each one is skipped with a reason in errors.parquet (or
stops the run with an error that names it), and the good articles beside it all keep their rows.

The README's "Corpus runs" section shows the same table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import InputError
from tests.tools.corpus_testing import GOOD, assert_clean_layout, client, errors, run, sections, write_config

BODY = "The council said on Tuesday that the new ferry link would open next spring after a long debate."
NAV_ONLY_HTML = ("<html><head><title>Home</title></head><body><nav><a href='/'>Home</a> "
                 "<a href='/news'>News</a></nav><footer>© Example News</footer></body></html>")
ONE_LINE = ("One Long Line\n\n" + " ".join([BODY] * 400)).encode()


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("store")


def folder(tmp: Path, extra: dict[str, bytes]) -> Path:
    corpus = tmp / "corpus"
    corpus.mkdir()
    for doc_id, text in GOOD.items():
        (corpus / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    for name, data in extra.items():
        (corpus / name).write_bytes(data)
    return corpus


def jsonl(tmp: Path, extra_lines: list[str], rows: list[dict] | None = None) -> Path:
    corpus = tmp / "corpus.jsonl"
    rows = rows if rows is not None else [{"id": k, "text": v} for k, v in GOOD.items()]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines[2:2] = extra_lines  # the bad lines sit between good ones
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus


def many_headings() -> bytes:
    parts = [f"Part number {i} of the story\n\n{BODY} Item {i} was discussed at length." for i in range(500)]
    return ("An Article With Five Hundred Headings\n\n" + "\n\n".join(parts)).encode()


def cp1252_text() -> bytes:
    return ("Caf\u00e9 Owners Protest\n\n" + BODY.replace("council", "caf\u00e9 council")
            + " \u201cWe will not move,\u201d one owner said.\n\n" + BODY).encode("cp1252")


def vanishing(tmp: Path, monkeypatch) -> Path:
    """A file that is listed, then deleted before it is read (while the good ones are being read)."""
    from pipeline import ingest

    corpus = folder(tmp, {"zz-vanish.txt": BODY.encode()})
    real = ingest.read_document

    def read_document(path, *args, **kwargs):
        (corpus / "zz-vanish.txt").unlink(missing_ok=True)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(ingest, "read_document", read_document)
    return corpus


# name: (build(tmp, monkeypatch) -> corpus, outcome, bad id, stage, what the reason or rows say)
CASES = {
    "empty file": (lambda t, m: folder(t, {"bad.txt": b""}), "skipped", "bad", "read", "input is empty"),
    "whitespace-only file": (lambda t, m: folder(t, {"bad.txt": b" \n\t\n   \r\n"}), "skipped", "bad", "read",
                             "input is empty"),
    "binary file": (lambda t, m: folder(t, {"bad.txt": bytes(range(256)) * 40}), "skipped", "bad", "read",
                    "looks like a binary file"),
    "invalid UTF-8 (cp1252)": (lambda t, m: folder(t, {"bad.txt": cp1252_text()}), "kept", "bad", None,
                               "caf\u00e9 council"),
    "20 MB text file": (lambda t, m: folder(t, {"bad.txt": (BODY + "\n\n").encode() * 210_000}), "skipped",
                        "bad", "read", "limit is 5,000,000 (raise ingest.max_bytes)"),
    "20 MB JSONL row": (lambda t, m: jsonl(t, [json.dumps({"id": "bad", "text": (BODY + "\n\n") * 210_000})]),
                        "skipped", "bad", "read", "too large"),
    "HTML with no article": (lambda t, m: folder(t, {"bad.html": NAV_ONLY_HTML.encode()}), "skipped", "bad",
                             "ingest", "no article text found"),
    "500 headings": (lambda t, m: folder(t, {"bad.txt": many_headings()}), "kept", "bad", None, "every part"),
    "no paragraph breaks": (lambda t, m: folder(t, {"bad.txt": ONE_LINE}), "kept", "bad", None, 1),
    "JSONL with one broken line": (lambda t, m: jsonl(t, ['{"id": "bad", "text": "unterminated']), "skipped",
                                   "line-3", "read", "not valid JSON"),
    "duplicate ids": (lambda t, m: jsonl(t, [json.dumps({"id": "good-1", "text": BODY})]), "skipped",
                      "good-1", "read", "duplicate id 'good-1'"),
    "file vanishes mid-run": (vanishing, "skipped", "zz-vanish", "read", "input not found"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_skipped_with_a_reason_and_nothing_else_is_lost(case, tmp_path, store, monkeypatch):
    build, outcome, bad_id, stage, expected = CASES[case]
    corpus = build(tmp_path, monkeypatch)
    out = tmp_path / "out"
    result = run(write_config(tmp_path, store), corpus, out, batch_size=2)
    rows = sections(out)
    errs = errors(out)
    assert set(GOOD) <= set(rows["id"])  # every good article has its rows
    if case == "duplicate ids":
        assert BODY not in " ".join(rows.loc[rows["id"] == "good-1", "text"])  # the first one is kept
    if outcome == "skipped":
        assert len(errs) == 1 == result.failed, errs.to_dict("records")
        error = errs.iloc[0]
        assert (error["id"], error["stage"]) == (bad_id, stage)
        assert expected in error["error"]
        assert case == "duplicate ids" or bad_id not in set(rows["id"])
    else:
        assert errs.empty and result.failed == 0
        mine = rows[rows["id"] == bad_id]
        if isinstance(expected, int):
            assert len(mine) == expected
        elif expected == "every part":  # each of the 500 parts is kept, in its own section or under one
            text = " ".join(mine["text"].fillna("")) + " " + " ".join(mine["heading"].fillna(""))
            assert all(f"Item {i} was discussed" in text for i in range(500))
            assert sum(f"Part number {i} of the story" in text for i in range(500)) >= 499
            # most parts keep their heading (learned.v3 kept 420, v4 352: a heading its decoder is less
            # than 0.4 sure of stays a paragraph of the part above); none is split or lost
            assert 300 <= len(mine) <= 500
        else:
            assert expected in " ".join(mine["text"])
    assert_clean_layout(out)
    assert client(store).get_run(result.run_id).info.status == "FINISHED"


def test_unreadable_corpus_stops_with_an_error_naming_it(tmp_path, store):
    corpus = tmp_path / "corpus.parquet"
    corpus.write_text("id,text\nx,not parquet\n")
    with pytest.raises(InputError, match=f"cannot read {corpus} as Parquet"):
        run(write_config(tmp_path, store), corpus, tmp_path / "out")
    assert not list((tmp_path / "out" / "sections").glob("*.parquet"))


def test_every_article_failing_stops_with_exit_2_and_the_reason(tmp_path, store):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_bytes(b"")
    (corpus / "b.html").write_text(NAV_ONLY_HTML)
    cfg = write_config(tmp_path, store)
    result = subprocess.run([sys.executable, "-m", "pipeline", "run", str(cfg), "--input", str(corpus),
                             "--output", str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: every article failed (2): input is empty") and "errors.parquet" in last
    assert "Traceback" not in result.stderr
    assert sorted(errors(tmp_path / "out")["id"]) == ["a", "b"]
    runs = client(store).search_runs([client(store).get_experiment_by_name("corpus-test").experiment_id],
                                     filter_string=f"tags.output = '{tmp_path / 'out'}'")
    assert [r.info.status for r in runs] == ["FAILED"]
    assert runs[0].data.tags["error"].startswith("InputError: every article failed")
