"""Run a session's trainings, distillations and benches on a GPU machine within a fixed time budget.

A GPU is lent to some sessions for minutes, with no network and no project dependencies installed; the
session copies wheels, the public data and the encoders' weights over first (see NOTES.md). This script
then runs, in one command:

1. phase ``train``: the trainings of `PLAN` at once, each in its own process and MLflow store (a GPU
   fits them together; an H200 is idle most of a small-batch step);
2. phase ``distill``: the students, each in its teacher's store, after the teachers;
3. phase ``bench``: teacher against student on the GPU, one bench at a time (timings alone on the GPU);
4. packs every store, summary and log into ``$OUT/results.tar.gz``; the students' weights (bf16) come
   back split into files under 16 MB.

Every phase has a deadline: each training gets ``model.max_minutes`` to fit it (at the limit it stops,
keeps its best state, evaluates and registers), a job still running at the deadline is stopped, and
what finished always comes back.

    python experiments/gpu-session/drive.py --work /tmp/g --models /tmp/g/models --data .dev/shared \
        --budget 460 [--tiny]

``--tiny`` (CPU, here): the same plan with MiniLM as every encoder, a few steps each and a small copy of
the data: checks the plan end to end before device time is spent on it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Job:
    name: str
    config: str
    overrides: list[str] = field(default_factory=list)
    store: str = ""
    """Name of the MLflow store (default: the job's name); a distillation uses its teacher's."""
    encoder: str = "mpnet"
    """Which carried encoder replaces `model.encoder`: mpnet or minilm."""


PHASE_ENDS = (0.50, 0.80)
"""Fractions of the budget at which the trainings, then the students, must be done."""
TRAIN_OVERHEAD = 75
"""Seconds a training spends outside its training loop: loading, the last dev check, logging the model."""

TONE = "experiments/tone-sources/"
MINILM_2EP = ["model.epochs=2", "model.eval_every=200"]
PLAN = [
    # issue 19: the tone champion's recipe (PerSenT dev only since session 19, decided on the CPU pair at
    # one epoch) at two epochs with checks, and its pair with PerSenT's paragraphs trained on
    Job("tone-mpnet", "configs/train/tone.yaml", []),
    Job("tone-mpnet-definition", TONE + "mpnet-definition-dev.yaml", []),
    Job("tone-minilm-no-persent", TONE + "minilm-no-persent.yaml", MINILM_2EP, encoder="minilm"),
    Job("tone-minilm-definition", TONE + "minilm-definition-dev.yaml", MINILM_2EP, encoder="minilm"),
    # issue 17: the stance teacher, the project's stance recipe
    Job("stance-mpnet", "configs/train/stance.yaml", ["model.eval_every=300"]),
]
STUDENT = ["model.epochs=2", "model.eval_every=400"]
"""Two passes over the texts (the tone config says 1: a CPU budget)."""
TONE_TEACHERS = ["tone-mpnet"]
"""The distillation config reads configs/train/tone.yaml's sources: its teacher is that config's model."""


def env_for(work: Path, store: str) -> dict[str, str]:
    env = dict(os.environ)
    site = env.get("PYTHONPATH", "")
    env.update(
        PYTHONPATH=f"{REPO}:{site}" if site else str(REPO),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        MLFLOW_DISABLE_TELEMETRY="true",
        PIPELINE_CACHE=str(work / "cache"),
        MLFLOW_TRACKING_URI=f"sqlite:///{work / 'stores' / store / 'mlflow.db'}",
        PYTHONUNBUFFERED="1",
    )
    return env


TRAIN_SNIPPET = (
    "import json, sys; from pipeline.training.api import train_from_config; "
    "s = train_from_config(sys.argv[1], sys.argv[3:]); "
    "json.dump(s, open(sys.argv[2], 'w'), default=str, indent=1)"
)


def start(job: Job, work: Path, models: Path, data: Path, tiny: bool, device: str,
          minutes: float) -> subprocess.Popen:
    store = job.store or job.name
    (work / "stores" / store).mkdir(parents=True, exist_ok=True)
    encoder = models / ("all-MiniLM-L6-v2" if tiny or job.encoder == "minilm" else "all-mpnet-base-v2")
    overrides = [
        f"data.root={data / 'datasets'}",
        f"model.encoder={encoder}",
        f"model.device={device}",
        "model.threads=2",
        "model.checkpoint_minutes=0",
        f"tracking.artifact_root={work / 'stores' / store / 'artifacts'}",
        "reuse=false",
        f"model.max_minutes={max(minutes, 0.2):.2f}",
        *job.overrides,
    ]
    if "stance" in job.config:
        overrides.append(f"model.relatedness_gate={encoder}")
    elif job.name.startswith("tone-") and job.name != "tone-fast":
        overrides.append("register.name=tone")  # each in its own store: the teacher is models:/tone@champion
    if tiny:
        overrides += ["model.epochs=0.02", "model.eval_every=0"]
    log = open(work / "logs" / f"{job.name}.log", "w")  # noqa: SIM115 - closed with the process
    summary = work / "summaries" / f"{job.name}.json"
    cmd = [sys.executable, "-c", TRAIN_SNIPPET, job.config, str(summary), *overrides]
    print(f"[{time.strftime('%H:%M:%S')}] start {job.name}", flush=True)
    return subprocess.Popen(cmd, cwd=REPO, env=env_for(work, store), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_all(procs: dict[str, subprocess.Popen], deadline: float) -> dict[str, int | None]:
    """Wait until all end or the deadline; then SIGINT (a training keeps and registers its best), kill."""
    while time.time() < deadline and any(p.poll() is None for p in procs.values()):
        time.sleep(2)
    late = [n for n, p in procs.items() if p.poll() is None]
    for name in late:
        print(f"[{time.strftime('%H:%M:%S')}] deadline: interrupting {name}", flush=True)
        os.killpg(procs[name].pid, signal.SIGINT)
    grace = time.time() + 45
    while time.time() < grace and any(p.poll() is None for p in procs.values()):
        time.sleep(1)
    for name, p in procs.items():
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        print(f"[{time.strftime('%H:%M:%S')}] {name}: exit {p.returncode}", flush=True)
    return {n: p.returncode for n, p in procs.items()}


def summary_of(work: Path, name: str) -> dict | None:
    path = work / "summaries" / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def best_teacher(work: Path, names: list[str]) -> str | None:
    scored = [(s["metrics"].get("dev.mean.macro_f1", -1), n) for n in names if (s := summary_of(work, n))]
    return max(scored)[1] if scored else None


def pack(work: Path, out: Path, students: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out / "results.tar.gz", "w:gz") as tar:
        for sub in ("summaries", "logs"):
            tar.add(work / sub, arcname=sub)
        for db in sorted((work / "stores").glob("*/mlflow.db")):
            tar.add(db, arcname=f"stores/{db.parent.name}/mlflow.db")
    for name in students:
        pack_pieces(work, out, name)


def pack_pieces(work: Path, out: Path, name: str) -> None:
    """A classifier folder of ``work/students`` as a tar in pieces of 15 MB (files come back up to 16 MB)."""
    folder = work / "students" / name
    if not folder.is_dir():
        return
    out.mkdir(parents=True, exist_ok=True)
    archive = work / f"{name}.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(folder, arcname=name)
    data = archive.read_bytes()
    piece = 15 * 1024 * 1024
    for i in range(0, len(data), piece):
        (out / f"{name}.part{i // piece}").write_bytes(data[i : i + piece])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--models", type=Path, required=True,
                        help="folder with all-MiniLM-L6-v2/ and all-mpnet-base-v2/")
    parser.add_argument("--data", type=Path, required=True,
                        help="folder holding datasets/ (a copy of ../shared)")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "/tmp/g-out")))
    parser.add_argument("--budget", type=float, default=460, help="seconds for the whole script")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--only", nargs="*", help="run only these plan jobs (names)")
    args = parser.parse_args()
    t0 = time.time()
    work = args.work
    for sub in ("logs", "summaries", "stores", "students"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    plan = [j for j in PLAN if not args.only or j.name in args.only]

    # phase 1: trainings together
    minutes = (args.budget * PHASE_ENDS[0] - TRAIN_OVERHEAD) / 60
    procs = {j.name: start(j, work, args.models, args.data, args.tiny, args.device, minutes) for j in plan}
    wait_all(procs, t0 + args.budget * PHASE_ENDS[0])

    # phase 2: students, each in its teacher's store
    teacher = best_teacher(work, [n for n in TONE_TEACHERS if n in procs])
    articles = args.data / "articles"
    cut = work / "corpus-cut.yaml"  # the corpus is cut as a run would; its topic encoder is the carried one
    cut.write_text(f"segment:\n  topics:\n    model: {args.models / 'all-MiniLM-L6-v2'}\n", encoding="utf-8")
    corpus = f"distill.corpus=[{articles}]" if articles.is_dir() else "reuse=false"
    student = [*STUDENT, corpus, f"distill.run_config={cut}"]
    distills = []
    if teacher:
        distills.append(Job("tone-fast", "configs/distill/tone.yaml", student, store=teacher,
                            encoder="minilm"))
    if summary_of(work, "stance-mpnet"):
        distills.append(Job("stance-fast", "configs/distill/stance.yaml", student, store="stance-mpnet",
                            encoder="minilm"))
    distills = [d for d in distills if (REPO / d.config).is_file()]
    minutes = (t0 + args.budget * PHASE_ENDS[1] - time.time() - TRAIN_OVERHEAD) / 60
    procs = {d.name: start(d, work, args.models, args.data, args.tiny, args.device, minutes)
             for d in distills}
    wait_all(procs, t0 + args.budget * PHASE_ENDS[1])

    # phase 3: benches, one at a time, on the dev splits of the configs (one file per source)
    for d in distills:
        devsets = [sys.executable, "-c", DEVSETS_SNIPPET, d.config, str(args.data / "datasets"),
                   str(work / "devsets" / d.name)]
        subprocess.run(devsets, cwd=REPO, env=env_for(work, d.store), timeout=120, check=False)
    for d in distills:
        teacher_uri = "models:/tone@champion" if d.name == "tone-fast" else "models:/stance@champion"
        student_uri = f"models:/{d.name}@champion"
        if not summary_of(work, d.name):
            continue
        files = sorted((work / "devsets" / d.name).glob("*.jsonl"))
        dev = [x for f in files for x in ("--dev", f"{f.stem}={f}")]
        cmd = [sys.executable, "-m", "pipeline", "bench", "--model", teacher_uri, "--model", student_uri,
               "--n", "60" if args.tiny else "1000", "--device", args.device, "--shared", str(args.data),
               *dev, "--json"]
        remaining = t0 + args.budget * 0.95 - time.time()
        if remaining < 20:
            break
        with open(work / "logs" / f"bench-{d.name}.log", "w") as log:
            try:
                subprocess.run(cmd, cwd=REPO, env=env_for(work, d.store), stdout=log,
                               stderr=subprocess.STDOUT, timeout=remaining)
            except subprocess.TimeoutExpired:
                print(f"bench {d.name}: out of time", flush=True)
        for uri, name in ((student_uri, d.name), (teacher_uri, f"{d.name}-teacher")):
            export = [sys.executable, "-c", EXPORT_SNIPPET, uri, str(work / "students" / name)]
            subprocess.run(export, cwd=REPO, env=env_for(work, d.store), timeout=60, check=False)

    # phase 4: a corpus run with the teachers, then with the students (folders: the two tasks' models
    # live in different stores)
    exported = work / "students"
    pairs = {"teachers": ("tone-fast-teacher", "stance-fast-teacher"),
             "students": ("tone-fast", "stance-fast")}
    articles = args.data / "articles"
    for label, (tone, stance) in pairs.items():
        remaining = t0 + args.budget * 0.97 - time.time()
        if remaining < 30 or not articles.is_dir() or not (exported / tone).is_dir():
            break
        sets = [f"score.tone.model={exported / tone}", "score.tone.train=null",
                f"segment.topics.model={args.models / 'all-MiniLM-L6-v2'}", f"score.device={args.device}"]
        if (exported / stance).is_dir():
            sets += [f"score.stance.model={exported / stance}", "score.stance.train=null"]
        else:
            sets += ["score.stance=null"]
        cmd = [sys.executable, "-m", "pipeline", "run", "configs/default.yaml", "--input", str(articles),
               "--output", str(work / f"corpus-{label}"), *[x for s in sets for x in ("--set", s)]]
        began = time.time()
        with open(work / "logs" / f"corpus-{label}.log", "w") as log:
            try:
                code = subprocess.run(cmd, cwd=REPO, env=env_for(work, "corpus"), stdout=log,
                                      stderr=subprocess.STDOUT, timeout=remaining).returncode
            except subprocess.TimeoutExpired:
                code = "timeout"
            print(f"corpus {label}: exit {code} in {time.time() - began:.1f} s", file=log, flush=True)

    pack(work, args.out, [d.name for d in distills][:1])  # 64 MB come back a call: one student
    for d in distills:  # the rest wait on the machine, for `--fetch` calls while it is warm
        pack_pieces(work, work / "fetch", d.name)
        pack_pieces(work, work / "fetch", f"{d.name}-teacher")
    print(f"done in {time.time() - t0:.0f} s", flush=True)
    return 0


DEVSETS_SNIPPET = (  # a config's dev split, one JSONL per source (text, label; target for stance)
    "import sys; from pathlib import Path; from pipeline.config import load_config; "
    "from pipeline.training.config import TrainConfig; from pipeline.training.data import load_splits; "
    "c = load_config(sys.argv[1], [f'data.root={sys.argv[2]}'], model=TrainConfig); "
    "dev = load_splits(c).dev; out = Path(sys.argv[3]); out.mkdir(parents=True, exist_ok=True); "
    "cols = ['text', 'target', 'label'] if c.task == 'stance' else ['text', 'label']; "
    "[g[cols].to_json(out / f'{name}.jsonl', orient='records', lines=True, force_ascii=False) "
    "for name, g in dev.groupby('source')]"
)

EXPORT_SNIPPET = (  # a registered classifier's folder, its weights in bf16 (half the bytes to carry back)
    "import sys, mlflow, shutil; from pathlib import Path; "
    "from pipeline.models.mlflow_model import classifier_folder; "
    "from safetensors.torch import load_file, save_file; "
    "local = mlflow.artifacts.download_artifacts(sys.argv[1]); "
    "shutil.copytree(classifier_folder(local), sys.argv[2], dirs_exist_ok=True); "
    "[save_file({k: v.bfloat16() if v.is_floating_point() else v for k, v in load_file(f).items()}, f, "
    "metadata={'format': 'pt'}) for f in map(str, Path(sys.argv[2]).rglob('*.safetensors'))]"
)

if __name__ == "__main__":
    shutil.which("nvidia-smi") and subprocess.run(["nvidia-smi", "-L"], check=False)
    sys.exit(main())
