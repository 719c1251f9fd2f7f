"""Ingest: files, HTML, Markdown and corpora into clean `Article` records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import IngestConfig
from pipeline.errors import InputError
from pipeline.ingest.decode import decode_bytes, normalize, read_bytes
from pipeline.records import Article

ARTICLE_SUFFIXES = {".txt": "text", ".text": "text", ".html": "html", ".htm": "html",
                    ".md": "markdown", ".markdown": "markdown"}
CORPUS_SUFFIXES = {".jsonl", ".ndjson"}


@dataclass(frozen=True)
class RawDoc:
    """One undecoded-format article: its id, text, the format it is in, and where it came from."""

    id: str
    text: str
    format: str
    source: str


def detect_format(path: Path, text: str, hint: str = "auto") -> str:
    """The configured format, else by suffix, else by sniffing for HTML tags."""
    if hint not in ("auto", "jsonl"):
        return hint
    head = text.lstrip()[:512].lower()
    if head.startswith(("<!doctype html", "<html")) or ("<body" in head and "</" in head):
        return "html"
    return ARTICLE_SUFFIXES.get(path.suffix.lower(), "text")


def parse(doc: RawDoc, config: IngestConfig) -> Article:
    """Turn a raw document into an `Article`; refuse one with no body text."""
    if doc.format == "html":
        from pipeline.ingest.html import parse_html

        parsed = parse_html(doc.text, max_heading_words=config.max_heading_words)
    elif doc.format == "markdown":
        from pipeline.ingest.markdown import parse_markdown

        parsed = parse_markdown(doc.text)
    else:
        from pipeline.ingest.text import parse_plain_text

        parsed = parse_plain_text(
            doc.text, drop_boilerplate=config.drop_boilerplate, max_heading_words=config.max_heading_words
        )
    if not any(b.kind == "paragraph" for b in parsed.blocks):
        what = "an HTML page" if doc.format == "html" else "a document"
        raise InputError(f"no article text found in {doc.source}: {what} with no body paragraphs")
    return Article(
        id=doc.id,
        title=parsed.title,
        standfirst=parsed.standfirst,
        blocks=tuple(parsed.blocks),
        dropped=tuple(parsed.dropped),
        source=doc.source,
        format=doc.format,
    )


def read_document(path: Path, config: IngestConfig, fmt: str = "auto", doc_id: str | None = None) -> RawDoc:
    data = read_bytes(path, config.max_bytes)
    text = decode_bytes(data, str(path))
    return RawDoc(doc_id or path.stem, text, detect_format(path, text, fmt), str(path))


def load_article(path: str | Path, config: IngestConfig | None = None, fmt: str = "auto") -> Article:
    """Read and parse one article file."""
    config = config or IngestConfig()
    return parse(read_document(Path(path), config, fmt), config)


def is_corpus(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() or p.suffix.lower() in CORPUS_SUFFIXES


def iter_corpus(path: str | Path, config: IngestConfig | None = None) -> Iterator[RawDoc | InputError]:
    """Yield each document of a folder or JSONL corpus, or the InputError that stopped it.

    A bad document is yielded as an error so that the caller decides whether to go on.
    """
    config = config or IngestConfig()
    p = Path(path)
    if not p.exists():
        raise InputError(f"input not found: {p} (check the path)")
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in ARTICLE_SUFFIXES)
        if not files:
            known = ", ".join(sorted(ARTICLE_SUFFIXES))
            raise InputError(f"no articles in folder {p}: expected files ending in {known}")
        for f in files:
            try:
                yield read_document(f, config, doc_id=str(f.relative_to(p).with_suffix("")))
            except InputError as exc:
                yield exc
        return
    yield from _iter_jsonl(p)


def _iter_jsonl(path: Path) -> Iterator[RawDoc | InputError]:
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield InputError(f"{where}: not valid JSON ({exc.msg})")
                continue
            if not isinstance(row, dict):
                yield InputError(f"{where}: expected a JSON object with 'id' and 'text' or 'html'")
                continue
            doc_id = str(row.get("id") if row.get("id") is not None else f"line-{number}")
            if isinstance(row.get("html"), str) and row["html"].strip():
                yield RawDoc(doc_id, normalize(row["html"]), "html", where)
            elif isinstance(row.get("text"), str) and row["text"].strip():
                fmt = row.get("format") if row.get("format") in ("text", "markdown", "html") else "text"
                yield RawDoc(doc_id, normalize(row["text"]), fmt, where)
            else:
                yield InputError(f"{where}: expected a non-empty 'text' or 'html' field (id {doc_id!r})")
