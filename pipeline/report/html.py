"""A self-contained HTML report: the article, each section coloured by tone, stance beside it."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

from pipeline.records import Segmented
from pipeline.score import SectionScore

STYLE = """
body{font-family:Georgia,serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.45}
h1{margin-bottom:.2em} .standfirst{font-style:italic;color:#555;margin-top:0}
.section{display:grid;grid-template-columns:1fr 260px;gap:1em;border-radius:6px;
  padding:.8em 1em;margin:.8em 0}
.section h2{font-size:1.1em;margin:.1em 0 .4em} .meta{font-family:Helvetica,Arial,sans-serif;font-size:.82em}
.badge{display:inline-block;padding:.1em .45em;border-radius:4px;color:#fff;margin:.1em 0}
.against{background:#c0392b}.favor{background:#27ae60}.neutral{background:#7f8c8d}
.negative{background:#c0392b}.positive{background:#27ae60}.none{background:#bbb}
.target{margin:.25em 0} .legend{font-family:Helvetica,Arial,sans-serif;font-size:.85em;color:#555}
img{max-width:100%}
"""


def tone_background(score: float | None) -> str:
    """Red for negative, green for positive, paler toward neutral."""
    if score is None:
        return "#f4f4f4"
    alpha = min(abs(score), 1.0) * 0.35 + 0.04
    rgb = "192,57,43" if score < 0 else "39,174,96"
    return f"rgba({rgb},{alpha:.2f})"


def _stance_html(score: SectionScore) -> str:
    parts = []
    for r in score.stance:
        if r.score is None:
            parts.append(
                f'<div class="target">{html.escape(r.target)}: <span class="badge none">'
                f"{html.escape(r.reason or 'not scored')}</span></div>"
            )
        else:
            parts.append(
                f'<div class="target">{html.escape(r.target)}: <span class="badge {r.label}">{r.label}'
                f" {r.score:+.2f}</span> <small>({r.mentions} mention{'s' if r.mentions != 1 else ''})"
                "</small></div>"
            )
    return "".join(parts)


def render_report(segmented: Segmented, scores: Sequence[SectionScore], images: Sequence[Path] = ()) -> str:
    """The article with its sections in order; tone as background colour and badge, stance beside."""
    article = segmented.article
    by_index = {s.index: s for s in scores if s.article_id == article.id}
    out = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(article.title or article.id)}"
        f"</title><style>{STYLE}</style></head><body>"
    ]
    out.append(f"<h1>{html.escape(article.title or article.id)}</h1>")
    if article.standfirst:
        out.append(f'<p class="standfirst">{html.escape(article.standfirst)}</p>')
    out.append(
        '<p class="legend">Background: tone of the section (red negative, green positive, '
        "stronger colour = stronger tone). Right: tone probabilities and stance toward each target, "
        f"scored only where the section mentions it. Segmentation: {html.escape(segmented.method)}.</p>"
    )
    for section in segmented.sections:
        score = by_index.get(section.index)
        tone_score = score.tone_score if score else None
        out.append(f'<div class="section" style="background:{tone_background(tone_score)}"><div>')
        if section.heading:
            out.append(f"<h2>{html.escape(section.heading)}</h2>")
        out.extend(f"<p>{html.escape(p)}</p>" for p in section.paragraphs)
        out.append('</div><div class="meta">')
        out.append(f"<div>§{section.index}</div>")
        if score and score.tone_probs:
            probs = " · ".join(f"{k[:3]} {v:.2f}" for k, v in score.tone_probs.items())
            out.append(
                f'<div>tone: <span class="badge {score.tone_label}">{score.tone_label} '
                f"{tone_score:+.2f}</span></div><div><small>{probs}</small></div>"
            )
            out.append(f"<div><small>{score.n_tokens} tokens</small></div>")
        if score:
            out.append(_stance_html(score))
        out.append("</div></div>")
    for image in images:
        data = base64.b64encode(Path(image).read_bytes()).decode("ascii")
        out.append(f'<p><img alt="{html.escape(Path(image).stem)}" src="data:image/png;base64,{data}"></p>')
    out.append("</body></html>")
    return "\n".join(out)
