"""Where the scorer's time goes, and what the alternatives buy, on the benchmark's own windows.

    python experiments/scoring-speed/probe.py [--model URI] [--n 300] [--int8] [--compile]

Prints fp32 GEMM GFLOP/s (the machine's ceiling), then tokens/s of the model's forward pass by batching
(fixed batch sizes and token budgets), and optionally dynamic int8 and torch.compile with their label
agreement against fp32. Reads ../shared like `pipeline bench`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from pipeline.bench import build_sections, shared_documents
from pipeline.models.classifier import token_batches
from pipeline.score.models import load_classifier


def gemm_gflops(dtype: torch.dtype, repeats: int = 10) -> float:
    a, b = torch.randn(4096, 384, dtype=dtype), torch.randn(384, 1536, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * 4096 * 384 * 1536 * repeats / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models:/tone@champion")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--int8", action="store_true")
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()

    print(
        f"threads {torch.get_num_threads()}, fp32 GEMM {gemm_gflops(torch.float32):.0f} GFLOP/s, "
        f"bf16 GEMM {gemm_gflops(torch.bfloat16, 2):.1f} GFLOP/s"
    )
    clf = load_classifier(args.model)
    texts = build_sections(clf.tokenizer, shared_documents(Path("../shared")), args.n)
    items = [t[s:e] for t in texts for s, e, _ in clf.windows(t)]
    enc = clf.encode(items, [None] * len(items))
    lengths = [len(x) for x in enc["input_ids"]]
    total = sum(lengths)
    print(f"{len(items)} windows, {total} tokens, window {clf.max_length}")

    def forward(model, batches) -> tuple[float, np.ndarray]:
        out = np.zeros((len(items), len(clf.labels)), np.float32)
        start = time.perf_counter()
        with torch.inference_mode():
            for idx in batches:
                features = [{k: enc[k][j] for k in enc} for j in idx]
                batch = clf.tokenizer.pad(features, pad_to_multiple_of=8, return_tensors="pt")
                out[idx] = model(**batch).logits.float().numpy()
        return total / (time.perf_counter() - start), out

    plans = {f"batch {b}": token_batches(lengths, b, 10**9) for b in (1, 8, 16, 32, 64)}
    plans |= {f"{t} tokens": token_batches(lengths, 256, t) for t in (1024, 2048, 4096)}
    forward(clf.model, plans["batch 32"])  # warm-up
    rates: dict[str, list[float]] = {}
    for _ in range(3):
        for name, batches in plans.items():
            rates.setdefault(name, []).append(forward(clf.model, batches)[0])
    for name, values in rates.items():
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"  fp32 {name:12s} {np.median(values):7.0f} tokens/s (runs {runs})")

    _, reference = forward(clf.model, plans["2048 tokens"])
    variants = {}
    if args.int8:
        from torch.ao.quantization import quantize_dynamic

        variants["dynamic int8"] = quantize_dynamic(clf.model, {torch.nn.Linear}, dtype=torch.qint8)
    if args.compile:
        start = time.perf_counter()
        compiled = torch.compile(clf.model, dynamic=True)
        forward(compiled, plans["2048 tokens"])
        print(f"  torch.compile: first pass {time.perf_counter() - start:.0f} s")
        variants["torch.compile"] = compiled
    for name, model in variants.items():
        rate, out = forward(model, plans["2048 tokens"])
        agree = float(np.mean(out.argmax(1) == reference.argmax(1)))
        print(f"  {name:17s} {rate:7.0f} tokens/s, window labels agree with fp32 on {agree:.4f}")


if __name__ == "__main__":
    main()
