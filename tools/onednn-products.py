#!/usr/bin/env python3
"""onednn-products.py TOKENS K:M [K:M ...] [--copies C] [--repeat R]
       [--threads T]

Times torch's bfloat16 linear (oneDNN's AMX matmul on CPUs that have it)
on products of TOKENS rows: x (TOKENS, K) times each of C weight matrices
(M, K) in turn, so that the weights come from memory as a model's do.
Two ways: the weights as a checkpoint holds them (what transformers runs),
and reordered ahead into oneDNN's own blocked layout (the best the library
offers).  Prints one JSON object per line: k, m, ms (median per product)
and TFLOP/s for each way.  Run through ../shared/tools/refpy (development
use; tools/products-vs-onednn.sh puts it next to palilens-kernel-bench).
"""
import argparse
import json
import time

import torch


def median_ms(fn, weights, repeat):
    for w in weights:  # first calls: oneDNN builds its kernels
        fn(w)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for w in weights:
            fn(w)
        times.append((time.perf_counter() - t) / len(weights))
    times.sort()
    return times[len(times) // 2] * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tokens", type=int)
    ap.add_argument("shapes", nargs="+", help="K:M")
    ap.add_argument("--copies", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    reorder = getattr(torch.ops.mkldnn, "_reorder_linear_weight", None)
    for shape in a.shapes:
        k, m = (int(v) for v in shape.split(":"))
        x = torch.randn(a.tokens, k, dtype=torch.bfloat16)
        ws = [
            torch.randn(m, k, dtype=torch.bfloat16) * 0.02
            for _ in range(a.copies)
        ]
        flop = 2.0 * a.tokens * k * m
        out = {"tokens": a.tokens, "k": k, "m": m, "copies": a.copies}
        ms = median_ms(lambda w: torch.nn.functional.linear(x, w), ws,
                       a.repeat)
        out["plain_ms"] = ms
        out["plain_tflops"] = flop / ms / 1e9
        if reorder is not None:
            packed = [reorder(w, a.tokens) for w in ws]
            ms = median_ms(
                lambda p: torch.ops.mkldnn._linear_pointwise(
                    x, p, None, "none", [None], ""),
                packed, a.repeat)
            out["prepacked_ms"] = ms
            out["prepacked_tflops"] = flop / ms / 1e9
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
