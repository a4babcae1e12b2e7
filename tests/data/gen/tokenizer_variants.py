"""Reference data for tokenizer.json features the Gemma files do not use.

Run inside the reference environment (Hugging Face tokenizers 0.23.1):

    ../shared/tools/refpy tests/data/gen/tokenizer_variants.py \
        ../shared/golden/tiny-224/tokenizer.json OUT_DIR

Each variant is tiny-224's tokenizer.json with one group of features
changed (merges as "a b" strings, added tokens with lstrip/rstrip/
normalized, Prepend normalizer, Strip decoders, every Split behaviour,
unk without byte fallback, no decoder, ignore_merges, a repeated merge,
a Sequence post-processor, byte tokens missing from the vocabulary).
For each it writes OUT_DIR/NAME.json (the tokenizer, exactly as loaded
by the reference) and OUT_DIR/NAME.jsonl with one row per text:
  {"text", "ids", "ids_special", "decoded", "decoded_skip_special"}
(ids: encode(text, add_special_tokens=False); ids_special: with True;
decoded*: decode(ids, skip_special_tokens=False/True)) and one row per
random id list: {"decode_ids", "decoded", "decoded_skip_special"}.
Rows where the reference raises (it panics on some Strip overlaps) are
left out.  Deterministic: fixed seeds, no timestamps.
"""
import copy, json, os, random, re, sys

from tokenizers import Tokenizer

_ESC = re.compile("[\u007f-\u009f\u2028\u2029]")


def dumps(obj):
    s = json.dumps(obj, ensure_ascii=False)
    return _ESC.sub(lambda m: "\\u%04x" % ord(m.group(0)), s)


def added(content, id, special=False, normalized=False, lstrip=False,
          rstrip=False):
    return {"id": id, "content": content, "single_word": False,
            "lstrip": lstrip, "rstrip": rstrip, "normalized": normalized,
            "special": special}


def replace(pattern, content):
    return {"type": "Replace", "pattern": {"String": pattern},
            "content": content}


def split(pattern, behavior, invert=False):
    return {"type": "Split", "pattern": {"String": pattern},
            "behavior": behavior, "invert": invert}


def template(single, specials):
    return {"type": "TemplateProcessing",
            "single": single,
            "pair": single + [{"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {name: {"id": name, "ids": [i],
                                      "tokens": [name]}
                               for name, i in specials}}


SEQ_A = {"Sequence": {"id": "A", "type_id": 0}}


def spec(name, id):
    return {"SpecialToken": {"id": name, "type_id": 0}}


def variants(base):
    v = {}
    merges = base["model"]["merges"]
    assert all(" " not in a and " " not in b for a, b in merges)
    size = max(max(base["model"]["vocab"].values()),
               max(t["id"] for t in base["added_tokens"])) + 1

    d = copy.deepcopy(base)
    d["model"]["merges"] = ["#version: 0.2"] + ["%s %s" % (a, b)
                                                for a, b in merges]
    v["legacy-merges"] = d

    d = copy.deepcopy(base)
    d["added_tokens"] += [
        added("[L]", size, lstrip=True),
        added("[R]", size + 1, rstrip=True),
        added("[LR]", size + 2, lstrip=True, rstrip=True),
        added("<sp>", size + 3, special=True, lstrip=True, rstrip=True),
        added("my tok", size + 4, normalized=True),
        added("x y", size + 5),
    ]
    v["added-flags"] = d

    d = copy.deepcopy(base)
    d["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "\u2581"}, replace(" ", "\u2581")]}
    d["pre_tokenizer"] = None
    d["decoder"] = {"type": "Sequence", "decoders": [
        replace("\u2581", " "), {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    d["post_processor"] = template([spec("<bos>", 2), SEQ_A], [("<bos>", 2)])
    v["llama-style"] = d

    d = copy.deepcopy(base)
    d["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Strip", "content": "e", "start": 0, "stop": 1},
        {"type": "Strip", "content": "\u2581", "start": 1, "stop": 0},
        replace("\u2581", " "), {"type": "ByteFallback"}, replace("a", "A"),
        {"type": "Strip", "content": "c", "start": 1, "stop": 0},
        {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 2, "stop": 2}]}
    v["strip-decoders"] = d

    for name, behavior, pattern, invert in [
            ("split-removed", "Removed", "\u2581", False),
            ("split-isolated", "Isolated", "\u2581", False),
            ("split-merged-previous", "MergedWithPrevious", "\u2581", False),
            ("split-merged-next", "MergedWithNext", "\u2581", False),
            ("split-contiguous", "Contiguous", "\u2581", False),
            ("split-invert", "Isolated", "e", True)]:
        d = copy.deepcopy(base)
        d["pre_tokenizer"] = split(pattern, behavior, invert)
        v[name] = d
    d = copy.deepcopy(base)
    d["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        split("\u2581", "MergedWithNext"), split("o", "Contiguous")]}
    v["split-sequence"] = d

    d = copy.deepcopy(base)
    d["model"]["byte_fallback"] = False
    d["model"]["fuse_unk"] = False
    v["unk"] = d
    d = copy.deepcopy(d)
    d["model"]["fuse_unk"] = True
    v["unk-fused"] = d
    d = copy.deepcopy(d)
    d["model"]["unk_token"] = None
    v["no-unk"] = d

    # (renamed, not deleted: deleting would shift the ids the reference
    # gives to added tokens beyond the vocabulary)
    d = copy.deepcopy(base)
    for b in ("<0xE2>", "<0x9F>"):
        d["model"]["vocab"][b + "_"] = d["model"]["vocab"].pop(b)
    assert all(b not in (x, y) for x, y in merges for b in ("<0xE2>",
                                                             "<0x9F>"))
    v["byte-holes"] = d

    d = copy.deepcopy(base)
    d["decoder"] = None
    v["no-decoder"] = d

    d = copy.deepcopy(base)
    d["normalizer"] = None
    d["pre_tokenizer"] = split(" ", "MergedWithPrevious")
    v["no-normalizer"] = d

    d = copy.deepcopy(base)
    d["model"]["ignore_merges"] = True
    v["ignore-merges"] = d

    d = copy.deepcopy(base)
    d["model"]["merges"] = merges + [merges[0], merges[5]]
    v["merge-repeated"] = d

    d = copy.deepcopy(base)
    d["post_processor"] = {"type": "Sequence", "processors": [
        template([spec("<bos>", 2), SEQ_A], [("<bos>", 2)]),
        template([SEQ_A, spec("<eos>", 1)], [("<eos>", 1)])]}
    v["post-sequence"] = d
    return v


FRAGMENTS = ["hello", " world", "  ", " ", "   ", "\t", "\n", "\u2581",
             "<image>", "<bos>", "<eos>", "<mask>", "<loc0012>", "<seg003>",
             "[L]", "[R]", "[LR]", "<sp>", "my tok", "my  tok", "x y", "\u00e9",
             "\u2603", "\U0001F642", "\u6f22\u5b57", "\u00a0", "\u3000",
             "caption en", "detect cat ; dog", "aaaa", "the", "e", "o",
             "ee", "oo", "<0x41>", "<unk>", "\r\n", "a", "A", "segment",
             " the cat", "answer en what is this?"]

FIXED = ["", "hello world", "  two  spaces ", "caption en",
         "<image><image><bos>caption en\n", "a\tb\nc",
         "\u00e9\u00e0\u00fc \u6f22\u5b57 \U0001F642",
         "\u00a0nbsp\u3000ideo", "<loc0012><seg003> cat",
         "[L] x [R] y [LR] z", "x\t[L]\t y", " [LR] ", "[R][R]  [L][L]",
         "a <sp> b", "\u3000<sp>\u00a0c", "my tok my  tok", "x y x  y",
         "unknown \u2603 chars \u2604\u2603 \U0001F642\U0001F642",
         "\u2603\u00e9\U0001F642", "aaaaaaa", "the the the",
         "ends with space ", " starts", "\u2581 literal", "eee oo e",
         " a  b   c    ", "\u2581\u2581\u2581"]


def texts(seed):
    rng = random.Random(seed)
    out = list(FIXED)
    for _ in range(150):
        out.append("".join(rng.choice(FRAGMENTS)
                           for _ in range(rng.randint(1, 10))))
    return out


def id_lists(seed, size):
    rng = random.Random(seed)
    out = []
    for _ in range(100):
        ids = []
        for _ in range(rng.randint(0, 20)):
            r = rng.random()
            if r < 0.4:
                ids.append(rng.randint(5, 260))       # byte tokens
            elif r < 0.5:
                ids.append(rng.randint(0, 4))          # specials
            elif r < 0.55:
                ids.append(rng.randint(size - 2, size + 8))
            else:
                ids.append(rng.randint(0, size - 1))
        out.append(ids)
    return out


def rows_for(tok, seed):
    size = tok.get_vocab_size(with_added_tokens=True)
    rows = []
    for text in texts(seed):
        try:
            ids = tok.encode(text, add_special_tokens=False).ids
            rows.append({
                "text": text, "ids": ids,
                "ids_special": tok.encode(text, add_special_tokens=True).ids,
                "decoded": tok.decode(ids, skip_special_tokens=False),
                "decoded_skip_special": tok.decode(ids,
                                                   skip_special_tokens=True)})
        except BaseException as e:  # a Rust panic is a BaseException
            print("skipped text %r: %s" % (text, e), file=sys.stderr)
    for ids in id_lists(seed + 1, size):
        try:
            rows.append({
                "decode_ids": ids,
                "decoded": tok.decode(ids, skip_special_tokens=False),
                "decoded_skip_special": tok.decode(ids,
                                                   skip_special_tokens=True)})
        except BaseException as e:
            print("skipped ids %r: %s" % (ids, e), file=sys.stderr)
    return rows


def main(base_path, out_dir):
    base = json.load(open(base_path, encoding="utf-8"))
    os.makedirs(out_dir, exist_ok=True)
    for seed, (name, d) in enumerate(sorted(variants(base).items())):
        text = json.dumps(d, ensure_ascii=False)
        tok = Tokenizer.from_str(text)
        for t in d["added_tokens"]:  # the file's ids are the reference's
            assert tok.token_to_id(t["content"]) == t["id"], t
        with open(os.path.join(out_dir, name + ".json"), "w",
                  encoding="utf-8") as f:
            f.write(text)
        with open(os.path.join(out_dir, name + ".jsonl"), "w",
                  encoding="utf-8", newline="\n") as f:
            for r in rows_for(tok, 1000 + seed):
                f.write(dumps(r) + "\n")
        print(name, file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
