"""The per-batch work of a corpus run, shared by both engines: ingest + segment and score, through the
stage cache, as rows.

Pure of MLflow and of the output folder: documents in, section rows and error rows out. The local
engine calls it in its own process; the Spark engine ships the driver's `Worker` (config, resolved
models, stage keys) to its executors and calls the same methods there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline import ingest as ingest_stage
from pipeline import segment as segment_stage
from pipeline.config import RunConfig
from pipeline.corpus.cache import NullCache, StageCache, config_digest, digest
from pipeline.errors import ConfigError, PipelineError
from pipeline.ingest import RawDoc
from pipeline.records import Article, Section, Segmented

BASE_COLUMNS = [("id", "string"), ("key", "string"), ("title", "string"), ("section_index", "int64"),
                ("heading", "string"), ("n_paragraphs", "int64"), ("n_words", "int64"), ("method", "string"),
                ("text", "string")]
MODEL_COLUMNS = {"tone": "tone_model", "stance": "stance_model"}
"""Which model scored each row: the resolved version or folder digest (`ResolvedModel.label`)."""


@dataclass
class Done:
    """One article through the stages: its key, its cached segment output, and (later) its scores."""

    doc: RawDoc
    key: str
    seg: dict
    scores: list[dict] = field(default_factory=list)


def error_row(doc_id: str | None, stage: str, exc: BaseException | str) -> dict:
    if isinstance(exc, BaseException):
        text = str(exc) if isinstance(exc, PipelineError) else f"{type(exc).__name__}: {exc}"
    else:
        text = exc
    return {"id": doc_id, "stage": stage, "error": (text.strip().splitlines() or [""])[0][:2000]}


def duplicate_error(doc: RawDoc) -> dict:
    """The error row of a second article with an id already read (the first one is kept)."""
    return error_row(doc.id, "read",
                     f"duplicate id {doc.id!r} in {doc.source}: skipped, the first one is kept")


def triage(doc_id: str, key: str, done_keys: dict[str, set[str]], replaced_ids: set[str]) -> str:
    """What to do with an article read now, given the committed results: ``skip`` (its key is done),
    or redo it: ``keys`` (a stage key changed since its rows), ``content`` (its content changed), ``new``."""
    if key in done_keys.get(doc_id, ()):
        return "skip"
    if doc_id in replaced_ids:
        return "keys"
    return "content" if doc_id in done_keys else "new"


def check_config(config: RunConfig) -> None:
    """What a corpus run needs of the config, checked before any work."""
    if "segment" not in config.stages:
        raise ConfigError(
            f"stages {config.stages}: a corpus run writes one row per section, so it needs 'segment' "
            "(e.g. stages: [ingest, segment])"
        )


class Worker:
    """Runs the configured stages over batches of documents, reusing cached stage outputs."""

    def __init__(self, config: RunConfig, cache: StageCache, models: dict[str, str] | None = None) -> None:
        check_config(config)
        self.config = config
        self.cache = cache
        self.scoring = "score" in config.stages
        score = config.score
        models = models or {}
        self.tone_uri = models.get("tone", score.tone.model) if self.scoring and score.tone else None
        self.stance_uri = models.get("stance", score.stance.model) if self.scoring and score.stance else None
        self.targets: list = []
        if self.stance_uri:
            from pipeline.score.targets import targets_from_config

            self.targets = targets_from_config(score.stance.targets, score.stance.case_sensitive)
        self.resolved = self._resolve_models()
        self.keys = self._stage_keys()
        self.relevant = {"stages": sorted(config.stages)} | {stage: k.parts for stage, k in self.keys.items()}
        self.segment_hash = self.keys["segment"].digest
        self.tone_hash = self.keys["tone"].digest if "tone" in self.keys else config_digest(None)
        self.stance_hash = self.keys["stance"].digest if "stance" in self.keys else config_digest(None)
        self.run_hash = config_digest(self.relevant)
        self._models: dict[str, Any] = {}

    def _resolve_models(self) -> dict[str, Any]:
        """Each role's model resolved now (an alias to its version): what is loaded and keyed."""
        from pipeline.keys import resolve_model

        uris = {"tone": self.tone_uri, "stance": self.stance_uri}
        return {role: resolve_model(uri) for role, uri in uris.items() if uri}

    def _stage_keys(self) -> dict[str, Any]:
        """Each stage's key (`pipeline.keys`): what its results depend on, and nothing else (not the
        experiment, run name or store)."""
        from pipeline.keys import score_key, segment_key

        c = self.config
        keys = {"segment": segment_key(c.ingest.model_dump(mode="json"), c.segment.model_dump(mode="json"))}
        windows = {"max_length": c.score.max_length, "stride": c.score.stride}
        if "tone" in self.resolved:
            keys["tone"] = score_key("tone", self.resolved["tone"], windows)
        if "stance" in self.resolved:
            stance = c.score.stance
            keys["stance"] = score_key("stance", self.resolved["stance"], windows | {
                "targets": stance.targets, "case_sensitive": stance.case_sensitive,
                "context": stance.context, "mention_words": stance.mention_words})
        return keys

    def __getstate__(self) -> dict:
        """Shipped to Spark executors without the driver's cache and loaded models (each Python worker
        loads a model once, through `pipeline.score.models.load_resolved`)."""
        return self.__dict__ | {"cache": NullCache(), "_models": {}}

    # --- keys and schema ------------------------------------------------------------------------

    def article_key(self, doc: RawDoc) -> str:
        """The resume key: the article's id and content under this config (and code)."""
        return digest(doc.id, doc.format, doc.text, self.run_hash)

    def schema(self) -> Any:
        import pyarrow as pa

        from pipeline.score import STANCE_LABELS, TONE_LABELS

        types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
        fields = [(name, types[kind]) for name, kind in BASE_COLUMNS]
        if self.scoring:
            fields += [(MODEL_COLUMNS[role], pa.string()) for role in self.resolved]
            fields += [("n_tokens", pa.int64()), ("tone_label", pa.string())]
            fields += [(f"p_{label}", pa.float64()) for label in TONE_LABELS] + [("tone_score", pa.float64())]
            for target in self.targets:
                fields.append((f"{target.name}.stance_label", pa.string()))
                fields += [(f"{target.name}.p_{label}", pa.float64()) for label in STANCE_LABELS]
                fields += [(f"{target.name}.stance_score", pa.float64()),
                           (f"{target.name}.mentions", pa.int64())]
        return pa.schema(fields)

    # --- stages ---------------------------------------------------------------------------------

    def process(self, items: Sequence[tuple[RawDoc, str]]) -> tuple[list[Done], list[dict], list[dict]]:
        """One batch through every configured stage: the articles done, the error rows, the section rows."""
        done, errors = self.segment_batch(items)
        done, more = self.score_batch(done)
        return done, errors + more, self.rows(done)

    def segment_batch(self, items: Sequence[tuple[RawDoc, str]]) -> tuple[list[Done], list[dict]]:
        """Ingest and segment each document (or take the cached output); bad ones become error rows."""
        content = [digest(doc.format, doc.text) for doc, _ in items]
        cached = self.cache.get_many("segment", self.segment_hash, content)
        done: list[Done] = []
        errors: list[dict] = []
        for (doc, key), ckey in zip(items, content, strict=True):
            seg = cached.get(ckey)
            if seg is None:
                stage = "ingest"
                try:
                    article = ingest_stage.parse(doc, self.config.ingest)
                    stage = "segment"
                    seg = to_cache(segment_stage.segment_article(article, self.config.segment))
                except Exception as exc:  # one bad article never stops the run
                    errors.append(error_row(doc.id, stage, exc))
                    continue
                self.cache.put("segment", self.segment_hash, ckey, seg)
                cached[ckey] = seg
            done.append(Done(doc, key, seg))
        return done, errors

    def score_batch(self, done: list[Done]) -> tuple[list[Done], list[dict]]:
        """Score every section of the batch (cached by section text); an article that breaks the
        models is retried alone and, if it still fails, becomes an error row."""
        if not self.scoring or not done:
            return done, []
        try:
            self._score(done)
            return done, []
        except PipelineError:
            raise  # a model that cannot be used stops the run: it would fail every article
        except Exception:
            pass
        kept: list[Done] = []
        errors: list[dict] = []
        for item in done:
            try:
                self._score([item])
                kept.append(item)
            except PipelineError:
                raise
            except Exception as exc:
                errors.append(error_row(item.doc.id, "score", exc))
        return kept, errors

    def _model(self, role: str) -> Any:
        if role not in self._models:
            from pipeline.score import models as score_models

            cfg = self.config.score
            model = score_models.load_resolved(self.resolved[role], cfg.device)
            model.configure_windows(max_length=cfg.max_length, stride=cfg.stride, batch_size=cfg.batch_size)
            self._models[role] = model
        return self._models[role]

    def _score(self, done: list[Done]) -> None:
        from pipeline.score import SectionScore, StanceResult, section_text
        from pipeline.score.tables import section_rows

        sections = [(item, from_cache_section(i, s))
                    for item in done for i, s in enumerate(item.seg["sections"])]
        hashes = [digest(section_text(sec)) for _, sec in sections]
        unique = dict(zip(hashes, (sec for _, sec in sections), strict=True))
        tone = self._cached_scores("tone", self.tone_hash, unique) if self.tone_uri else {}
        stance = self._cached_scores("stance", self.stance_hash, unique) if self.stance_uri else {}
        for item in done:
            item.scores = []
        for (item, sec), h in zip(sections, hashes, strict=True):
            t, s = tone.get(h), stance.get(h)
            n_tokens = (t or s or {}).get("n_tokens", len(section_text(sec).split()))
            results = tuple(StanceResult(r["target"], r["mentions"], r["label"], r["probs"], r["reason"])
                            for r in (s or {}).get("stance", []))
            score = SectionScore(item.doc.id, sec.index, sec.heading, n_tokens, t and t["label"],
                                 t and t["probs"], results)
            row = section_rows([score])[0]
            item.scores.append({k: v for k, v in row.items() if k not in ("article_id", "index", "heading")})

    def _cached_scores(self, role: str, config_hash: str, unique: dict[str, Section]) -> dict[str, dict]:
        from pipeline.score import score_sections

        found = self.cache.get_many(role, config_hash, unique)
        missing = [h for h in unique if h not in found]
        if missing:
            segs = [Segmented(Article(h, None, None, ()), (unique[h],), "cache") for h in missing]
            if role == "tone":
                scores = score_sections(segs, self._model("tone"), None, [])
            else:
                stance = self.config.score.stance
                scores = score_sections(segs, None, self._model("stance"), self.targets,
                                        stance.context, stance.mention_words)
            for h, sc in zip(missing, scores, strict=True):
                if role == "tone":
                    value = {"n_tokens": sc.n_tokens, "label": sc.tone_label, "probs": sc.tone_probs}
                else:
                    value = {"n_tokens": sc.n_tokens, "stance": [
                        {"target": r.target, "mentions": r.mentions, "label": r.label, "probs": r.probs,
                         "reason": r.reason} for r in sc.stance]}
                self.cache.put(role, config_hash, h, value)
                found[h] = value
        return found

    # --- rows -----------------------------------------------------------------------------------

    def rows(self, done: list[Done]) -> list[dict]:
        rows = []
        for item in done:
            seg = item.seg
            for i, (heading, paragraphs) in enumerate(seg["sections"]):
                text = "\n\n".join(paragraphs)
                row = {"id": item.doc.id, "key": item.key, "title": seg["title"], "section_index": i,
                       "heading": heading, "n_paragraphs": len(paragraphs), "n_words": len(text.split()),
                       "method": seg["method"], "text": text}
                if self.scoring:
                    row |= {MODEL_COLUMNS[role]: m.label for role, m in self.resolved.items()}
                    row |= item.scores[i]
                rows.append(row)
        return rows


def to_cache(segmented: Segmented) -> dict:
    """What a corpus run keeps of an ingested, segmented article."""
    article = segmented.article
    return {
        "title": article.title,
        "standfirst": article.standfirst,
        "method": segmented.method,
        "n_dropped": len(article.dropped),
        "sections": [[s.heading, list(s.paragraphs)] for s in segmented.sections],
    }


def from_cache_section(index: int, item: list) -> Section:
    heading, paragraphs = item
    return Section(index, heading, tuple(paragraphs))
