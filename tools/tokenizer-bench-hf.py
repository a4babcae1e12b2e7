"""The Hugging Face tokenizers side of tools/tokenizer-speed.sh: times
Tokenizer.from_file() and encode(text, add_special_tokens=False) (best of
REPEATS) on one thread, printing the same lines as palilens-tokenizer-bench.
Run it in the reference environment:

    ../shared/tools/refpy tools/tokenizer-bench-hf.py TOKENIZER.json TEXT [REPEATS]
"""
import sys
import time

import tokenizers
from tokenizers import Tokenizer


def main(argv):
    path, text_path = argv[1], argv[2]
    repeats = int(argv[3]) if len(argv) > 3 else 5
    with open(text_path, encoding="utf-8") as f:
        text = f.read()
    t0 = time.perf_counter()
    tok = Tokenizer.from_file(path)
    print("load %.3f s" % (time.perf_counter() - t0))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        ids = tok.encode(text, add_special_tokens=False).ids
        best = min(best, time.perf_counter() - t0)
    size = len(text.encode("utf-8"))
    print("encode %.4f s (best of %d), %d bytes, %d ids, %.1f MB/s"
          % (best, repeats, size, len(ids), size / best / 1e6))
    h = 2166136261
    for i in ids:
        for k in range(4):
            h = ((h ^ ((i >> (8 * k)) & 0xFF)) * 16777619) & 0xFFFFFFFF
    print("ids checksum %08x" % h)
    print("tokenizers %s" % tokenizers.__version__)


if __name__ == "__main__":
    main(sys.argv)
