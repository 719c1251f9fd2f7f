#!/usr/bin/env bash
# After setup.sh in the call that carries .dev/p2 (wheels and data installed, piece 0 kept in $G/pieces):
# MiniLM is whole in the first piece of the encoders' tar. Unpack it, train the example tone model on CUDA and
# bench it there: the CUDA paths of `pipeline train` and `pipeline bench` checked before the long run.
set -uo pipefail
G=${G:-/tmp/g}
export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MLFLOW_DISABLE_TELEMETRY=true
export MLFLOW_TRACKING_URI=sqlite:///$G/calib/mlflow.db PIPELINE_CACHE=$G/cache
mkdir -p "$G/calib/minilm"
tar xf "$G/pieces/encs.part0" -C "$G/calib/minilm" all-MiniLM-L6-v2 2>/dev/null  # MiniLM is whole in piece 0
python3 - "$G/calib/minilm" <<'PY'
import sys
from pathlib import Path
from safetensors.torch import load_file, save_file
for f in Path(sys.argv[1]).rglob("*.safetensors"):
    t = load_file(str(f))
    save_file({k: v.float() if v.is_floating_point() else v for k, v in t.items()}, str(f), metadata={"format": "pt"})
PY
start=$(date +%s.%N)
python3 -m pipeline train configs/train/example-tone.yaml --set model.encoder=$G/calib/minilm/all-MiniLM-L6-v2 \
  --set model.device=cuda --set reuse=false --set tracking.artifact_root=$G/calib/artifacts 2>&1 \
  | tr '\r' '\n' | grep -v "^\s*$" | grep -v "^metrics" | tail -n 6
python3 -c "import sys, time; print(f'example training on CUDA: {time.time() - float(sys.argv[1]):.1f} s')" "$start"
python3 -c "import mlflow; r = mlflow.search_runs(experiment_names=['train-example']).iloc[0]; print({k: r[k] for k in r.index if k.startswith('params.train.') or k in ('metrics.dev.macro_f1', 'metrics.train.seconds')})"
python3 -m pipeline bench --model models:/example-tone@champion --n 200 --device cuda --shared $G/data --json 2>&1 | tail -n 1 | cut -c1-900
