#!/usr/bin/env python3
"""make_resize.py OUTDIR — reference outputs of torchvision's uint8 resize
(torchvision.transforms.v2.functional.resize, antialias=True, the call
transformers' SiglipImageProcessor makes) for tests/test-resize.c; run in
the reference environment:

    ../shared/tools/refpy tests/data/gen/make_resize.py /tmp/out
    tar -C /tmp/out -cJf tests/data/resize.tar.xz resize

Inputs are either stored (resize/natural.rgb: a 300×200 crop of the golden
chelsea.png, CC0) or generated: "noise" and "pattern" are integer formulas
that tests/test-resize.c evaluates identically (keep the two in step).
Outputs are stored whole when small and otherwise as their SHA-256 plus the
byte sum of every row (to count differing rows on failure).
"""
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torchvision.transforms.v2.functional as F
from PIL import Image
from torchvision.transforms import InterpolationMode

OUT = os.path.join(sys.argv[1], "resize")
os.makedirs(OUT, exist_ok=True)
GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared", "golden")
SMALL = 64 * 64 * 4  # outputs up to this many bytes are stored whole

natural = Image.open(os.path.join(GOLDEN, "tiny-224", "cases", "caption_chelsea", "chelsea.png")).convert("RGB")
natural = np.asarray(natural.crop((60, 40, 360, 240))).copy()  # (200, 300, 3)
natural.tofile(os.path.join(OUT, "natural.rgb"))


def mix32(h):
    """lowbias32 (Chris Wellons): the same in test-resize.c."""
    h = h.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x7FEB352D)
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x846CA68B)
    h ^= h >> np.uint32(16)
    return h


def generated(kind, seed, w, h, c):
    y, x, ch = np.meshgrid(np.arange(h, dtype=np.uint32), np.arange(w, dtype=np.uint32),
                           np.arange(c, dtype=np.uint32), indexing="ij")
    if kind == "noise":
        i = (y * np.uint32(w) + x) * np.uint32(c) + ch
        return (mix32(i * np.uint32(0x9E3779B9) + np.uint32(seed)) >> np.uint32(24)).astype(np.uint8)
    # "pattern": smooth ramps and rings, with hard edges where they wrap
    v = (x * (ch + np.uint32(3)) * np.uint32(5) + y * (np.uint32(7) - ch) * np.uint32(3)
         + ((x * x + y * y) >> np.uint32(7)) + np.uint32(seed))
    return (v & np.uint32(255)).astype(np.uint8)


cases = []


def add(name, src, out_w, out_h, filt=3, channels=None):
    kind, arr = src
    h, w, c = arr.shape
    t = torch.from_numpy(arr).permute(2, 0, 1).contiguous()
    mode = InterpolationMode.BICUBIC if filt == 3 else InterpolationMode.BILINEAR
    o = F.resize(t, [out_h, out_w], interpolation=mode, antialias=True)
    o = o.permute(1, 2, 0).contiguous().numpy()
    case = {"name": name, "input": kind, "width": w, "height": h, "channels": c,
            "out_width": out_w, "out_height": out_h, "filter": filt,
            "sha256": hashlib.sha256(o.tobytes()).hexdigest(),
            "row_sums": [int(r.sum()) for r in o.reshape(out_h, -1).astype(np.uint64)]}
    if o.nbytes <= SMALL:
        case["expect"] = name + ".rgb"
        o.tofile(os.path.join(OUT, case["expect"]))
    cases.append(case)


def gen(kind, seed, w, h, c=3):
    return ({"kind": kind, "seed": seed}, generated(kind, seed, w, h, c))


def nat(x0, y0, w, h):
    return ({"kind": "natural", "x": x0, "y": y0}, natural[y0:y0 + h, x0:x0 + w].copy())


# natural content, up and down, square and not, processor sizes and odd ones
for s in (224, 448, 896):
    add(f"natural_300x200_to_{s}", nat(0, 0, 300, 200), s, s)
add("natural_300x200_to_299x301", nat(0, 0, 300, 200), 299, 301)
add("natural_300x200_to_13x7", nat(0, 0, 300, 200), 13, 7)
add("natural_300x200_to_37x1", nat(0, 0, 300, 200), 37, 1)
add("natural_300x200_to_1x37", nat(0, 0, 300, 200), 1, 37)
add("natural_13x7_to_896x448", nat(100, 100, 13, 7), 896, 448)
add("natural_64x48_to_224", nat(150, 80, 64, 48), 224, 224)
add("natural_250x200_to_224", nat(10, 0, 250, 200), 224, 224)  # a small factor
add("natural_300x200_bilinear_to_224", nat(0, 0, 300, 200), 224, 224, filt=2)
add("natural_64x48_bilinear_to_31x17", nat(150, 80, 64, 48), 31, 17, filt=2)
# degenerate shapes
add("natural_1x1_to_224", nat(7, 9, 1, 1), 224, 224)
add("natural_1x1_to_5x3", nat(7, 9, 1, 1), 5, 3)
add("natural_1x200_to_224", nat(33, 0, 1, 200), 224, 224)
add("natural_300x1_to_224", nat(0, 50, 300, 1), 224, 224)
add("natural_300x1_to_7x2", nat(0, 50, 300, 1), 7, 2)
add("noise_1x5000_to_3x896", gen("noise", 5, 1, 5000), 3, 896)
add("noise_9000x2_to_896", gen("noise", 6, 9000, 2), 896, 896)
# one axis unchanged: only the other pass runs; same size: a copy
add("natural_224x200_to_224", nat(0, 0, 224, 200), 224, 224)
add("natural_300x224_to_224", nat(0, 0, 300, 224), 224, 224)
add("natural_224x200_to_224x200", nat(0, 0, 224, 200), 224, 200)
# large factors (generated inputs)
add("pattern_4000x3000_to_224", gen("pattern", 1, 4000, 3000), 224, 224)
add("noise_2000x3_to_224", gen("noise", 2, 2000, 3), 224, 224)
add("pattern_3x2000_to_448", gen("pattern", 3, 3, 2000), 448, 448)
add("noise_900x897_to_896", gen("noise", 4, 900, 897), 896, 896)
add("pattern_897x900_bilinear_to_896", gen("pattern", 9, 897, 900), 896, 896, filt=2)
# channel counts
add("noise_60x40x1_to_224", gen("noise", 7, 60, 40, 1), 224, 224)
add("noise_60x40x4_to_41x33", gen("noise", 8, 60, 40, 4), 41, 33)
add("pattern_70x50x2_to_23x61", gen("pattern", 10, 70, 50, 2), 23, 61)
# the 24-megapixel photo of the speed test
add("noise_6000x4000_to_896", gen("noise", 11, 6000, 4000), 896, 896)

# The whole processor (transformers' SiglipImageProcessor, torchvision
# backend) with other rescale / normalisation settings than PaliGemma's, to
# check the float32 arithmetic of the fused rescale + normalize: pixel_values
# stored as float32 (3, H, W).
from transformers import SiglipImageProcessor  # noqa: E402

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
preprocess = []
for name, kw in (
    ("paligemma", dict(image_mean=[0.5] * 3, image_std=[0.5] * 3, rescale_factor=1 / 255)),
    ("clip", dict(image_mean=CLIP_MEAN, image_std=CLIP_STD, rescale_factor=1 / 255)),
    ("clip_odd_rescale", dict(image_mean=CLIP_MEAN, image_std=CLIP_STD, rescale_factor=0.0039)),
    ("rescale_only", dict(do_normalize=False, rescale_factor=1 / 255)),
    ("rescale_only_odd", dict(do_normalize=False, rescale_factor=0.123456789)),
    ("normalize_only", dict(do_rescale=False, image_mean=[100.25, 127.5, 3.0], image_std=[50.0, 0.7, 127.5])),
    ("bilinear", dict(resample=2, image_mean=[0.5] * 3, image_std=[0.5] * 3, rescale_factor=1 / 255)),
):
    cfg = dict(size={"height": 29, "width": 37}, resample=3, do_rescale=True, do_normalize=True,
               image_mean=[0.5] * 3, image_std=[0.5] * 3, rescale_factor=1 / 255)
    cfg.update(kw)
    proc = SiglipImageProcessor(**cfg)
    img = Image.fromarray(natural[20:68, 40:104])  # 64x48
    pv = proc(images=img, return_tensors="pt")["pixel_values"][0].numpy().astype(np.float32)
    pv.tofile(os.path.join(OUT, f"preprocess_{name}.f32"))
    preprocess.append({"name": name, "x": 40, "y": 20, "width": 64, "height": 48,
                       "size": [cfg["size"]["width"], cfg["size"]["height"]], "resample": cfg["resample"],
                       "do_rescale": cfg["do_rescale"], "do_normalize": cfg["do_normalize"],
                       "rescale_factor": cfg["rescale_factor"], "image_mean": cfg["image_mean"],
                       "image_std": cfg["image_std"], "expect": f"preprocess_{name}.f32"})

with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump({"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
               "cases": cases, "preprocess": preprocess}, f, indent=1)
with open(os.path.join(OUT, "README.md"), "w") as f:
    f.write(f"Made by tests/data/gen/make_resize.py with torch {torch.__version__} "
            f"({torch.backends.cpu.get_cpu_capability()} kernels); see its docstring.\n")
print(len(cases), "cases")
