"""What the MLflow UI shows of our runs: the experiment kind, lineage, tables, model pages, quiet output.

The commands run as subprocesses (``python -m pipeline``) on tiny models: a few steps of MiniLM for tone,
TF-IDF for stance, trained by `pipeline train` itself so that its stderr is checked too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.articles import SCRAPED_WITH_HEADINGS

REPO = Path(__file__).resolve().parents[1]
ARTICLE = SCRAPED_WITH_HEADINGS.replace(
    "Opponents argued that the money",
    "Turkish engineers praised the design, while Iranian officials criticised it. "
    "Opponents argued that the money",
)
WARNING_TEXT = re.compile(r"warn|deprecat|Successfully registered|Created version|CloudPickle", re.IGNORECASE)


def pipeline_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` with this checkout first on the path."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=900)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """A store with `ui-tone` (MiniLM, a few steps) and `ui-stance` (TF-IDF), trained by `pipeline train`."""
    root = tmp_path_factory.mktemp("ui-store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    common = ["--set", f"tracking.uri={uri}", "--set", f"tracking.artifact_root={root / 'art'}",
              "--set", f"data.root={REPO / 'pipeline' / 'data' / 'train'}"]
    tone = pipeline_cli("train", str(REPO / "configs/train/example-tone.yaml"), *common,
                        "--set", "register.name=ui-tone", "--set", "model.epochs=0.2",
                        "--set", "model.max_length=32", "--set", "model.batch_size=32", cwd=root)
    assert tone.returncode == 0, tone.stderr[-3000:]
    stance = pipeline_cli("train", str(REPO / "configs/train/example-stance.yaml"), *common,
                          "--set", "register.name=ui-stance", "--set", "model.kind=baseline", cwd=root)
    assert stance.returncode == 0, stance.stderr[-3000:]
    article = root / "ferry.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    return {"root": root, "uri": uri, "article": article, "train_stderr": [tone.stderr, stance.stderr]}


def write_config(store: dict, name: str, tone_model: str = "models:/ui-tone@champion") -> Path:
    config = {
        "experiment": "ui-test",
        "stages": ["ingest", "segment", "score"],
        "segment": {"method": "headings"},
        "score": {
            "tone": {"model": tone_model},
            "stance": {
                "model": "models:/ui-stance@champion",
                "targets": {"Iran": ["Iranian"], "Turkey": ["Turkish"]},
            },
        },
        "tracking": {"uri": store["uri"], "artifact_root": str(store["root"] / "art")},
    }
    path = store["root"] / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def scored(store) -> dict:
    """One `pipeline run` of the article with both models; its stderr and the parent run."""
    import mlflow

    config = write_config(store, "run")
    done = pipeline_cli("run", str(config), "--input", str(store["article"]), cwd=store["root"])
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = re.search(r"run id:\s+(\w+)", done.stdout).group(1)
    client = mlflow.MlflowClient(store["uri"])
    return {"stderr": done.stderr, "stdout": done.stdout, "run": client.get_run(run_id), "client": client}


def test_pipeline_train_and_run_print_no_warnings(store, scored):
    for stderr in [*store["train_stderr"], scored["stderr"]]:
        found = [line for line in stderr.splitlines() if WARNING_TEXT.search(line)]
        assert not found, found


def test_every_experiment_is_marked_as_model_training(store, scored):
    client = scored["client"]
    run = scored["run"]  # and `pipeline run` points at the run's page in the model-training view
    page = f"/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}?workflowType=machine_learning"
    assert page in scored["stdout"]
    for name in ("ui-test", "train-example"):
        assert client.get_experiment_by_name(name).tags["mlflow.experimentKind"] == "custom_model_development"


def test_an_existing_experiment_gets_the_tag_on_its_next_run(tmp_path):
    import mlflow

    from pipeline import tracking
    from pipeline.config import TrackingConfig

    config = TrackingConfig(uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "art"))
    tracking.connect(config)
    old = mlflow.create_experiment("older", artifact_location=(tmp_path / "art").as_uri())
    assert "mlflow.experimentKind" not in mlflow.get_experiment(old).tags
    assert tracking.experiment_id("older", config) == old
    assert mlflow.get_experiment(old).tags["mlflow.experimentKind"] == "custom_model_development"


def test_a_scoring_run_lists_its_dataset_and_model_versions(store, scored):
    from pipeline.lineage import content_digest, logged_model_id

    run, client = scored["run"], scored["client"]
    [dataset_input] = run.inputs.dataset_inputs
    dataset = dataset_input.dataset
    assert dataset.name == "ferry.txt" and dataset.digest == content_digest(store["article"])
    assert json.loads(dataset.source)["uri"] == str(store["article"].resolve())
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "scoring"
    versions = {r: client.get_model_version_by_alias(f"ui-{r}", "champion") for r in ("tone", "stance")}
    used = {m.model_id for m in run.inputs.model_inputs}
    logged = {logged_model_id(v, "") for v in versions.values()}  # the classifiers, as logged in training
    assert logged <= used and all(m.startswith("m-") for m in used)
    references = {m.model_id: m for m in client.search_logged_models([run.info.experiment_id])}
    shown = {references[m].tags["pipeline.registered_version"] for m in used - logged}  # what the UI lists
    assert shown == {f"ui-{r}/{v.version}" for r, v in versions.items()}
    assert {references[m].source_run_id for m in used - logged} == {run.info.run_id}
    for role, version in versions.items():
        assert run.data.tags[f"model.{role}.version"] == f"ui-{role}/{version.version}"
        assert version.tags["last_used_by_run"] == run.info.run_id
    assert run.data.tags["mlflow.source.git.commit"] and run.data.tags["code.version"].startswith("0.")
    note = run.data.tags["mlflow.note.content"]  # the run page's description says the same in words
    assert "`ferry.txt`" in note and f"tone `ui-tone/{versions['tone'].version}`" in note


def test_the_runs_table_shows_the_model_versions_a_run_scored_with(store, scored):
    """The runs table's "Models" column (MLflow 3.17 UI): the models of the run's experiment whose source
    run is the row's run, shown as the versions in their ``mlflow.modelVersions`` tag; the stage runs
    use their parent's, so each run has one per version."""
    run, client = scored["run"], scored["client"]
    experiment, run_id = run.info.experiment_id, run.info.run_id
    mine = client.search_logged_models([experiment], filter_string=f"source_run_id = '{run_id}'")
    shown = [(v["name"], v["version"]) for m in mine for v in json.loads(m.tags["mlflow.modelVersions"])]
    versions = {r: client.get_model_version_by_alias(f"ui-{r}", "champion") for r in ("tone", "stance")}
    assert sorted(shown) == sorted((f"ui-{r}", str(v.version)) for r, v in versions.items())
    assert all(m.tags["mlflow.model.isExternal"] == "true" for m in mine)
    [score] = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{run_id}' and "
                                               "attributes.run_name = 'score'")
    score = client.get_run(score.info.run_id)  # a searched run comes without its model inputs
    assert {m.model_id for m in score.inputs.model_inputs} == {m.model_id for m in run.inputs.model_inputs}


def test_a_versions_source_model_lists_the_runs_that_scored_with_it(store, scored):
    """The version page links its LoggedModel ("Source Model"); that model's page lists as "Runs" the
    runs its metrics came from, with their dataset: the run's tone metrics are the tone model's."""
    from pipeline.lineage import content_digest, logged_model_id

    run, client = scored["run"], scored["client"]
    digest = content_digest(store["article"])
    for role in ("tone", "stance"):
        version = client.get_model_version_by_alias(f"ui-{role}", "champion")
        assert version.source == f"models:/{logged_model_id(version, '')}"  # what "Source Model" opens
        model = client.get_logged_model(logged_model_id(version, ""))
        linked = {m.key: m for m in model.metrics if m.run_id == run.info.run_id}
        assert set(linked) == {k for k in run.data.metrics if k.startswith(f"{role}.")} != set()
        assert all(linked[k].value == run.data.metrics[k] for k in linked)
        assert {(m.dataset_name, m.dataset_digest) for m in linked.values()} == {("ferry.txt", digest)}


def test_the_section_table_is_logged_for_the_ui(store, scored):
    import mlflow

    run = scored["run"]
    logged = json.loads(run.data.tags["mlflow.loggedArtifacts"])
    assert {"path": "sections_table.json", "type": "table"} in logged
    path = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="sections_table.json",
                                               tracking_uri=store["uri"], dst_path=str(store["root"] / "dl"))
    table = pd.read_json(path, orient="split")
    assert list(table["section"]) == ["ferry §0", "ferry §1", "ferry §2"]
    for column in ("heading", "tone_label", "tone_score", "Iran.stance_label", "n_words", "text"):
        assert column in table.columns
    for key in ("tone.mean_score", "stance.Iran.mean_score", "segment.n_sections"):
        assert key in run.data.metrics  # article-level metrics, same names in every run


def test_a_model_version_carries_description_figures_and_signature(store, scored):
    import mlflow

    client = scored["client"]
    version = client.get_model_version_by_alias("ui-tone", "champion")
    assert "Labels: negative, neutral, positive" in version.description
    assert "**Dev:** macro_f1" in version.description
    assert float(version.tags["dev.macro_f1"]) >= 0 and "dev.accuracy" in version.tags
    assert version.run_id  # the version page links its training run
    mlflow.set_tracking_uri(store["uri"])
    info = mlflow.models.get_model_info("models:/ui-tone@champion")
    assert [c["name"] for c in info.signature.inputs.to_dict()] == ["text", "target"]
    assert "tone" in client.get_registered_model("ui-tone").description.lower()


def test_a_downloaded_model_folder_scores_like_the_registered_model(store, scored, tmp_path):
    """`mlflow artifacts download` of models:/NAME@ALIAS, then `score.tone.model: <folder>`."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": store["uri"]}
    folder = tmp_path / "tone-model"
    done = subprocess.run([sys.executable, "-m", "mlflow", "artifacts", "download", "--artifact-uri",
                           "models:/ui-tone@champion", "--dst-path", str(folder)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (folder / "MLmodel").is_file()
    config = write_config(store, "folder", tone_model=str(folder))
    again = pipeline_cli("run", str(config), "--input", str(store["article"]), cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    import mlflow

    client = scored["client"]
    run_id = re.search(r"run id:\s+(\w+)", again.stdout).group(1)

    def tone(run_id: str) -> pd.Series:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="sections_table.json",
                                                   tracking_uri=store["uri"], dst_path=str(tmp_path / run_id))
        return pd.read_json(path, orient="split")["tone_score"]

    pd.testing.assert_series_equal(tone(run_id), tone(scored["run"].info.run_id))
    assert "model.tone.version" not in client.get_run(run_id).data.tags  # a folder is no registered version


def test_a_downloaded_folder_registers_in_another_store(store, scored, tmp_path):
    """The README's recipe: log the folder to a run in the other store, register it, score from it."""
    import mlflow

    from pipeline.models.mlflow_model import load_classifier_from_uri

    folder = Path(mlflow.artifacts.download_artifacts("models:/ui-tone@champion", tracking_uri=store["uri"],
                                                      dst_path=str(tmp_path / "tone-model")))
    other = f"sqlite:///{tmp_path / 'other.db'}"
    mlflow.set_tracking_uri(other)
    try:
        experiment = mlflow.create_experiment("import", artifact_location=(tmp_path / "art").as_uri())
        with mlflow.start_run(experiment_id=experiment) as run:
            mlflow.log_artifacts(str(folder), "model")
        version = mlflow.register_model(f"runs:/{run.info.run_id}/model", "tone")
        moved = load_classifier_from_uri(f"models:/tone/{version.version}")
    finally:
        mlflow.set_tracking_uri(store["uri"])
    original = load_classifier_from_uri(str(folder))
    texts = ["The ferry plan is a disaster.", "The council approved the budget."]
    assert (moved.predict_proba(texts, None) == original.predict_proba(texts, None)).all()


def test_debug_shows_what_normal_use_keeps_quiet(tmp_path):
    article = tmp_path / "ferry.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    config = tmp_path / "segment.yaml"
    config.write_text(yaml.safe_dump({"stages": ["ingest", "segment"], "segment": {"method": "headings"}}))
    store = ["--set", f"tracking.artifact_root={tmp_path / 'art'}"]
    quiet = pipeline_cli("run", str(config), "--input", str(article), *store,
                         "--set", f"tracking.uri=sqlite:///{tmp_path / 'a.db'}", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    loud = pipeline_cli("--debug", "run", str(config), "--input", str(article), *store,  # a new store
                        "--set", f"tracking.uri=sqlite:///{tmp_path / 'b.db'}", cwd=tmp_path)
    assert loud.returncode == 0 and "INFO mlflow" in loud.stderr, loud.stderr[-2000:]


def test_a_corpus_run_logs_its_corpus_and_a_stable_sample_of_sections(tmp_path):
    import mlflow

    from pipeline.lineage import content_digest
    from tests.tools.corpus_testing import run, sections, write_config
    from tests.tools.make_corpus import write_corpus

    store = tmp_path / "store"
    config = write_config(tmp_path, store, extra="  table_rows: 25\n")
    corpus = write_corpus(tmp_path / "c.jsonl", 20, "jsonl")
    client = mlflow.MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    tables = []
    for out in ("a", "b"):
        result = run(config, corpus, tmp_path / out, batch_size=8)
        parent = client.get_run(result.run_id)
        [dataset_input] = parent.inputs.dataset_inputs
        assert dataset_input.dataset.name == "c.jsonl"
        assert dataset_input.dataset.digest == content_digest(corpus)
        path = mlflow.artifacts.download_artifacts(run_id=result.run_id, artifact_path="sections_table.json",
                                                   tracking_uri=f"sqlite:///{store / 'mlflow.db'}",
                                                   dst_path=str(tmp_path / f"dl-{out}"))
        tables.append(pd.read_json(path, orient="split"))
    assert 0 < len(tables[0]) <= 25 and "key" not in tables[0].columns
    assert list(tables[0]["section"]) == list(tables[1]["section"])  # the same articles in every run
    every = sections(tmp_path / "a").groupby("id").size()
    sampled = tables[0].groupby("article_id").size()
    assert (sampled == every[sampled.index]).all()  # whole articles, never part of one
