"""The plots a reader looks at: tone per section, and stance of sections toward targets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.score import SectionScore

TONE_COLOURS = {"negative": "#c0392b", "neutral": "#95a5a6", "positive": "#27ae60"}


def section_label(score: SectionScore, width: int = 38) -> str:
    heading = score.heading or ("(lead)" if score.index == 0 else "(no heading)")
    short = heading if len(heading) <= width else heading[: width - 1] + "…"
    return f"§{score.index} {short}"


def tone_bar_chart(scores: Sequence[SectionScore], path: Path, title: str = "") -> Path:
    """Horizontal bars of tone score (p_positive − p_negative) per section, in reading order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = [s for s in scores if s.tone_probs]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(scored) + 1.4))
    y = list(range(len(scored)))
    ax.barh(y, [s.tone_score for s in scored], color=[TONE_COLOURS[s.tone_label] for s in scored])
    ax.set_yticks(y, [section_label(s) for s in scored])
    ax.invert_yaxis()
    ax.set_xlim(-1, 1)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("tone score = p(positive) − p(negative)")
    ax.set_title(title or "Tone per section")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in TONE_COLOURS.values()]
    ax.legend(handles, list(TONE_COLOURS), loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def stance_heatmap(scores: Sequence[SectionScore], path: Path, title: str = "") -> Path:
    """Sections × targets coloured by stance score; cells of sections that never mention the target are
    left grey and marked '–'."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    targets = [r.target for r in scores[0].stance] if scores else []
    grid = np.full((len(scores), len(targets)), np.nan)
    for i, s in enumerate(scores):
        for j, r in enumerate(s.stance):
            if r.score is not None:
                grid[i, j] = r.score
    fig, ax = plt.subplots(figsize=(1.3 * len(targets) + 4, 0.45 * len(scores) + 1.6))
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#e5e5e5")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(targets)), targets, rotation=30, ha="right")
    ax.set_yticks(range(len(scores)), [section_label(s) for s in scores])
    for i, s in enumerate(scores):
        for j, r in enumerate(s.stance):
            text = "–" if r.score is None else f"{r.label}\n{r.score:+.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, label="stance score = p(favor) − p(against)")
    ax.set_title(title or "Stance per section and target")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
