#!/usr/bin/env bash
# On the GPU machine, from the repository root: install the carried wheels, unpack the data and the
# encoders (carried as bf16 pieces in .dev/p2..p6), and turn the weights back into fp32 for training.
# Idempotent: each step is skipped when done. See NOTES.md.
set -euo pipefail
G=${G:-/tmp/g}
mkdir -p "$G"
if [ ! -f /tmp/site/.done ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .dev/p1/whl/*.whl
  touch /tmp/site/.done
fi
export PYTHONPATH=/tmp/site
if [ ! -d "$G/data/datasets" ]; then
  mkdir -p "$G/data" && tar xzf .dev/p1/data.tar.gz -C "$G/data" && mv "$G/data/shared/datasets" "$G/data/datasets"
fi
if [ ! -d "$G/data/articles" ] && [ -f .dev/p1/articles.tar.gz ]; then
  tar xzf .dev/p1/articles.tar.gz -C "$G/data"
fi
if [ ! -f "$G/models/.done" ] && [ -f .dev/p6/encs.sha ]; then
  # each call's carried folder is gone at the next call: pieces 0-3 were copied to $G/pieces as they came
  cat "$G"/pieces/encs.part0 "$G"/pieces/encs.part1 "$G"/pieces/encs.part2 "$G"/pieces/encs.part3 \
    .dev/p6/encs.part4 > "$G/encs.tar"
  (cd "$G" && echo "$(cut -d' ' -f1 "$OLDPWD/.dev/p6/encs.sha")  encs.tar" | sha256sum -c --quiet)
  mkdir -p "$G/models" && tar xf "$G/encs.tar" -C "$G/models" && rm "$G/encs.tar"
  python3 - "$G/models" <<'PY'
import sys
from pathlib import Path
from safetensors.torch import load_file, save_file
for f in Path(sys.argv[1]).rglob("*.safetensors"):  # carried in bf16: back to fp32 to train from
    t = load_file(str(f))
    save_file({k: v.float() if v.is_floating_point() else v for k, v in t.items()}, str(f), metadata={"format": "pt"})
PY
  touch "$G/models/.done"
fi
python3 -c "import torch, mlflow, datasets, pydantic, transformers; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'mlflow', mlflow.__version__, 'datasets', datasets.__version__, 'transformers', transformers.__version__)"
