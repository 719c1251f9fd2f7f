"""The Spark engine: the same config gives the local engine's table, errors and MLflow run on Spark.

The fast tests start one ``local[2]`` session for the module (the engine uses a session that exists,
as it would in a notebook) and stop it at the end. The kill -9 test starts its own driver and is slow.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.tools.corpus_testing import (
    assert_clean_layout,
    client,
    errors,
    kill_after_parts,
    run,
    sections,
    write_config,
)
from tests.tools.make_corpus import articles

REPO = Path(__file__).resolve().parents[1]
N = 50


def _spark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return bool(os.environ.get("JAVA_HOME") or shutil.which("java"))


needs_spark = pytest.mark.skipif(not _spark_available(), reason='needs pip install -e ".[spark]" and Java 17')


@pytest.fixture(scope="module")
def spark():
    """One local[2] session for the module, stopped at the end (nothing is left running)."""
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("pipeline-tests")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.pyspark.python", sys.executable)
               .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    from pyspark import SparkContext

    from pipeline.corpus.spark import stop_session

    jvm = SparkContext._gateway.proc
    stop_session(session)
    assert jvm.poll() is not None, "the JVM is still running"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("store")


def tiny_stance(folder: Path) -> Path:
    """A TF-IDF + logistic regression stance model on the labelled set the project ships, as a folder."""
    from pipeline.models.classifier import BaselineClassifier
    from pipeline.score import STANCE_LABELS

    lines = (REPO / "pipeline" / "data" / "train" / "stance.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    model = BaselineClassifier(list(STANCE_LABELS), "stance")
    model.fit([r["text"] for r in rows], [r["label"] for r in rows], [r["target"] for r in rows])
    model.save(folder)
    return folder


def corpus_with_bad_rows(path: Path) -> Path:
    """50 synthetic articles in a Parquet file, with an empty text, a duplicate id, a row without an id
    (a good article: ``row-25``), an oversized text and an HTML page with no article between them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"id": i, "text": t, "html": None} for i, t in articles(N)]
    nav = "<html><body><nav><a href='/'>Home</a></nav><footer>(c) Example</footer></body></html>"
    bad = [{"id": "empty", "text": "   ", "html": None},
           {"id": "a000003", "text": rows[4]["text"], "html": None},
           {"id": None, "text": rows[5]["text"].replace("(5)", "(no id)"), "html": None},
           {"id": "huge", "text": "word " * 50_000, "html": None},
           {"id": "nav-only", "text": None, "html": nav}]
    for offset, row in enumerate(bad):
        rows.insert(10 + 7 * offset, row)
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("html", pa.string())])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=16)
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory, store):
    """A config scoring tone with a registered tiny model and stance with a folder model; the corpus."""
    from tests.tools.tiny_models import register_tiny, tiny_tone

    tmp = tmp_path_factory.mktemp("spark")
    register_tiny(store, "spark-tone", tiny_tone())
    stance = tiny_stance(tmp / "stance")
    cfg = write_config(tmp, store, "ingest:\n  max_bytes: 200000\n"
                                   "score:\n  tone:\n    model: models:/spark-tone@champion\n"
                                   f"  stance:\n    model: {stance}\n    targets: {{Farmers: [Teachers]}}\n"
                                   "engine:\n  articles_per_job: 20\n  partitions: 2\n")
    return cfg, corpus_with_bad_rows(tmp / "corpus.parquet")


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["id", "section_index"]).reset_index(drop=True)


def assert_same_rows(spark_rows: pd.DataFrame, local_rows: pd.DataFrame) -> None:
    """Same columns in the same order, same ids, sections, text, headings, labels; probabilities 1e-4."""
    assert list(spark_rows.columns) == list(local_rows.columns)
    a, b = _sorted(spark_rows), _sorted(local_rows)
    assert len(a) == len(b)
    floats = [c for c in a.columns if a[c].dtype.kind == "f"]
    assert floats, "no probability columns: the score stage did not run"
    others = [c for c in a.columns if c not in floats]
    pd.testing.assert_frame_equal(a[others], b[others])
    assert np.allclose(a[floats].to_numpy(float), b[floats].to_numpy(float), atol=1e-4, equal_nan=True)


@needs_spark
def test_spark_run_equals_local_run_errors_mlflow_and_resume(spark, store, setup, tmp_path):
    import pyarrow.parquet as pq

    cfg, corpus = setup
    stages = "stages=[ingest, segment, score]"
    local = run(cfg, corpus, tmp_path / "local", stages)
    started = time.perf_counter()
    result = run(cfg, corpus, tmp_path / "spark", stages, "engine.kind=spark")
    spark_seconds = time.perf_counter() - started
    out = tmp_path / "spark"

    # the same table, row for row, and the same schema in every part file
    assert (result.done, result.skipped, result.failed) == (local.done, 0, local.failed) == (N + 1, 0, 4)
    assert_same_rows(sections(out), sections(tmp_path / "local"))
    local_schema = pq.read_schema(next((tmp_path / "local" / "sections").glob("part-*.parquet")))
    for part in (out / "sections").glob("part-*.parquet"):
        assert pq.read_schema(part).remove_metadata() == local_schema.remove_metadata()
    assert_clean_layout(out)
    assert not (out / "sections" / "_temporary").exists()

    # bad rows: the same reasons, in the same order
    assert errors(out).to_dict("records") == errors(tmp_path / "local").to_dict("records")
    assert {"empty", "a000003", "huge", "nav-only"} <= set(errors(out)["id"])
    assert "duplicate id 'a000003'" in errors(out).set_index("id").loc["a000003", "error"]

    # one parent run with the engine's params and throughput; executors start no runs
    parent = client(store).get_run(result.run_id)
    assert parent.info.status == "FINISHED"
    params, metrics = parent.data.params, parent.data.metrics
    assert params["engine"] == "spark" and params["spark.master"] == "local[2]"
    assert params["spark.partitions"] == "2" and params["spark.session"] == "existing"
    assert int(params["spark.executors"]) >= 1
    assert metrics["spark.jobs"] == 3  # 55 rows, 20 per job
    assert metrics["articles_per_s"] > 0 and metrics["sections_per_s"] > 0
    assert (metrics["n_done"], metrics["n_failed"]) == (N + 1, 4)
    # each Python worker loaded each of the two models once, and the workers served every task
    assert 0 < metrics["spark.python_workers"] <= 2
    assert metrics["spark.model_loads"] <= 2 * metrics["spark.python_workers"]
    experiment = parent.info.experiment_id
    runs = client(store).search_runs([experiment], f"tags.output = '{out}'")
    assert [r.info.run_id for r in runs] == [result.run_id]
    print(f"spark: {spark_seconds:.1f} s for {N} articles")

    # a rerun skips every committed article, on either engine (they read each other's parts)
    again = run(cfg, corpus, out, stages, "engine.kind=spark")
    assert (again.done, again.skipped) == (0, N + 1)
    assert (run(cfg, corpus, out, stages).skipped) == N + 1
    assert len(sections(out)) == len(sections(tmp_path / "local"))


@needs_spark
def test_uncommitted_spark_output_is_invisible_and_cleared(spark, store, tmp_path):
    """What a killed Spark job leaves (task files under sections/_temporary) is no result: readers do not
    see it, and the next run over the folder removes it and does the articles."""
    cfg = write_config(tmp_path, store, "engine:\n  kind: spark\n")
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in articles(6)))
    out = tmp_path / "out"
    stray = out / "sections" / "_temporary" / "0" / "_temporary" / "attempt_1" / "part-00000-x.snappy.parquet"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"PAR1 half a file")
    assert sections(out).empty  # not a part: readers skip names starting with "_"
    result = run(cfg, corpus, out)
    assert result.done == 6 and not (out / "sections" / "_temporary").exists()
    assert sections(out)["id"].nunique() == 6
    assert_clean_layout(out)


@needs_spark
def test_a_model_the_executors_cannot_load_fails_the_run_with_one_line(spark, store, tmp_path):
    """A model folder that resolves on the driver but does not load: the job stops (it would fail every
    article), the run is FAILED with the executor's error, and no part file is visible."""
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "README").write_text("not a model")
    cfg = write_config(tmp_path, store, f"score:\n  tone:\n    model: {broken}\n  stance: null\n"
                                        "engine:\n  kind: spark\n")
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in articles(4)))
    out = tmp_path / "out"
    from pipeline.errors import EngineError

    with pytest.raises(EngineError, match=r"^a Spark job failed: \w+(Error|Exception): ") as caught:
        run(cfg, corpus, out, "stages=[ingest, segment, score]")
    assert "\n" not in str(caught.value)
    state = json.loads((out / ".run.json").read_text())
    failed = client(store).get_run(state["mlflow_run_id"])
    assert failed.info.status == "FAILED" and "a Spark job failed" in failed.data.tags["error"]
    assert sections(out).empty


def test_spark_without_pyspark_or_java_says_how_to_install(tmp_path, store, monkeypatch):
    from pipeline.corpus import spark as engine
    from pipeline.errors import EngineError

    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(EngineError, match=r'needs pyspark: install it with pip install -e "\.\[spark\]"'):
        engine.check_spark()
    monkeypatch.undo()
    pytest.importorskip("pyspark")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    monkeypatch.setattr("pyspark.sql.SparkSession.getActiveSession", staticmethod(lambda: None))
    with pytest.raises(EngineError, match="needs Java 17.*apt-get install -y openjdk-17-jre-headless"):
        engine.check_spark()

    # through the CLI: one line, exit 2, before any run starts
    cfg = write_config(tmp_path, store)
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": "A title\n\nSome text here."}) + "\n")
    proc = subprocess.run([sys.executable, "-m", "pipeline", "run", str(cfg), "--input", str(corpus),
                           "--output", str(tmp_path / "out"), "--engine", "spark"],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(REPO), "JAVA_HOME": str(tmp_path / "no-java")})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: engine spark needs Java 17, and no java was found (JAVA_HOME or PATH): install it with "
        "apt-get install -y openjdk-17-jre-headless"]


def test_engine_config_and_flag_are_checked(tmp_path, store):
    from pipeline import api
    from pipeline.config import load_config
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="engine.kind"):
        load_config(None, ["engine.kind=flink"])
    with pytest.raises(ConfigError, match="engine.partitions"):
        load_config(None, ["engine.partitions=0"])
    article = tmp_path / "one.txt"
    article.write_text("A title\n\nSome text here.\n")
    with pytest.raises(ConfigError, match="engine spark runs corpora"):
        api.run(str(write_config(tmp_path, store)), [], str(article), engine="spark")


@pytest.mark.slow
@needs_spark
def test_kill_9_of_the_spark_driver_then_rerun_has_every_article_once(tmp_path, store):
    from tests.tools.make_corpus import write_corpus

    n = 400
    cfg = write_config(tmp_path, store, "engine:\n  kind: spark\n  articles_per_job: 50\n")
    corpus = write_corpus(tmp_path / "c.parquet", n, "parquet")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pipeline", "run", str(cfg), "--input", str(corpus), "--output",
               str(out), "--set", "engine.master=local[2]"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = kill_after_parts(command, out, 4, tmp_path, env, timeout=240, poll=0.05)  # two jobs committed
    assert code == -signal.SIGKILL, "the run ended before it could be killed"
    before = sections(out)["id"].nunique()
    assert 0 < before < n
    result = run(cfg, corpus, out)
    assert (result.skipped, result.done) == (before, n - before)
    rows = sections(out)
    assert rows["id"].nunique() == n and not rows.duplicated(["id", "section_index"]).any()
    assert_clean_layout(out)
    clean = run(cfg, corpus, tmp_path / "clean", "engine.kind=local")
    assert len(rows) == clean.sections
    killed = client(store).get_run(client(store).get_run(result.run_id).data.tags["resumes"])
    assert killed.info.status == "KILLED"
