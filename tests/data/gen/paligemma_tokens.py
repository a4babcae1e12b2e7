"""Reference data for the tokenizer as PaliGemmaProcessor sets it up.

Run inside the reference environment (transformers 5.12.1, tokenizers
0.23.1) from the project root:

    build/tools/palilens-make-model -q tiny MM_DIR --layout hub
    ../shared/tools/refpy tests/data/gen/paligemma_tokens.py \\
        ../shared/golden MM_DIR OUT_DIR
    tar -C OUT_DIR -cJf tests/data/tokenizer-paligemma.tar.xz \\
        tokenizer-paligemma

PaliGemmaProcessor.__init__ registers "<image>" (special) and
"<loc0000>".."<loc1023>", "<seg000>".."<seg127>" (add_tokens) on the
tokenizer it loads and switches add_bos_token/add_eos_token off.  For each
tokenizer below this loads PaliGemmaProcessor.from_pretrained(dir) and
writes OUT_DIR/tokenizer-paligemma/NAME.jsonl:

  first row  {"meta": {"tokenizer": path under the test data,
              "model_dir": golden model dir or null, "image_seq_length",
              "image_token_id", "bos_id", "size": len(tokenizer),
              "extra_ids": ids of "<image>", "<loc0000>".."<seg127>",
              "added_ids": ids registered as added tokens,
              "skipped_ids": ids that decode(skip_special_tokens=True)
              drops (alone: "" with, non-empty without)}}
  text rows  {"text", "ids" (processor.tokenizer(text,
              add_special_tokens=False)), "ids_special" (with True),
              "decoded", "decoded_skip_special" (decode of ids),
              "prompt_ids" (processor(images=a 32x32 image, text=text)'s
              input_ids), "prompt_image_tokens" (how many of those are
              the image token)}
              or, where the processor raises, "prompt_error"
  id rows    {"decode_ids", "decoded", "decoded_skip_special"}

A prompt whose prompt_image_tokens differs from image_seq_length is one the
processor accepts but PaliGemmaForConditionalGeneration then refuses
("Image features and image tokens do not match"): the engine must refuse it.

Tokenizers: golden tiny-224 (transformers-5 layout: loc/seg listed as
added tokens), tiny-224-hubnames (the hub's layout: loc/seg only in the
vocabulary), a palilens-make-model tiny hub-layout model (copied as
make-model-tiny-hub.json), and variants of tiny-224-hubnames (written as
NAME.json, with a tokenizer_config.json that only mirrors their
added_tokens):
  absent  <seg000>..<seg127> and <image> missing: the processor appends
          them after the vocabulary (<image> first);
  flags   <image> registered non-special and normalized, <loc0000>
          special, <loc0001> lstrip/rstrip raw, <seg005> rstrip: the
          processor's registrations replace the flags of each id (a
          content once special stays special for decoding);
  holes   <loc0500> and <image> missing from a vocabulary with a hole:
          <image> gets the vocabulary size as id, which <seg127> already
          has; that id's AddedToken becomes <seg127>, so "<image>" is no
          longer matched and the processor refuses every prompt (the
          reference's id clash, kept as it behaves).
Deterministic: fixed seeds, no timestamps.
"""
import copy
import json
import os
import random
import re
import shutil
import sys

from PIL import Image
import transformers
from transformers import PaliGemmaProcessor

_ESC = re.compile("[\u007f-\u009f\u2028\u2029]")
EXTRA = (["<image>"] + ["<loc%04d>" % i for i in range(1024)]
         + ["<seg%03d>" % i for i in range(128)])


def dumps(obj):
    s = json.dumps(obj, ensure_ascii=False)
    return _ESC.sub(lambda m: "\\u%04x" % ord(m.group(0)), s)


FIXED = [
    "", "caption en", "detect cat ; dog", "segment cat\n",
    "<loc0010>", " <loc0010> ", "  <loc0100>  ", "\t<loc0100>\n",
    "<loc0010><loc0020><loc0030><loc0040> cat",
    "<loc0000><loc1023><seg000><seg127>", "a<loc0001>b", "a <loc0001> b",
    "<loc0001><loc0002> ; <loc0003><loc0004> dog",
    "\u00e9<seg005>\u6f22\u5b57\U0001F642",
    # near misses: one digit too many or few, case, width, brackets
    "<loc10000>", "<loc001>", "<LOC0001>", "<Loc0001>", "<loc0001",
    "loc0001>", "<<loc0001>>", "<loc0001 >", "< loc0001>", "<loc 0001>",
    "<loc\uff10\uff10\uff10\uff11>", "<loc1024>", "<loc9999>", "<seg128>",
    "<seg12>", "<seg0001>", "<SEG001>", "<loc-001>", "<loc0x10>",
    "<loc<loc0001>", "<loc0001>>", "<seg<seg001>>",
    # the image token and other specials in a prompt
    "<image>", "<image>caption en", "caption <image> en", "caption en<image>",
    "<image> <image>", "<image><image>caption", "<imag>", "<image",
    "<bos>x", "x<eos>", "<pad><unk><mask>", "<0x41>", "<unk>loc",
    "answer en what is <loc0500>?", "<loc0000><image>",
    "\u2581<loc0001>\u2581", "<loc0001>\u00a0<loc0002>\u3000<seg003>",
]

FRAGMENTS = [
    "<image>", "<bos>", "<eos>", "<pad>", "<unk>", "<mask>", " ", "  ", "\t",
    "\n", "cat", " dog", "detect", "caption en", ";", " ; ", "<loc10000>",
    "<LOC0001>", "<loc001>", "<loc", "0001>", "<seg", "12>", "<seg1000>",
    "<0x41>", "\u00e9", "\u6f22\u5b57", "\U0001F642", "\u2581", "<", ">",
    "<<", ">>", "\u00a0", "LOC", "loc",
]


def texts(seed):
    rng = random.Random(seed)
    out = list(FIXED)
    for _ in range(120):
        parts = []
        for _ in range(rng.randint(1, 8)):
            r = rng.random()
            if r < 0.3:
                parts.append("<loc%04d>" % rng.randrange(1024))
            elif r < 0.45:
                parts.append("<seg%03d>" % rng.randrange(128))
            else:
                parts.append(rng.choice(FRAGMENTS))
        out.append("".join(parts))
    return out


def id_lists(seed, tok, size):
    rng = random.Random(seed)
    extra = [tok.convert_tokens_to_ids(t) for t in EXTRA]
    pool = extra + list(range(0, 5)) + list(range(5, 261, 7)) + [
        size, size + 3]
    lists = [[i] for i in extra[:3] + extra[-2:]] + [list(range(5))]
    for _ in range(60):
        ids = []
        for _ in range(rng.randint(1, 12)):
            ids.append(rng.choice(pool) if rng.random() < 0.6
                       else rng.randrange(261, size))
        lists.append(ids)
    return lists


def write_config(d, tokenizer_json):
    """A tokenizer_config.json like tiny-224-hubnames' whose
    added_tokens_decoder mirrors tokenizer_json's added_tokens (so loading
    changes nothing) and which names no extra special tokens."""
    with open(os.path.join(d, "tokenizer_config.json")) as f:
        cfg = json.load(f)
    cfg.pop("additional_special_tokens", None)
    cfg["added_tokens_decoder"] = {
        str(t["id"]): {k: t[k] for k in ("content", "lstrip", "normalized",
                                         "rstrip", "single_word", "special")}
        for t in tokenizer_json["added_tokens"]}
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(d, "special_tokens_map.json")) as f:
        smap = json.load(f)
    smap.pop("additional_special_tokens", None)
    with open(os.path.join(d, "special_tokens_map.json"), "w") as f:
        json.dump(smap, f, indent=2)


def variants(base):
    v = {}
    d = copy.deepcopy(base)
    for i in range(128):
        del d["model"]["vocab"]["<seg%03d>" % i]
    d["added_tokens"] = [t for t in d["added_tokens"]
                         if t["content"] != "<image>"]
    v["absent"] = d

    d = copy.deepcopy(base)

    def added(content, special=False, normalized=False, lstrip=False,
              rstrip=False):
        return {"id": d["model"]["vocab"][content], "content": content,
                "single_word": False, "lstrip": lstrip, "rstrip": rstrip,
                "normalized": normalized, "special": special}
    for t in d["added_tokens"]:
        if t["content"] == "<image>":
            t["special"] = False
            t["normalized"] = True
    d["added_tokens"] += [
        added("<loc0000>", special=True),
        added("<loc0001>", lstrip=True, rstrip=True),
        added("<seg005>", normalized=True, rstrip=True),
        added("<loc0002>", normalized=True),  # as the processor adds it
    ]
    d["added_tokens"].sort(key=lambda t: t["id"])
    v["flags"] = d

    d = copy.deepcopy(base)
    del d["model"]["vocab"]["<loc0500>"]
    d["added_tokens"] = [t for t in d["added_tokens"]
                         if t["content"] != "<image>"]
    v["holes"] = d
    return v


def run(name, model_dir, tok_rel, golden_rel, out):
    processor = PaliGemmaProcessor.from_pretrained(model_dir)
    tok = processor.tokenizer
    size = len(tok)
    image_id = processor.image_token_id
    backend = tok._tokenizer
    added_ids = sorted(backend.get_added_tokens_decoder().keys())
    skipped = [i for i in range(size + 2)
               if backend.decode([i], skip_special_tokens=True) == ""
               and backend.decode([i], skip_special_tokens=False) != ""]
    meta = {"tokenizer": tok_rel, "model_dir": golden_rel,
            "image_seq_length": processor.image_seq_length,
            "image_token_id": image_id, "bos_id": tok.bos_token_id,
            "size": size,
            "extra_ids": [tok.convert_tokens_to_ids(t) for t in EXTRA],
            "added_ids": added_ids, "skipped_ids": skipped}
    image = Image.new("RGB", (32, 32), (200, 100, 50))
    rows = [{"meta": meta}]
    for text in texts(1):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        ids_special = tok(text)["input_ids"]
        row = {"text": text, "ids": ids, "ids_special": ids_special,
               "decoded": tok.decode(ids, skip_special_tokens=False),
               "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)}
        try:
            prompt = processor(images=image, text=text)["input_ids"][0]
            row["prompt_ids"] = [int(i) for i in prompt]
            row["prompt_image_tokens"] = row["prompt_ids"].count(image_id)
        except ValueError as e:
            row["prompt_error"] = str(e)
        rows.append(row)
    for ids in id_lists(2, tok, size):
        rows.append({"decode_ids": ids,
                     "decoded": tok.decode(ids, skip_special_tokens=False),
                     "decoded_skip_special":
                         tok.decode(ids, skip_special_tokens=True)})
    with open(os.path.join(out, name + ".jsonl"), "w") as f:
        for r in rows:
            f.write(dumps(r) + "\n")
    print(name, "size", size, "rows", len(rows), "added", len(added_ids),
          "skipped", len(skipped))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    golden, mm_dir, out_root = sys.argv[1:]
    transformers.logging.set_verbosity_error()
    out = os.path.join(out_root, "tokenizer-paligemma")
    work = os.path.join(out_root, "work")
    os.makedirs(out, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    for name in ("tiny-224", "tiny-224-hubnames"):
        run(name, os.path.join(golden, name),
            "golden/%s/tokenizer.json" % name, "golden/" + name, out)
    shutil.copyfile(os.path.join(mm_dir, "tokenizer.json"),
                    os.path.join(out, "make-model-tiny-hub.json"))
    run("make-model-tiny-hub", mm_dir,
        "tokenizer-paligemma/make-model-tiny-hub.json", None, out)
    hub = os.path.join(golden, "tiny-224-hubnames")
    with open(os.path.join(hub, "tokenizer.json")) as f:
        base = json.load(f)
    for name, tj in variants(base).items():
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        for f in ("tokenizer_config.json", "special_tokens_map.json",
                  "preprocessor_config.json"):
            shutil.copyfile(os.path.join(hub, f), os.path.join(d, f))
        with open(os.path.join(d, "tokenizer.json"), "w") as f:
            json.dump(tj, f, ensure_ascii=False, indent=2)
        shutil.copyfile(os.path.join(d, "tokenizer.json"),
                        os.path.join(out, name + ".json"))
        write_config(d, tj)
        run(name, d, "tokenizer-paligemma/%s.json" % name, None, out)
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("# tokenizer-paligemma\n\nMade by "
                "`tests/data/gen/paligemma_tokens.py` (see its docstring) "
                "with transformers %s.\n" % transformers.__version__)


if __name__ == "__main__":
    main()
