#!/usr/bin/env python3
"""make-model-hf-check.py -- check that a palilens-make-model directory loads
and runs in Hugging Face transformers unchanged (run with ../shared/tools/refpy
from the project root):

    ../shared/tools/refpy tools/make-model-hf-check.py MODEL_DIR [--dtype float32|bfloat16]
        [--max-new-tokens 8] [--json OUT.json]

Loads PaliGemmaForConditionalGeneration and PaliGemmaProcessor with
from_pretrained, checks the id layout (<image>, <locNNNN>, <segNNN>, bos/eos),
that the embedding is tied, tokenizes a few texts (pieces should look like
words and word parts), prints weight statistics per kind of tensor (the
distributions golden/README.md describes) and runs a short greedy generate on
a synthetic image.  Exits non-zero on any failed check."""
import argparse
import json
import sys

import numpy as np
import torch
from PIL import Image

import transformers
from transformers import PaliGemmaForConditionalGeneration, PaliGemmaProcessor


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    ap.add_argument("--max-new-tokens", type=int, default=8)
    ap.add_argument("--json")
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[args.dtype]
    failures = []

    def check(ok, what):
        print(("ok     " if ok else "FAILED ") + what)
        if not ok:
            failures.append(what)

    processor = PaliGemmaProcessor.from_pretrained(args.model_dir)
    model = PaliGemmaForConditionalGeneration.from_pretrained(args.model_dir, dtype=dtype,
                                                              attn_implementation="eager")
    model.eval()
    cfg = model.config
    tok = processor.tokenizer
    image_id = cfg.image_token_index
    text_vocab = image_id - 1024 - 128
    check(processor.image_token_id == image_id, f"<image> = {image_id} in processor and config")
    check(tok.convert_tokens_to_ids("<loc0000>") == text_vocab, "<loc0000> = image id - 1152")
    check(tok.convert_tokens_to_ids("<seg127>") == image_id - 1, "<seg127> = image id - 1")
    check((tok.bos_token_id, tok.eos_token_id, tok.pad_token_id) == (2, 1, 0), "bos/eos/pad = 2/1/0")
    ids = tok("<loc0012><loc0345><seg007> cat", add_special_tokens=False)["input_ids"]
    check(ids[:3] == [text_vocab + 12, text_vocab + 345, text_vocab + 1024 + 7], "loc/seg strings encode to single ids")
    emb = model.get_input_embeddings().weight
    check(emb.shape[0] == cfg.text_config.vocab_size and emb.shape[0] % 64 == 0, f"embedding rows {emb.shape[0]}")
    check(model.get_output_embeddings().weight.data_ptr() == emb.data_ptr(), "lm_head tied to the embedding")
    samples = ["caption en", "A cat sitting on a wooden table next to a window.",
               "answer en what color is the car?", "detect person ; dog", "Straße 東京 Привет 123"]
    pieces = {}
    for s in samples:
        p = tok.convert_ids_to_tokens(tok(s, add_special_tokens=False)["input_ids"])
        pieces[s] = p
        print(f"       {s!r} -> {p}")
        check(tok.decode(tok(s, add_special_tokens=False)["input_ids"]) == s, f"decode(encode({s!r})) round-trips")

    stats = {}
    for name, t in model.state_dict().items():
        kind = name.split(".")[-2] + "." + name.split(".")[-1]
        a = t.float()
        s = stats.setdefault(kind, [0.0, 0.0, 0])
        s[0] += a.sum().item()
        s[1] += (a * a).sum().item()
        s[2] += a.numel()
    for kind in sorted(stats):
        tot, sq, n = stats[kind]
        mean = tot / n
        std = max(sq / n - mean * mean, 0.0) ** 0.5
        print(f"       {kind:40s} mean {mean:+.4f} std {std:.4f} ({n} values)")

    S = cfg.vision_config.image_size
    rng = np.random.default_rng(0)
    img = Image.fromarray((rng.random((S + 37, S + 11, 3)) * 255).astype(np.uint8))
    inputs = processor(images=img, text="caption en", return_tensors="pt")
    inputs.pop("labels", None)
    inputs["pixel_values"] = inputs["pixel_values"].to(dtype)
    n_img = (S // cfg.vision_config.patch_size) ** 2
    check(inputs["input_ids"].shape[1] == n_img + 1 + len(tok("caption en", add_special_tokens=False)["input_ids"]) + 1,
          f"prompt = {n_img} image tokens + <bos> + prompt + newline")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=args.max_new_tokens, do_sample=False)
    gen = out[0, inputs["input_ids"].shape[1]:].tolist()
    text = tok.decode(gen, skip_special_tokens=False)
    print(f"       generated {gen}")
    print(f"       text {text!r}")
    check(len(gen) > 0, "generate produced tokens")
    result = {"model_dir": args.model_dir, "dtype": args.dtype, "transformers": transformers.__version__,
              "pieces": pieces, "generated_ids": gen, "text": text, "failures": failures,
              "stats": {k: {"mean": v[0] / v[2], "n": v[2]} for k, v in stats.items()}}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, ensure_ascii=False)
    print("all checks passed" if not failures else f"{len(failures)} checks FAILED")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
