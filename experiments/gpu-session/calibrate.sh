#!/usr/bin/env bash
# Second call on the GPU machine (wheels and data installed by setup.sh, .dev/p2 carried): MiniLM is
# whole in the first piece of the encoders' tar; unpack it, and time a real training on CUDA (a
# quarter epoch of all six tone sources: steps/s, dev check, registration) and run the device tests.
set -uo pipefail
G=${G:-/tmp/g}
export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MLFLOW_DISABLE_TELEMETRY=true
export MLFLOW_TRACKING_URI=sqlite:///$G/calib/mlflow.db PIPELINE_CACHE=$G/cache
mkdir -p "$G/calib/minilm"
tar xf .dev/p2/encs.part0 -C "$G/calib/minilm" all-MiniLM-L6-v2 2>/dev/null
python3 - "$G/calib/minilm" <<'PY'
import sys
from pathlib import Path
from safetensors.torch import load_file, save_file
for f in Path(sys.argv[1]).rglob("*.safetensors"):
    t = load_file(str(f))
    save_file({k: v.float() if v.is_floating_point() else v for k, v in t.items()}, str(f), metadata={"format": "pt"})
PY
start=$(date +%s.%N)
python3 -m pipeline train experiments/tone-sources/minilm-all-sources.yaml --set data.root=$G/data/datasets \
  --set model.encoder=$G/calib/minilm/all-MiniLM-L6-v2 --set model.device=cuda --set model.epochs=0.25 \
  --set model.eval_every=0 --set reuse=false --set tracking.artifact_root=$G/calib/artifacts 2>&1 \
  | tr '\r' '\n' | grep -v "^\s*$" | tail -n 12
python3 -c "import sys, time; print(f'calibration training: {time.time() - float(sys.argv[1]):.1f} s')" "$start"
python3 -m pytest -q -p no:cacheprovider tests/test_device.py 2>&1 | tail -n 3
