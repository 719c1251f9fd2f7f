"""The screenshots in this folder: the pages a researcher opens after two `pipeline run`s.

    pipeline ui --config configs/default.yaml --port 5077 &      # on the store of the two runs
    PYTHONPATH=/path/to/playwright python experiments/mlflow-ui/screenshots.py \
        http://127.0.0.1:5077 sqlite:///mlflow.db experiments/mlflow-ui/screenshots

Finds the experiment `news-tone-stance`, its two latest parent runs and `example-tone@champion`,
then shoots (see NOTES.md): the runs table (its "Models" cell opened), the compare view, one run page,
the section tables side by side (the Evaluation view), the model version page, and the version's
source model page at its "Runs" list. The MLflow Assistant side panel, which opens by default, is
closed first so the page gets the width.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import mlflow

sys.path.insert(0, str(Path(__file__).parent))
from shoot import shoot  # noqa: E402 - the sibling script

VIEW = "workflowType=machine_learning"


def close_assistant(page: Any) -> None:
    """Click the Assistant panel's close button (aria-label "Close", in the top right corner)."""
    with contextlib.suppress(Exception):
        for button in page.get_by_role("button", name="Close", exact=True).all():
            box = button.bounding_box()
            if box and box["x"] > 1000 and box["y"] < 80:
                button.click(timeout=5000)
                return


def compare_column(column: str) -> Any:
    """In the Evaluation view, compare the tables on ``column``."""

    def step(page: Any) -> None:
        with contextlib.suppress(Exception):
            page.get_by_role("combobox").filter(has_text="Compare").first.click(timeout=5000)
        with contextlib.suppress(Exception):
            page.get_by_text("Compare:", exact=False).first.click(timeout=5000)
            page.get_by_role("option", name=column, exact=True).first.click(timeout=5000)

    return step


def diff_only(page: Any) -> None:
    """In the compare view: show only the parameters and the metrics that differ."""
    with contextlib.suppress(Exception):
        for toggle in page.get_by_text("Show diff only", exact=True).all()[:2]:
            toggle.click(timeout=5000)


def open_models_cell(page: Any) -> None:
    """In the runs table: open the first run's "+1" in the Models column, listing all its versions."""
    with contextlib.suppress(Exception):
        page.locator('[col-id="attributes.`Models`"]').get_by_text("+1", exact=True).first.click(timeout=5000)


def scroll_to_runs(page: Any) -> None:
    """On a logged model's page: bring its "Runs" list (the runs its metrics came from) into view."""
    with contextlib.suppress(Exception):
        page.get_by_text("Runs", exact=True).last.scroll_into_view_if_needed(timeout=5000)


def main(base: str, store: str, out: Path) -> None:
    client = mlflow.MlflowClient(store)
    experiment = client.get_experiment_by_name("news-tone-stance").experiment_id
    parents = [r for r in client.search_runs([experiment], order_by=["attributes.start_time DESC"])
               if "mlflow.parentRunId" not in r.data.tags][:2]
    first, second = sorted(parents, key=lambda r: r.info.start_time)
    version = client.get_model_version_by_alias("example-tone", "champion")
    runs = f'["{first.info.run_id}","{second.info.run_id}"]'
    source = client.get_logged_model(version.source.removeprefix("models:/"))  # its "Source Model"
    pages = [
        ("1-experiment-runs", f"#/experiments/{experiment}/runs?{VIEW}"),
        ("2-compare-runs", f"#/compare-runs?runs={runs}&experiments=[\"{experiment}\"]&{VIEW}"),
        ("3-run-page", f"#/experiments/{experiment}/runs/{first.info.run_id}?{VIEW}"),
        ("4-section-tables", f"#/experiments/{experiment}/runs?{VIEW}&compareRunsMode=ARTIFACT"),
        ("5-model-version", f"#/models/example-tone/versions/{version.version}?{VIEW}"),
        ("6-source-model-runs", f"#/experiments/{source.experiment_id}/models/{source.model_id}?{VIEW}"),
    ]
    actions = {name: [close_assistant] for name, _ in pages}
    actions["4-section-tables"].append(compare_column("scores"))
    actions["2-compare-runs"].append(diff_only)
    actions["1-experiment-runs"].append(open_models_cell)
    actions["6-source-model-runs"].append(scroll_to_runs)
    shoot(base, out, pages, actions=actions)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
