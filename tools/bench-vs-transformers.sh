#!/bin/bash
# bench-vs-transformers.sh — PaliLens next to Hugging Face transformers on
# the same model directory, image and prompt (development use, not CI).
#
#   tools/bench-vs-transformers.sh MODEL_DIR IMAGE [PROMPT]
#       [--new-tokens N] [--threads N] [--precision exact|fast]
#       [--weights bf16|q8|q4] [--repeat N] [--bench PATH] [--keep DIR]
#       [--forced]
#
# Runs ../shared/tools/hf_run.py (bf16, eager attention: the only
# transformers attention that applies Gemma 2's soft-cap) through refpy,
# then palilens-bench (fast precision and the checkpoint's weights unless
# told otherwise), and prints every phase's time for both and the ratio
# transformers / PaliLens (above 1: PaliLens is faster).  Time to first
# token is preprocess + vision + prefill for both; decode is the median
# per-token time.  Both decode greedily, as transformers' generate() does
# with do_sample=False (palilens-bench --greedy, which lets the model
# finish its background work first); --forced gives palilens-bench its
# teacher-forced N tokens instead.  Run it from the project root (refpy
# mounts the parent directory, so the model and image must live under it).
# The JSON of both runs stays in --keep DIR (default: a temporary
# directory under build/).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '4,9p' "$0" >&2
  exit 2
}

[ $# -ge 2 ] || usage
model=$1
image=$2
shift 2
prompt="caption en"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
  prompt=$1
  shift
fi
new_tokens=16
threads=2
precision=fast
weights=
repeat=3
bench=build/tools/palilens-bench
keep=
greedy=--greedy
while [ $# -gt 0 ]; do
  case $1 in
  --new-tokens) new_tokens=$2; shift 2 ;;
  --threads) threads=$2; shift 2 ;;
  --precision) precision=$2; shift 2 ;;
  --weights) weights=$2; shift 2 ;;
  --repeat) repeat=$2; shift 2 ;;
  --bench) bench=$2; shift 2 ;;
  --keep) keep=$2; shift 2 ;;
  --forced) greedy=; shift ;;
  *) usage ;;
  esac
done
[ -x "$bench" ] || { echo "no $bench: build the project first" >&2; exit 1; }
if [ -z "$keep" ]; then
  mkdir -p build
  keep=$(mktemp -d "$PWD/build/vs-transformers.XXXXXX")
fi
mkdir -p "$keep"
hf_json=$keep/transformers.json
pl_json=$keep/palilens.json

echo "transformers (bf16, eager, $threads threads) ..." >&2
../shared/tools/refpy ../shared/tools/hf_run.py "$model" "$image" "$prompt" \
  --dtype bfloat16 --attn eager --threads "$threads" \
  --max-new-tokens "$new_tokens" --json "$hf_json" >"$keep/transformers.log"

echo "palilens-bench ($precision, ${weights:-as stored}, $threads threads) ..." >&2
args=(--model "$model" --image "$image" --prompt "$prompt"
  --new-tokens "$new_tokens" --threads "$threads" --precision "$precision"
  --repeat "$repeat" --json)
[ -n "$weights" ] && args+=(--weights "$weights")
[ -n "$greedy" ] && args+=("$greedy")
"$bench" "${args[@]}" >"$pl_json"

python3 - "$hf_json" "$pl_json" <<'PY'
import json, sys
hf = json.load(open(sys.argv[1]))
pl = json.load(open(sys.argv[2]))
t = hf["timings"]
hf_ttft = t["preprocess_ms"] + t["vision_ms"] + t["prefill_ms"]
rows = [
    ("load", t["load_ms"], pl["load_ms"]),
    ("preprocess", t["preprocess_ms"], pl["preprocess_ms"]),
    ("vision", t["vision_ms"], pl["vision_ms"]),
    ("prefill", t["prefill_ms"], pl["prefill_ms"]),
    ("time to first token", hf_ttft, pl["ttft_ms"]),
    ("decode per token", t["decode_ms_median"] or 0, pl["decode_ms_per_token"]),
]
print(f"model {pl['model']} ({pl['variant']}), {pl['prompt_tokens']} prompt tokens, "
      f"{pl['threads']} threads")
print(f"transformers {hf['transformers']} / torch {hf['torch']}, {hf['dtype']}, "
      f"attn={hf['attn_implementation']}; PaliLens {pl['precision']} precision, "
      f"weights {pl['weights']}, kernel set {pl['kernel']}, median of {pl['repeat']}")
if pl.get("greedy"):
    print(f"PaliLens greedy: {pl['greedy_tokens']} tokens, {pl['prepass_tokens']} "
          f"chosen by the LM head's pre-pass")
print(f"{'phase':22} {'transformers ms':>16} {'PaliLens ms':>12} {'ratio':>8}")
for name, a, b in rows:
    ratio = a / b if b else float("nan")
    print(f"{name:22} {a:16.1f} {b:12.1f} {ratio:7.2f}x")
loop = pl['ratios'].get('ttft_over_tile_loop_floor')
print(f"PaliLens: peak RSS {pl['peak_rss_mb']:.0f} MB (weights {pl['weights_mb']:.0f} MB); "
      f"time to first token {pl['ratios']['ttft_over_floor']:.2f}x its floor"
      + (f" ({loop:.2f}x at the AMX tile loop's rate)" if loop else "")
      + f", decode {pl['ratios']['decode_over_floor']:.2f}x its floor")
same = pl['ratios'].get('decode_over_weights_read')
if same:
    print(f"PaliLens: decode {same:.2f}x the time to read its bytes at the rate "
          f"the weights read at after each run "
          f"({pl['limits']['weights_read_gbps']:.1f} GB/s)")
huge = pl.get("weights_huge_fraction", -1)
if huge >= 0:
    print(f"PaliLens: {100 * huge:.0f} % of the weights in memory in 2 MB pages")
PY
echo "JSON of both runs: $keep" >&2
