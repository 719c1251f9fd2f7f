"""Writes the tone training files with a context column: the first sentence of the article's lead.

Question: does a paragraph read beside its article's lead (a stand-in for the title, which PerSenT
lacks) score tone better? PerSenT's labels are the sentiment toward the article's main entity, which a
paragraph alone often does not name. MPQA and NewsMTSC sentences have no article: their context is the
sentence itself.

Usage: python experiments/tone-context/make_data.py [SHARED_DATASETS] [OUT]
(defaults ../shared/datasets and ~/.cache/pipeline/tone-context). Nothing is copied into the project.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def first_sentence(text: str) -> str:
    """The text up to its first sentence end (., ! or ? then a space), at most 40 words."""
    head = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
    return " ".join(head.split()[:40])


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)


def main(shared: Path, out: Path) -> None:
    paragraphs = read(shared / "tone/persent-dev-paragraphs.jsonl")
    leads = {r["doc_id"]: first_sentence(r["text"]) for r in paragraphs if r["paragraph_index"] == 0}
    write(out / "persent.jsonl", [{**r, "context": leads[r["doc_id"]]} for r in paragraphs])
    for name in ("mpqa", "newsmtsc-train"):
        rows = read(shared / f"tone/{name}.jsonl")
        write(out / f"{name}.jsonl", [{**r, "context": first_sentence(r["text"])} for r in rows])
    print(f"wrote {out}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        Path(args[0]) if args else Path("../shared/datasets"),
        Path(args[1]) if len(args) > 1 else Path.home() / ".cache/pipeline/tone-context",
    )
