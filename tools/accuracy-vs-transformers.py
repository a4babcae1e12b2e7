#!/usr/bin/env python3
"""accuracy-vs-transformers.py MODEL_DIR IMAGE [PROMPT] [--skip-hf] [--out DIR]

How far each PaliLens precision and weight format is from exact, next to
how far transformers' own bfloat16 is from its float32 (development use;
run from the project root, where build/app/palilens-cli is).

Runs palilens-cli --dump on the image with exact precision, fast precision
(bf16 products), fast with 8-bit and with 4-bit weights, and
../shared/tools/hf_run.py --dump in float32 and bfloat16 (eager
attention), then compares the last prefill position's logits over the real
vocabulary (they depend on the prompt only, so every run sees the same
input): max and mean |logit difference| and KL(reference || run) of the
softmax, against PaliLens exact and against transformers float32; and
whether the greedy ids agree.  Pure Python (no numpy): safetensors read
with struct/array.
"""
import argparse
import array
import json
import math
import os
import struct
import subprocess
import sys
import tempfile


def read_safetensors(path, names):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name in names:
            e = header.get(name)
            if e is None:
                continue
            a, b = e["data_offsets"]
            f.seek(base + a)
            raw = f.read(b - a)
            if e["dtype"] == "F32":
                v = array.array("f")
            elif e["dtype"] == "I64":
                v = array.array("q")
            else:
                raise SystemExit(f"{path}: {name} is {e['dtype']}")
            v.frombytes(raw)
            out[name] = v
        return out


def compare(ref, got, vocab):
    ref, got = ref[:vocab], got[:vocab]
    diffs = [abs(a - b) for a, b in zip(ref, got)]
    mr, mg = max(ref), max(got)
    zr = sum(math.exp(x - mr) for x in ref)
    zg = sum(math.exp(x - mg) for x in got)
    kl = 0.0
    for a, b in zip(ref, got):
        lr = a - mr - math.log(zr)
        lg = b - mg - math.log(zg)
        kl += math.exp(lr) * (lr - lg)
    return max(diffs), sum(diffs) / len(diffs), kl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("image")
    ap.add_argument("prompt", nargs="?", default="caption en")
    ap.add_argument("--new-tokens", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-hf", action="store_true")
    ap.add_argument("--out", help="keep the dumps here")
    args = ap.parse_args()
    os.makedirs("build", exist_ok=True)
    out = args.out or tempfile.mkdtemp(dir=os.path.abspath("build"),
                                       prefix="accuracy.")
    os.makedirs(out, exist_ok=True)
    runs = {}
    for name, extra in [("palilens-exact", ["--precision", "exact"]),
                        ("palilens-fast", ["--precision", "fast"]),
                        ("palilens-fast-q8", ["--precision", "fast", "--weights", "q8"]),
                        ("palilens-fast-q4", ["--precision", "fast", "--weights", "q4"])]:
        dump = os.path.join(out, name + ".safetensors")
        res = os.path.join(out, name + ".json")
        print(f"{name} ...", file=sys.stderr)
        with open(res, "w") as f:
            subprocess.run(["build/app/palilens-cli", "--model", args.model,
                            "--image", args.image, "--prompt", args.prompt,
                            "--max-new-tokens", str(args.new_tokens),
                            "--threads", str(args.threads), "--json",
                            "--dump", dump] + extra, check=True, stdout=f)
        t = read_safetensors(dump, ["prefill_logits_last"])
        ids = json.load(open(res)).get("generated_ids", [])
        runs[name] = (t["prefill_logits_last"], ids)
    if not args.skip_hf:
        for dtype in ("float32", "bfloat16"):
            dump = os.path.join(out, f"transformers-{dtype}.safetensors")
            print(f"transformers {dtype} ...", file=sys.stderr)
            subprocess.run(["../shared/tools/refpy", "../shared/tools/hf_run.py",
                            args.model, args.image, args.prompt, "--dtype", dtype,
                            "--threads", str(args.threads), "--attn", "eager",
                            "--max-new-tokens", str(args.new_tokens),
                            "--dump", dump], check=True,
                           stdout=subprocess.DEVNULL)
            t = read_safetensors(dump, ["prefill_logits_last", "generated_ids"])
            runs[f"transformers-{dtype}"] = (t["prefill_logits_last"],
                                             list(t["generated_ids"]))
    cfg = json.load(open(os.path.join(args.model, "config.json")))
    tc = cfg.get("text_config", {})
    vocab = tc.get("vocab_size", 257216)
    # the tokenizer's ids only: padding rows of the embedding are never used
    vocab = min(vocab, len(runs["palilens-exact"][0]))
    refs = [("palilens-exact", "PaliLens exact")]
    if "transformers-float32" in runs:
        refs.append(("transformers-float32", "transformers float32"))
    for ref, label in refs:
        print(f"\nagainst {label} (prefill logits, {vocab} ids; greedy ids "
              f"of {args.new_tokens} steps):")
        print(f"{'run':24} {'max |diff|':>11} {'mean |diff|':>12} {'KL':>10}  ids")
        r_logits, r_ids = runs[ref]
        for name, (logits, ids) in runs.items():
            if name == ref:
                continue
            mx, mean, kl = compare(r_logits, logits, vocab)
            same = 0
            while same < min(len(ids), len(r_ids)) and ids[same] == r_ids[same]:
                same += 1
            print(f"{name:24} {mx:11.4f} {mean:12.5f} {kl:10.3g}  "
                  f"{same}/{len(r_ids)} equal")
    print(f"\ndumps in {out}", file=sys.stderr)


main()
