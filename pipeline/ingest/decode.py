"""Bytes to clean text: BOM, UTF-8, a cp1252/latin-1 fallback, binary detection, odd spaces."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from pipeline.errors import InputError

_CONTROL = set(range(0, 32)) - {9, 10, 12, 13}
_ODD_SPACES = re.compile(r"[\u00a0\u2007\u202f\u2000-\u200a\u3000]")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a file, refusing missing, unreadable, empty and oversized ones with a clear message."""
    if not path.exists():
        raise InputError(f"input not found: {path} (check the path)")
    if not path.is_file():
        raise InputError(f"input is not a file: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"input too large: {path} is {size:,} bytes, limit is {max_bytes:,} (raise ingest.max_bytes)"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data.strip():
        raise InputError(f"input is empty: {path} has no text")
    return data


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control bytes in the first 8 KiB mean this is not a text file."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b in _CONTROL)
    return control > max(8, len(head) // 100)


def decode_bytes(data: bytes, source: str) -> str:
    """Decode UTF-8 (with or without BOM), else cp1252, else latin-1; refuse binary data."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return normalize(data.decode("utf-16"))
        except UnicodeDecodeError:
            pass
    if looks_binary(data):
        raise InputError(f"input is not text: {source} looks like a binary file")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return normalize(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    raise InputError(f"cannot decode {source} as text")  # latin-1 never fails; kept for clarity


def normalize(text: str) -> str:
    """NFC, Unix newlines, odd spaces to plain spaces, invisible characters removed.

    Curly quotes and dashes are kept as written: they are part of the text a reader sees.
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ODD_SPACES.sub(" ", text)
    return _INVISIBLE.sub("", text)
