#!/usr/bin/env bash
# On the GPU machine, from the repository root, in EVERY call (each carries one of .dev/p1 ... .dev/p6,
# see NOTES.md): a carried folder is gone at the next call, so what it holds is moved out of the checkout
# at once. p1: the wheels (installed into /tmp/site) and the data (unpacked into $G/data); p2-p6: the five
# pieces of the encoders' tar (bf16), kept in $G/pieces; once all five are there they are joined, checked,
# unpacked into $G/models and turned back into fp32 for training. Each step runs once.
set -euo pipefail
G=${G:-/tmp/g}
mkdir -p "$G/pieces"
if [ -d .dev/p1/whl ] && [ ! -f /tmp/site/.done ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .dev/p1/whl/*.whl
  touch /tmp/site/.done
fi
export PYTHONPATH=/tmp/site
if [ -f .dev/p1/data.tar.gz ] && [ ! -d "$G/data/datasets" ]; then
  mkdir -p "$G/data" && tar xzf .dev/p1/data.tar.gz -C "$G/data" && mv "$G/data/shared/datasets" "$G/data/datasets"
fi
if [ -f .dev/p1/articles.tar.gz ] && [ ! -d "$G/data/articles" ]; then
  tar xzf .dev/p1/articles.tar.gz -C "$G/data"
fi
for piece in .dev/p[2-6]/encs.*; do
  [ -e "$piece" ] && cp "$piece" "$G/pieces/"
done
[ -f .dev/p6/encs.sha ] && cp .dev/p6/encs.sha "$G/pieces/"
if [ ! -f "$G/models/.done" ] && [ -f "$G/pieces/encs.sha" ] && [ "$(ls "$G"/pieces/encs.part* | wc -l)" -eq 5 ]; then
  cat "$G"/pieces/encs.part0 "$G"/pieces/encs.part1 "$G"/pieces/encs.part2 "$G"/pieces/encs.part3 \
    "$G"/pieces/encs.part4 > "$G/encs.tar"
  (cd "$G" && echo "$(cut -d' ' -f1 pieces/encs.sha)  encs.tar" | sha256sum -c --quiet)
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
echo "pieces: $(ls "$G/pieces" | tr '\n' ' ')  models: $(ls "$G/models" 2>/dev/null | tr '\n' ' ')"
python3 -c "import torch, mlflow, datasets, pydantic, transformers; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'mlflow', mlflow.__version__, 'datasets', datasets.__version__, 'transformers', transformers.__version__)"
