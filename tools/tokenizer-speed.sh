#!/bin/bash
# tokenizer-speed.sh — libpali's tokenizer against Hugging Face tokenizers
# on the same 1 MiB English text, both pinned to one CPU.
#
#   tools/tokenizer-speed.sh BUILD_DIR [TOKENIZER.json] [REPEATS]
#
# Run from the project root (the reference side runs through
# ../shared/tools/refpy, which needs root).  The text is Debian's licence
# texts (/usr/share/common-licenses, regular files in name order)
# concatenated and repeated up to 1 MiB, cut at a character boundary; it
# is written to BUILD_DIR/tokenizer-speed.txt.  Both sides print the load
# time and the best encode time of REPEATS runs (default 10).
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [TOKENIZER.json] [REPEATS]}
tokenizer=${2:-../shared/tokenizer/gemma3/tokenizer.json}
repeats=${3:-10}
text=$build/tokenizer-speed.txt
bench=$build/tools/palilens-tokenizer-bench
[ -x "$bench" ] || { echo "$bench not built" >&2; exit 1; }

python3 - "$text" <<'PY'
import os, sys
d = "/usr/share/common-licenses"
parts = [open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d))
         if os.path.isfile(os.path.join(d, n))
         and not os.path.islink(os.path.join(d, n))]
data = b"".join(parts)
out = data * (2 ** 20 // len(data) + 1)
out = out[:2 ** 20].decode("utf-8", errors="ignore").encode("utf-8")
open(sys.argv[1], "wb").write(out)
PY

echo "== libpali ($(nproc) CPUs here, pinned to CPU 0)"
taskset -c 0 "$bench" "$tokenizer" "$text" "$repeats"
echo "== Hugging Face tokenizers (reference environment, pinned to CPU 0)"
taskset -c 0 ../shared/tools/refpy tools/tokenizer-bench-hf.py \
    "$tokenizer" "$text" "$repeats"
