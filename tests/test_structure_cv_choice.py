"""How the article-structure cross-validation (`experiments/article-structure/cv.py`) chooses decoder
settings: the best objective among the settings that keep the bars, and, inside a nested search where
none does, the one closest to the bars rather than untuned defaults."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

CV_FILE = Path(__file__).resolve().parents[1] / "experiments" / "article-structure" / "cv.py"


@pytest.fixture(scope="module")
def cv():
    spec = importlib.util.spec_from_file_location("structure_cv", CV_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["structure_cv"] = module
    spec.loader.exec_module(module)
    return module


def _rows(dev_heading: float, silver_heading: float, invented: int, rules_invented: int = 10) -> list[dict]:
    """One dev page, one silver page with headings and one without, for the learned parser and the
    rules (the rules' figures fixed)."""
    rows = []
    for method, heading, made_up in (("learned", silver_heading, invented), ("rules", 0.4, rules_invented)):
        rows += [{"method": method, "kind": "silver", "body_f1": 0.9, "heading_f1": heading,
                  "n_gold_headings": 3, "n_pred_headings": 3, "failed": False},
                 {"method": method, "kind": "silver", "body_f1": 0.9, "heading_f1": 0.0,
                  "n_gold_headings": 0, "n_pred_headings": made_up, "failed": False}]
    rows.append({"method": "learned", "kind": "gold", "body_f1": 0.99, "heading_f1": dev_heading,
                 "n_gold_headings": 3, "n_pred_headings": 3, "failed": False})
    return rows


def test_the_best_setting_that_keeps_the_bars_wins_over_a_better_one_that_misses_them(cv) -> None:
    candidates = {"misses dev": _rows(0.85, 0.9, 2), "keeps": _rows(0.95, 0.6, 2),
                  "weaker": _rows(0.95, 0.5, 2), "invents": _rows(0.95, 0.8, 9)}  # 9 > 0.85 x 10 invented
    chosen = cv.best_of(candidates, lambda name: cv.choice_values(candidates[name], "bars"), verbose=False)
    assert chosen == "keeps"


def test_where_no_setting_keeps_the_bars_a_nested_search_takes_the_closest(cv) -> None:
    candidates = {"far": _rows(0.70, 0.9, 2), "close, invents": _rows(0.88, 0.8, 20),
                  "close": _rows(0.88, 0.5, 2), "closest on dev but invents": _rows(0.89, 0.7, 30)}
    values = lambda name: cv.choice_values(candidates[name], "bars")  # noqa: E731
    assert cv.best_of(candidates, values, verbose=False, fallback_ok=False) is None
    # the dev shortfall first (0.89 beats 0.88), then the silver one, then the objective
    assert cv.best_of(candidates, values, verbose=False) == "closest on dev but invents"
    del candidates["closest on dev but invents"]
    assert cv.best_of(candidates, values, verbose=False) == "close"
    assert cv.bar_shortfalls(candidates["close, invents"], "bars")[1] == pytest.approx((20 - 8.5) / 10)


def test_the_heading_gain_interval_resamples_site_groups(cv) -> None:
    def row(method: str, page: str, heading: float) -> dict:
        return {"method": method, "kind": "silver", "page": page, "heading_f1": heading, "n_gold_headings": 2}

    pages = [f"p{i}" for i in range(8)]
    learned = [row("learned", p, 0.5 + 0.05 * i) for i, p in enumerate(pages)]
    rules = [row("rules", p, 0.4) for p in pages]
    groups = {p: f"g{i // 2}" for i, p in enumerate(pages)}
    gain, low, high = cv.heading_gain_interval(learned, rules, groups)
    assert gain == pytest.approx(0.1 + 0.05 * 3.5)
    assert 0.1 < low < gain < high < 0.1 + 0.05 * 7
    # the same gain on every page: no spread
    flat = [row("learned", p, 0.6) for p in pages]
    assert cv.heading_gain_interval(flat, rules, groups) == pytest.approx((0.2, 0.2, 0.2))
