"""Unlabelled texts for a distilled student: a corpus cut as the pipeline scores it.

Tone: each section's text (`pipeline.score.section_text`). Stance: for each target a section mentions,
the mention window the stance model reads (`pipeline.score.mention_context`), or the whole section with
``score.stance.context: section``. Ingest and segmentation are the run config's (default: built-in).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.config import RunConfig
    from pipeline.training.config import DistillConfig


def run_config(distill: DistillConfig) -> RunConfig:
    """The run config that cuts the corpus (built-in defaults when ``distill.run_config`` is unset)."""
    from pipeline.config import RunConfig, load_config

    if distill.run_config is None:
        return RunConfig()
    return load_config(distill.run_config, model=RunConfig)  # type: ignore[return-value]


def stance_settings(
    distill: DistillConfig, config: RunConfig
) -> tuple[dict[str, list[str]], bool, str, int | None]:
    """Targets, case sensitivity, context and mention words: ``distill.targets`` over the run config's."""
    stance = config.score.stance
    targets = distill.targets or (stance.targets if stance else {})
    if not targets:
        raise ConfigError(
            f"distill.corpus for stance needs targets: set distill.targets, or score.stance.targets in "
            f"{distill.run_config}"
        )
    if stance is None:
        return targets, True, "mentions", 12
    return targets, stance.case_sensitive, stance.context, stance.mention_words


def corpus_digest(paths: list[str]) -> str:
    """A digest of the corpus files' names and bytes (a changed corpus trains a new student)."""
    from pipeline.keys import folder_digest

    h = hashlib.sha256()
    for path in paths:
        p = Path(path).expanduser()
        if p.is_dir():
            h.update(f"dir:{folder_digest(p)}".encode())
        elif p.is_file():
            with p.open("rb") as handle:
                h.update(f"file:{p.name}:".encode() + hashlib.file_digest(handle, "sha256").digest())
        else:
            raise ConfigError(f"distill.corpus: not found: {path} (a folder, .jsonl or .parquet of articles)")
    return h.hexdigest()[:16]


def corpus_texts(distill: DistillConfig, task: str, seed: int) -> tuple[list[str], list[str | None], int]:
    """(texts, targets, articles that failed to read or parse), deduplicated, sampled to
    ``max_corpus_texts`` with ``seed``. Targets are None for tone."""
    from pipeline.corpus.job import iter_documents
    from pipeline.errors import InputError, first_line
    from pipeline.ingest import parse
    from pipeline.score import mention_context, section_text
    from pipeline.score.targets import targets_from_config
    from pipeline.segment import segment_article

    config = run_config(distill)
    targets = []
    context, words = "mentions", 12
    if task == "stance":
        names, case_sensitive, context, words = stance_settings(distill, config)
        targets = targets_from_config(names, case_sensitive)
    pairs: dict[tuple[str, str | None], None] = {}
    failed, seen, first_failure = 0, 0, ""
    for path in distill.corpus:
        for doc in iter_documents(Path(path).expanduser(), config):
            seen += 1
            if isinstance(doc, InputError):
                failed += 1
                first_failure = first_failure or first_line(doc)
                continue
            try:
                segmented = segment_article(parse(doc, config.ingest), config.segment)
            except Exception as exc:  # one bad article never stops the labelling
                failed += 1
                first_failure = first_failure or f"{getattr(doc, 'id', '?')}: {first_line(exc)}"
                continue
            for section in segmented.sections:
                text = section_text(section)
                if task == "tone":
                    pairs[(text, None)] = None
                    continue
                for target in targets:
                    if target.mentions(text):
                        window = mention_context(section, target, words) if context == "mentions" else text
                        pairs[(window, target.name)] = None
    if failed:
        print(f"warning: {failed} of {seen} corpus articles could not be cut into sections and are left out "
              f"(first: {first_failure})", file=sys.stderr)
    chosen = list(pairs)
    if distill.max_corpus_texts is not None and len(chosen) > distill.max_corpus_texts:
        chosen = _sample(chosen, distill.max_corpus_texts, seed)
    return [text for text, _ in chosen], [target for _, target in chosen], failed


def _sample(pairs: list[tuple[str, str | None]], n: int, seed: int) -> list[tuple[str, str | None]]:
    """A seeded sample that keeps the order read: the ``n`` pairs with the smallest seeded hash, so a larger
    cap or a grown corpus keeps the texts sampled before (their teacher labels are cached)."""
    def rank(pair: tuple[str, str | None]) -> str:
        return hashlib.sha256(f"{seed}\x00{pair[1] or ''}\x00{pair[0]}".encode()).hexdigest()

    keep = set(sorted(pairs, key=rank)[:n])
    return [pair for pair in pairs if pair in keep]
