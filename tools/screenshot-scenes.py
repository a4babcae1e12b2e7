#!/usr/bin/env python3
"""tools/screenshot-scenes.py — the scenes of tools/screenshots.sh, and the
stand-in mask decoder its test-model screenshots use.  Python 3 standard
library only.

Usage: python3 tools/screenshot-scenes.py OUT_DIR
  writes OUT_DIR/stand-in-vae.npz and prints one line per scene:
  NAME <TAB> IMAGE <TAB> TASK <TAB> TASK_TEXT <TAB> FORCED_OUTPUT
  (IMAGE relative to the build tree's tests/data).

Without a real checkpoint the screenshots are made with the tiny random
test model, which never writes four <loc> tokens in a row: tools/
screenshots.sh then forces its output (teacher forcing) to FORCED_OUTPUT,
the answer a real model would give — boxes traced by hand over the photos
below.  The random mask decoder of the test data (vae-random.npz) draws
noise whatever its 16 codes are, so the forced masks are decoded by a
stand-in instead: a file in big_vision's vae-oid.npz layout (the same 49
arrays, the same decoder), with weights chosen so that each of the 16 codes
(a 4×4 grid over the box) picks one 8×8 tile — empty, full, or a straight
edge at one of 18 angles and 7 offsets — that the decoder's transposed
convolutions place side by side (1×1 conv and ResBlocks pass through, three
upsamplings move channels into space, the last one is bilinear).  The codes
of each object are the tiles that best cover its outline, traced by hand.
PaliLens decodes, places, outlines and draws these masks with the same code
as a real model's; only the decoder's weights are made up.  With a real
checkpoint and vae-oid.npz nothing here is used: the model writes its own
answer and codes.
"""
import array
import io
import math
import os
import sys
import zipfile

GRID = 4  # the 16 codes form a 4×4 grid over the box
TILE = 8  # each code is an 8×8 tile of the 32×32 stage
CODEBOOK = 128  # codes 0..127
EMBED = 512  # codebook vector length
SUPERSAMPLE = 4  # per tile pixel and axis, for coverage
ANGLES = 18  # edge tiles: directions, 20° apart
OFFSETS = (-0.45, -0.3, -0.15, 0.0, 0.15, 0.3, 0.45)  # tile widths
GAIN = 4.0  # raw = GAIN · (coverage − ½): full tiles clip to 1, empty to 0
LOC_BINS = 1024  # <locNNNN> is 1/1024 of the image side

ASTRONAUT = "golden/tiny-224/cases/segment_astronaut/astronaut.png"  # 512²
CHELSEA = "golden/tiny-224/cases/caption_chelsea/chelsea.png"  # 451×300



def ellipse(cx, cy, rx, ry, n=32):
    return [(cx + rx * math.cos(2 * math.pi * i / n),
             cy + ry * math.sin(2 * math.pi * i / n)) for i in range(n)]


def bounds(outline):
    xs, ys = [p[0] for p in outline], [p[1] for p in outline]
    return (round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys)))


LEFT_EYE = ellipse(171, 115, 37, 31)
RIGHT_EYE = ellipse(318, 136, 24, 27)
NOSE = [(232, 229), (262, 226), (293, 231), (275, 250), (261, 264), (246, 248)]

# name: image, size, task, text, objects (label, box x1 y1 x2 y2 in image
# pixels, outline in image pixels or None for a box only).
SCENES = {
    "detect": (ASTRONAUT, (512, 512), "detect",
               "person ; flag ; helmet ; space shuttle", [
                   ("person", (20, 15, 365, 512), None),
                   ("flag", (0, 0, 96, 470), None),
                   ("helmet", (278, 343, 508, 512), None),
                   ("space shuttle", (355, 0, 470, 288), None),
               ]),
    "segment": (CHELSEA, (451, 300), "segment", "cat ; eye ; nose", [
        ("cat", (0, 0, 398, 300), [
            (0, 115), (8, 60), (20, 25), (33, 0), (396, 0), (382, 45),
            (366, 78), (372, 105), (372, 150), (360, 200), (346, 240),
            (336, 270), (332, 300), (0, 300),
        ]),
        ("eye", bounds(LEFT_EYE), LEFT_EYE),
        ("eye", bounds(RIGHT_EYE), RIGHT_EYE),
        ("nose", bounds(NOSE), NOSE),
    ]),
}

# ---- tiles ---------------------------------------------------------------


def tile_coverage(inside):
    """8×8 coverage of a shape given as inside(x, y), x and y in [0, 1)."""
    out = []
    n = TILE * SUPERSAMPLE
    for ty in range(TILE):
        for tx in range(TILE):
            hits = 0
            for sy in range(SUPERSAMPLE):
                for sx in range(SUPERSAMPLE):
                    x = (tx * SUPERSAMPLE + sx + 0.5) / n
                    y = (ty * SUPERSAMPLE + sy + 0.5) / n
                    hits += inside(x, y)
            out.append(hits / SUPERSAMPLE**2)
    return out


def make_tiles():
    """Code 0 empty, 1..126 edges, 127 full: 128 tiles of 64 values."""
    tiles = [[0.0] * TILE * TILE]
    for a in range(ANGLES):
        nx, ny = math.cos(2 * math.pi * a / ANGLES), math.sin(
            2 * math.pi * a / ANGLES)
        for d in OFFSETS:
            tiles.append(tile_coverage(
                lambda x, y: nx * (x - 0.5) + ny * (y - 0.5) < d))
    tiles.append([1.0] * TILE * TILE)
    assert len(tiles) == CODEBOOK
    return tiles


def inside_polygon(pts, x, y):
    """Even-odd rule."""
    inside = False
    for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def codes_for(box, outline, tiles):
    """For each grid cell, the tile closest to the outline's coverage."""
    x1, y1, x2, y2 = box
    codes = []
    for r in range(GRID):
        for q in range(GRID):
            want = tile_coverage(lambda x, y: inside_polygon(
                outline, x1 + (q + x) / GRID * (x2 - x1),
                y1 + (r + y) / GRID * (y2 - y1)))
            codes.append(min(range(CODEBOOK), key=lambda c: sum(
                (a - b)**2 for a, b in zip(tiles[c], want))))
    return codes


# ---- the decoder file ----------------------------------------------------


class Array:
    def __init__(self, *shape):
        self.shape = shape
        self.data = array.array("f", bytes(4 * math.prod(shape)))

    def set(self, value, *index):
        flat = 0
        for i, n in zip(index, self.shape):
            flat = flat * n + i
        self.data[flat] = value


def npy(a):
    """A .npy file (format 1.0, little-endian float32, C order)."""
    shape = "(%s)" % ", ".join(str(n) for n in a.shape)
    if len(a.shape) == 1:
        shape = "(%d,)" % a.shape[0]
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % shape
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    data = a.data
    if sys.byteorder == "big":
        data = array.array("f", data)
        data.byteswap()
    return (b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") +
            header.encode("latin-1") + data.tobytes())


def decoder_arrays(tiles):
    """vae-oid.npz's 49 arrays (segmentation README §2): encoder and EMA
    buffers zero (the decoder never reads them), the decoder as above."""
    arrays = {}
    enc = [(16, 1, 4), (32, 16, 4), (64, 32, 4), (128, 64, 4)]
    for i, (o, n, k) in zip((0, 2, 4, 6), enc):
        arrays["encoder.%d.weight" % i] = Array(o, n, k, k)
        arrays["encoder.%d.bias" % i] = Array(o)
    for b in (8, 9):
        for j, k in ((0, 3), (2, 3), (4, 1)):
            arrays["encoder.%d.net.%d.weight" % (b, j)] = Array(128, 128, k, k)
            arrays["encoder.%d.net.%d.bias" % (b, j)] = Array(128)
    arrays["encoder.10.weight"] = Array(512, 128, 1, 1)
    arrays["encoder.10.bias"] = Array(512)

    # 1×1 conv 512 → 128: the first 128 codebook values pass through.
    conv0 = Array(128, 512, 1, 1)
    for c in range(128):
        conv0.set(1.0, c, c, 0, 0)
    arrays["decoder.0.weight"] = conv0
    arrays["decoder.0.bias"] = Array(128)
    # ResBlocks: x + conv1×1(…) with zero weights is x.
    for b in (2, 3):
        for j, k in ((0, 3), (2, 3), (4, 1)):
            arrays["decoder.%d.net.%d.weight" % (b, j)] = Array(128, 128, k, k)
            arrays["decoder.%d.net.%d.bias" % (b, j)] = Array(128)
    # Three transposed convs (k 4, s 2, p 1: out[2y + ky − 1] += in[y] ·
    # W[in][out][ky][kx]) as depth-to-space: input channel (2·dy + dx)·C + c
    # goes to channel c of sub-pixel (dy, dx), tap ky = dy + 1.
    for name, n_in, n_out, c_out in (("decoder.4", 128, 128, 32),
                                     ("decoder.6", 128, 64, 8),
                                     ("decoder.8", 64, 32, 2)):
        w = Array(n_in, n_out, 4, 4)
        for dy in range(2):
            for dx in range(2):
                for c in range(c_out):
                    w.set(1.0, (2 * dy + dx) * c_out + c, c, dy + 1, dx + 1)
        arrays[name + ".weight"] = w
        arrays[name + ".bias"] = Array(n_out)
    # The last one upsamples channel 0 bilinearly (taps ¼ ¾ ¾ ¼).
    taps = (0.25, 0.75, 0.75, 0.25)
    up = Array(32, 16, 4, 4)
    for ky in range(4):
        for kx in range(4):
            up.set(taps[ky] * taps[kx], 0, 0, ky, kx)
    arrays["decoder.10.weight"] = up
    arrays["decoder.10.bias"] = Array(16)
    out = Array(1, 16, 1, 1)
    out.set(GAIN, 0, 0, 0, 0)
    arrays["decoder.12.weight"] = out
    bias = Array(1)
    bias.set(-GAIN / 2, 0)
    arrays["decoder.12.bias"] = bias

    # Codebook: code c holds tile c; tile pixel (ty, tx) is the channel
    # that the three depth-to-space steps move to it.
    embed = Array(CODEBOOK, EMBED)
    for c, tile in enumerate(tiles):
        for ty in range(TILE):
            for tx in range(TILE):
                ch = 0
                for level, n in ((2, 32), (1, 8), (0, 2)):
                    ch += (2 * (ty >> level & 1) + (tx >> level & 1)) * n
                embed.set(tile[ty * TILE + tx], c, ch)
    arrays["_vq_vae._embedding"] = embed
    arrays["_vq_vae._ema_cluster_size"] = Array(CODEBOOK)
    arrays["_vq_vae._ema_w"] = Array(CODEBOOK, EMBED)
    return arrays


def write_npz(path, arrays):
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, a in arrays.items():
            z.writestr(name + ".npy", npy(a))
    os.replace(tmp, path)


# ---- scenes --------------------------------------------------------------


def loc(v, size):
    return "<loc%04d>" % min(LOC_BINS - 1, round(v / size * LOC_BINS))


def forced_output(size, objects, tiles):
    w, h = size
    parts = []
    for label, (x1, y1, x2, y2), outline in objects:
        text = loc(y1, h) + loc(x1, w) + loc(y2, h) + loc(x2, w)
        if outline is not None:
            codes = codes_for((x1, y1, x2, y2), outline, tiles)
            text += "".join("<seg%03d>" % c for c in codes)
        parts.append(text + " " + label)
    return " ; ".join(parts) + "<eos>"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    tiles = make_tiles()
    write_npz(os.path.join(out_dir, "stand-in-vae.npz"), decoder_arrays(tiles))
    for name, (image, size, task, text, objects) in SCENES.items():
        print("\t".join((name, image, task, text,
                         forced_output(size, objects, tiles))))


if __name__ == "__main__":
    main()
