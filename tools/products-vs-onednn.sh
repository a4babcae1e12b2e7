#!/bin/bash
# products-vs-onednn.sh — PaliLens' bf16 matrix products next to oneDNN's
# (torch's bfloat16 linear in the reference environment) on the same
# shapes, in the same minutes (development use, not CI).
#
#   tools/products-vs-onednn.sh [--tokens N] [--copies C] [--repeat R]
#       [--offset B] [--bench PATH] [K:M ...]
#
# Each shape is a product of N rows (default 262: the 3B's prefill at
# 224 px) by C weight matrices (M, K) in turn (default 8, so that the
# weights come from memory as a model's do).  PaliLens runs
# palilens-kernel-bench matmul (fast precision, its kernel set, weights
# --offset B bytes past a cache line as a checkpoint places them: default
# 40, the 3B's); oneDNN runs tools/onednn-products.py through
# ../shared/tools/refpy, with the weights as stored and reordered ahead
# into oneDNN's blocked layout.  Without shapes: the 3B decoder's (q/k/v
# together, o, gate/up together, down) and SigLIP's (q/k/v, o, fc1, fc2).
# Prints ms per product and TFLOP/s for each, and oneDNN's time over
# PaliLens' (above 1: PaliLens is faster).  Run from the project root.
set -euo pipefail
cd "$(dirname "$0")/.."

tokens=262
copies=8
repeat=9
offset=40
bench=build-rel/tools/palilens-kernel-bench
[ -x "$bench" ] || bench=build/tools/palilens-kernel-bench
shapes=()
while [ $# -gt 0 ]; do
  case $1 in
  --tokens) tokens=$2; shift 2 ;;
  --copies) copies=$2; shift 2 ;;
  --repeat) repeat=$2; shift 2 ;;
  --offset) offset=$2; shift 2 ;;
  --bench) bench=$2; shift 2 ;;
  -h|--help) sed -n '4,6p' "$0" >&2; exit 2 ;;
  *:*) shapes+=("$1"); shift ;;
  *) sed -n '4,6p' "$0" >&2; exit 2 ;;
  esac
done
[ -x "$bench" ] || { echo "no $bench: build the project first" >&2; exit 1; }
[ ${#shapes[@]} -gt 0 ] || shapes=(2304:4096 2048:2304 2304:18432 9216:2304
  1152:3456 1152:1152 1152:4304 4304:1152)

# one JSON line per shape, in the shapes' order
mapfile -t onednn < <(../shared/tools/refpy tools/onednn-products.py \
  "$tokens" "${shapes[@]}" --copies "$copies" --repeat "$repeat")
[ ${#onednn[@]} -eq ${#shapes[@]} ] || {
  echo "onednn-products.py gave ${#onednn[@]} lines for ${#shapes[@]} shapes" >&2
  exit 1
}

printf '%-22s %18s %18s %18s %8s %8s\n' "tokens x k x m" "PaliLens" \
  "oneDNN" "oneDNN prepacked" "ratio" "ratio pp"
for i in "${!shapes[@]}"; do
  k=${shapes[i]%%:*}
  m=${shapes[i]#*:}
  out=$("$bench" matmul "$tokens" "$k" "$m" --copies "$copies" \
    --repeat "$repeat" --offset "$offset")
  python3 - "${onednn[i]}" "$out" "$tokens" <<'EOF'
import json, re, sys
d = json.loads(sys.argv[1])
ms = float(re.search(r"([0-9.]+) ms", sys.argv[2]).group(1))
flop = 2.0 * int(sys.argv[3]) * d["k"] * d["m"]
def cell(t):
    return f"{t:7.3f} ms {flop / t / 1e9:5.2f} TF"
pp = d.get("prepacked_ms")
print(f"{sys.argv[3] + ' x ' + str(d['k']) + ' x ' + str(d['m']):22s} "
      f"{cell(ms):>18s} {cell(d['plain_ms']):>18s} "
      f"{cell(pp) if pp else '-':>18s} {d['plain_ms'] / ms:7.2f}x "
      f"{(pp / ms) if pp else 0:7.2f}x")
EOF
done
