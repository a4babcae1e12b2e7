#!/usr/bin/env python3
"""make_hf_bf16.py GOLDEN_DIR OUT -- how accurate transformers' own bfloat16
mode is on each golden case: the prefill logits of hf_run.py --dtype bfloat16
(weights and every activation in bf16, eager attention, 2 threads) against
the golden float32 logits (which hf_run.py --dtype float32 reproduces
bit-exactly).  Writes OUT/hf-bf16/reference.json:

  {"transformers": "...", "torch": "...", "cases": {"tiny-224/caption_chelsea":
     {"max_abs": .., "mean_abs": .., "kl": .., "greedy_ids_equal": n, ...}}}

KL is KL(golden ‖ bf16) of the softmax over the real vocabulary.  The C
engine's fast precision (bf16 products, f32 everywhere else) must be at least
as accurate (tests/test-golden-fast.c).  Run from the project root:

  ../shared/tools/refpy tests/data/gen/make_hf_bf16.py ../shared/golden OUT
  tar -C OUT -cJf tests/data/hf-bf16.tar.xz hf-bf16
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file

HF_RUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                      "..", "..", "shared", "tools", "hf_run.py")


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def main():
    golden, out = sys.argv[1], sys.argv[2]
    hf_run = os.path.abspath(HF_RUN)
    if not os.path.exists(hf_run):
        hf_run = os.path.join(os.path.dirname(os.path.abspath(golden)), "tools", "hf_run.py")
    cases = {}
    models = sorted(m for m in os.listdir(golden)
                    if os.path.isdir(os.path.join(golden, m, "cases")))
    for model in models:
        for case in sorted(os.listdir(os.path.join(golden, model, "cases"))):
            cdir = os.path.join(golden, model, "cases", case)
            meta = json.load(open(os.path.join(cdir, "case.json")))
            with tempfile.TemporaryDirectory() as tmp:
                dump = os.path.join(tmp, "bf16.safetensors")
                subprocess.run([sys.executable, hf_run, os.path.join(golden, model),
                                os.path.join(cdir, meta["image"]), meta["prompt"],
                                "--dtype", "bfloat16", "--threads", "2",
                                "--max-new-tokens", str(meta["n_generated"]),
                                "--dump", dump], check=True,
                               stdout=subprocess.DEVNULL)
                got = load_file(dump)
            want = load_file(os.path.join(cdir, "golden.safetensors"))
            g = want["prefill_logits_last"].reshape(-1).astype(np.float64)
            b = got["prefill_logits_last"].reshape(-1)[: g.shape[0]].astype(np.float64)
            p, q = softmax(g), softmax(b)
            ids = np.array(meta["generated_ids"])
            gen = got["generated_ids"][: len(ids)]
            diff = np.nonzero(gen != ids[: len(gen)])[0]
            cases[f"{model}/{case}"] = {
                "max_abs": float(np.abs(b - g).max()),
                "mean_abs": float(np.abs(b - g).mean()),
                "kl": float(np.sum(p * (np.log(p) - np.log(q)))),
                "greedy_ids_equal": int(diff[0]) if len(diff) else len(ids),
                "n_generated": len(ids),
            }
            print(model, case, cases[f"{model}/{case}"], file=sys.stderr)
    os.makedirs(os.path.join(out, "hf-bf16"), exist_ok=True)
    with open(os.path.join(out, "hf-bf16", "reference.json"), "w") as f:
        json.dump({"transformers": transformers.__version__,
                   "torch": torch.__version__,
                   "what": "transformers bfloat16 prefill logits vs the golden float32 ones",
                   "cases": cases}, f, indent=1, sort_keys=True)
    with open(os.path.join(out, "hf-bf16", "README.md"), "w") as f:
        f.write("# transformers' bfloat16 accuracy on the golden cases\n\n"
                "Made by `tests/data/gen/make_hf_bf16.py` (see its docstring): "
                "hf_run.py --dtype bfloat16 --threads 2 on every golden case; "
                "max/mean |prefill logit error| and KL(golden || bf16) against "
                "the golden float32 logits.  The engine's fast precision must "
                "be at least as accurate.\n")


main()
