"""Write a synthetic news corpus: a folder of .txt files, a JSONL file or a Parquet file.

    python -m tests.tools.make_corpus --n 5000 --out /tmp/corpus            # folder of .txt
    python -m tests.tools.make_corpus --n 5000 --out /tmp/c.jsonl --format jsonl
    python -m tests.tools.make_corpus --n 5000 --out /tmp/c.parquet --format parquet

Articles are deterministic for a seed: a title, a standfirst, a lead, two to four sub-headings
(every fourth article has none), four to twelve paragraphs of made-up prose, and some site chrome
("Skip to content", a newsletter pitch) as a scraper would save it. Memory stays flat: articles are
written one at a time.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path

SUBJECTS = ["The council", "The minister", "Residents", "The union", "Officials", "The company", "Analysts",
            "The mayor", "Campaigners", "The opposition", "Doctors", "Farmers", "Teachers", "The court"]
VERBS = ["said", "warned", "argued", "confirmed", "announced", "denied", "suggested", "insisted", "admitted"]
OBJECTS = ["the new ferry link", "the budget for next year", "the plan to close the old pier",
           "the rail timetable", "the hospital extension", "the water charges", "the school rebuild",
           "the flood defences", "the trade agreement", "the housing scheme", "the bus contract"]
TAILS = ["would be delayed until the spring", "had been agreed after months of talks",
         "was never properly costed", "could cut waiting times in half", "needed a fresh vote",
         "left many questions unanswered", "was the best option on the table", "faced a legal challenge",
         "would cost more than first thought", "had wide support among local businesses"]
HEADINGS = ["Why the vote was close", "What happens next", "A long dispute", "The cost of delay",
            "Reaction in the town", "What the figures show", "Questions for the council", "A new timetable",
            "Who pays", "The view from the harbour"]
TITLES = ["Council Backs {o}", "Row Over {o} Deepens", "Talks on {o} Resume", "Vote on {o} Delayed",
          "New Doubts Over {o}"]


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} that {rng.choice(OBJECTS)} {rng.choice(TAILS)}."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 4)))


def article(i: int, seed: int = 0) -> str:
    """Article ``i`` of the corpus for ``seed``, as a scraper would save the page as text."""
    rng = random.Random(seed * 1_000_003 + i)
    obj = rng.choice(OBJECTS).removeprefix("the ")
    title = rng.choice(TITLES).format(o=" ".join(w.capitalize() for w in obj.split()))
    lines = ["Skip to content", "", f"{title} ({i})", "",
             f"A {rng.choice(['long', 'bitter', 'quiet'])} debate about {obj} is coming to an end", ""]
    n_headings = 0 if i % 4 == 3 else rng.randint(2, 4)
    headings = rng.sample(HEADINGS, n_headings)
    lines += [paragraph(rng), "", paragraph(rng), ""]
    for heading in headings:
        lines += [heading, ""]
        lines += [line for _ in range(rng.randint(1, 3)) for line in (paragraph(rng), "")]
    if not headings:
        lines += [line for _ in range(rng.randint(2, 8)) for line in (paragraph(rng), "")]
    lines += ["Sign up for our morning newsletter", "", "Recommended for you", ""]
    return "\n".join(lines)


def articles(n: int, seed: int = 0) -> Iterator[tuple[str, str]]:
    for i in range(n):
        yield f"a{i:06d}", article(i, seed)


def write_corpus(out: str | Path, n: int, fmt: str = "folder", seed: int = 0) -> Path:
    """Write ``n`` articles to ``out`` as a folder of .txt files, JSONL or Parquet; return ``out``."""
    out = Path(out)
    if fmt == "folder":
        out.mkdir(parents=True, exist_ok=True)
        for doc_id, text in articles(n, seed):
            (out / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    elif fmt == "jsonl":
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as handle:
            for doc_id, text in articles(n, seed):
                handle.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        out.parent.mkdir(parents=True, exist_ok=True)
        schema = pa.schema([("id", pa.string()), ("text", pa.string())])
        with pq.ParquetWriter(out, schema) as writer:
            batch: list[tuple[str, str]] = []
            for item in articles(n, seed):
                batch.append(item)
                if len(batch) == 1000:
                    writer.write_table(pa.Table.from_pylist([{"id": a, "text": t} for a, t in batch], schema))
                    batch = []
            if batch:
                writer.write_table(pa.Table.from_pylist([{"id": a, "text": t} for a, t in batch], schema))
    else:
        raise ValueError(f"unknown format {fmt!r}: expected folder, jsonl or parquet")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of articles")
    parser.add_argument("--out", required=True, help="folder, or .jsonl / .parquet file to write")
    parser.add_argument("--format", choices=["folder", "jsonl", "parquet"], default=None,
                        help="default: by the suffix of --out (.jsonl, .parquet), else a folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    fmt = args.format or {".jsonl": "jsonl", ".parquet": "parquet"}.get(Path(args.out).suffix, "folder")
    write_corpus(args.out, args.n, fmt, args.seed)
    print(f"wrote {args.n} articles to {args.out} ({fmt})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
