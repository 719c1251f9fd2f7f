"""Markdown articles: `#` title, `##`-`####` sub-headings, blank-line paragraphs."""

from __future__ import annotations

import re

from pipeline.ingest.parsed import Parsed
from pipeline.records import Block

_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_INLINE = [
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\w)"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
]


def strip_inline(text: str) -> str:
    for pattern, repl in _INLINE:
        text = pattern.sub(repl, text)
    return text.strip()


def parse_markdown(text: str) -> Parsed:
    """Return title, standfirst and body blocks. The first `#` heading is the title; a first
    paragraph in italics or a blockquote right after it is the standfirst."""
    title: str | None = None
    standfirst: str | None = None
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", text):
        lines = [ln.rstrip() for ln in chunk.strip().splitlines() if ln.strip()]
        if not lines:
            continue
        if len(lines) == 2 and _SETEXT.match(lines[1]):
            level = 1 if lines[1].startswith("=") else 2
            lines = ["#" * level + " " + lines[0]]
        head = _ATX.match(lines[0])
        if head and len(lines) == 1:
            level, content = len(head.group(1)), strip_inline(head.group(2))
            if level == 1 and title is None and not blocks:
                title = content
            elif content:
                blocks.append(Block(content, "heading"))
            continue
        body = "\n".join(lines)
        if title is not None and standfirst is None and not blocks:
            quoted = all(ln.startswith(">") for ln in lines)
            italic = re.fullmatch(r"([*_])(?!\1).+\1", body, flags=re.S)
            if quoted or italic:
                standfirst = strip_inline(" ".join(ln.lstrip("> ") for ln in lines).strip("*_"))
                continue
        if re.fullmatch(r"(-{3,}|\*{3,}|_{3,})", body):
            continue
        paragraph = " ".join(strip_inline(ln.lstrip("> ")) for ln in lines)
        if paragraph:
            blocks.append(Block(paragraph, "paragraph"))
    return Parsed(title, standfirst, blocks, [])
