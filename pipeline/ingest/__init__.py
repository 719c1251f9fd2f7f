"""Ingest: files, HTML, Markdown and corpora into clean `Article` records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import IngestConfig
from pipeline.errors import InputError
from pipeline.ingest.decode import decode_bytes, normalize, read_bytes
from pipeline.ingest.parsers import TEXT_PARSERS
from pipeline.records import Article

ARTICLE_SUFFIXES = {".txt": "text", ".text": "text", ".html": "html", ".htm": "html",
                    ".md": "markdown", ".markdown": "markdown"}
CORPUS_SUFFIXES = {".jsonl", ".ndjson", ".parquet"}


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
        parsed = TEXT_PARSERS.get(config.text_parser)(doc.text, config)
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


def list_corpus_files(folder: Path) -> list[Path]:
    """The article files of a folder corpus, sorted (other suffixes are ignored)."""
    return sorted(f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in ARTICLE_SUFFIXES)


def doc_error(message: str, doc_id: str | None) -> InputError:
    """An InputError for one document of a corpus; ``doc_id`` (None where unknown) rides along."""
    exc = InputError(message)
    exc.doc_id = doc_id  # type: ignore[attr-defined]
    return exc


def iter_corpus(path: str | Path, config: IngestConfig | None = None) -> Iterator[RawDoc | InputError]:
    """Yield each document of a folder, JSONL or Parquet corpus, or the InputError that stopped it.

    A bad document is yielded as an error (with its ``doc_id`` where known) so that the caller
    decides whether to go on. Documents are read one at a time: memory stays flat.
    """
    config = config or IngestConfig()
    p = Path(path)
    if not p.exists():
        raise InputError(f"input not found: {p} (check the path)")
    if p.is_dir():
        files = list_corpus_files(p)
        if not files:
            known = ", ".join(sorted(ARTICLE_SUFFIXES))
            raise InputError(f"no articles in folder {p}: expected files ending in {known}")
        for f in files:
            doc_id = str(f.relative_to(p).with_suffix(""))
            try:
                yield read_document(f, config, doc_id=doc_id)
            except InputError as exc:
                exc.doc_id = doc_id  # type: ignore[attr-defined]
                yield exc
        return
    if p.suffix.lower() == ".parquet":
        yield from _iter_parquet(p, config.max_bytes)
        return
    yield from _iter_jsonl(p, config.max_bytes)


def _row_doc(row: dict, doc_id: str, where: str, max_bytes: int) -> RawDoc | InputError:
    """A JSONL or Parquet row with 'html' or 'text' (and optionally 'format') as a RawDoc."""
    for field in ("html", "text"):
        value = row.get(field)
        if isinstance(value, str) and value.strip():
            size = len(value.encode("utf-8", errors="replace"))
            if size > max_bytes:
                return doc_error(f"{where}: article {doc_id!r} too large: {size:,} bytes, limit is "
                                 f"{max_bytes:,} (raise ingest.max_bytes)", doc_id)
            if field == "html":
                return RawDoc(doc_id, normalize(value), "html", where)
            fmt = row.get("format") if row.get("format") in ("text", "markdown", "html") else "text"
            return RawDoc(doc_id, normalize(value), fmt, where)
    return doc_error(f"{where}: expected a non-empty 'text' or 'html' field (id {doc_id!r})", doc_id)


def _iter_parquet(path: Path, max_bytes: int, batch_rows: int = 256) -> Iterator[RawDoc | InputError]:
    """Rows of a Parquet file with columns id and text or html, read in small batches."""
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise InputError(f"cannot read {path} as Parquet: {str(exc).splitlines()[0]}") from None
    names = set(handle.schema_arrow.names)
    if not names & {"text", "html"}:
        raise InputError(f"{path}: expected columns 'id' and 'text' or 'html', found {sorted(names)}")
    columns = [c for c in ("id", "text", "html", "format") if c in names]
    number = 0
    for batch in handle.iter_batches(batch_size=batch_rows, columns=columns):
        for row in batch.to_pylist():
            number += 1
            doc_id = str(row["id"]) if row.get("id") is not None else f"row-{number}"
            yield _row_doc(row, doc_id, f"{path}:row {number}", max_bytes)


def _iter_jsonl(path: Path, max_bytes: int = IngestConfig().max_bytes) -> Iterator[RawDoc | InputError]:
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
                yield doc_error(f"{where}: not valid JSON ({exc.msg})", f"line-{number}")
                continue
            if not isinstance(row, dict):
                yield doc_error(
                    f"{where}: expected a JSON object with 'id' and 'text' or 'html'", f"line-{number}"
                )
                continue
            doc_id = str(row.get("id") if row.get("id") is not None else f"line-{number}")
            yield _row_doc(row, doc_id, where, max_bytes)
