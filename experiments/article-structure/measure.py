"""Shared by cv.py and heldout.py: parse a labelled page with a method and score it against its labels."""

from __future__ import annotations

import numpy as np

from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.evaluation.segmentation import bag_f1, body_text, heading_f1, normalize_heading
from pipeline.ingest import RawDoc, parse
from pipeline.ingest.line_model import DecisionRule, LineModel, learned_labels, parse_plain_text_learned
from pipeline.ingest.line_training import LabelledPage
from pipeline.ingest.scripts import count_words
from pipeline.ingest.text import parsed_from_labels
from pipeline.records import Article
from pipeline.segment import segment_article

CONFIG = load_config(None)
EMPTY = {"title": None, "standfirst": None, "sections": [], "dropped": []}


def parse_with(page: LabelledPage, method: str, model: LineModel | None = None,
               probabilities: np.ndarray | None = None, decision: DecisionRule | None = None,
               labels: list[str] | None = None) -> dict | None:
    """The segmented page (headings method) as `pipeline segment --json` gives it; None on failure.

    `rules`: the plain-text rules; `learned`: the line labels given, or the line model given (else the
    shipped one), or its probabilities for the page's lines already computed, with a decision rule.
    """
    try:
        if method == "learned" and (labels is not None or probabilities is not None):
            if labels is None:
                labels = learned_labels(page.verdicts, probabilities, decision)
            parsed = parsed_from_labels(page.verdicts.lines, labels)
        elif method == "learned":
            parsed = parse_plain_text_learned(page.text, model=model)
        if method == "learned":
            if not any(b.kind == "paragraph" for b in parsed.blocks):
                return None
            article = Article(page.id, parsed.title, parsed.standfirst, tuple(parsed.blocks),
                              tuple(parsed.dropped), page.id, "text")
        else:
            config = CONFIG.ingest.model_copy(update={"text_parser": "rules"})
            article = parse(RawDoc(page.id, page.text, "text", page.id), config)
        return segment_article(article, CONFIG.segment, "headings").to_json_dict()
    except PipelineError:
        return None


def miss_kind(heading: str, gold_paragraphs: list[str]) -> str:
    """Why a heading might be hard: the kinds of miss named in issue 14."""
    letters = [c for c in heading if c.isalpha()]
    if letters and all(c.isupper() for c in letters if c.isupper() or c.islower()) and any(
        c.isupper() for c in letters
    ):
        return "capitals"
    if any(sym in heading for sym in "$€£¥₹") or any(ch.isdigit() for ch in heading[-6:]):
        return "listing"
    if count_words(heading) <= 2:
        return "one-two words"
    if gold_paragraphs and heading.rstrip().endswith("."):
        return "full stop"
    return "other"


def page_figures(page: LabelledPage, out: dict | None) -> dict:
    """Body F1, heading P/R/F1 and counts of one parsed page against its labels."""
    failed = out is None
    out = out or EMPTY
    predicted = [s["heading"] for s in out["sections"] if s["heading"]]
    gold_headings = list(page.gold.get("headings", []))
    _, _, body = bag_f1(body_text(out), page.body_text)
    hp, hr, hf = heading_f1(predicted, gold_headings)
    gold_norm = {normalize_heading(h) for h in gold_headings}
    pred_norm = {normalize_heading(h) for h in predicted}
    missed = [h for h in gold_headings if normalize_heading(h) not in pred_norm]
    extra = [h for h in predicted if normalize_heading(h) not in gold_norm]
    kinds = [f"missed:{miss_kind(h, page.gold.get('paragraphs', []))}" for h in missed]
    kinds += ["invented:short line" if count_words(h) <= 6 else "invented:longer line" for h in extra]
    return {"body_f1": body, "heading_p": hp, "heading_r": hr, "heading_f1": hf,
            "n_gold_headings": len(gold_headings), "n_pred_headings": len(predicted),
            "failed": failed, "missed": missed, "extra": extra, "miss_kinds": kinds}
