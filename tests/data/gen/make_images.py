#!/usr/bin/env python3
"""make_images.py OUTDIR — writes OUTDIR/images/: small image files of every
kind the loader must read, Pillow's decoded RGB bytes for each, and broken
files; run in the reference environment (Pillow 13, libjpeg-turbo):

    ../shared/tools/refpy tests/data/gen/make_images.py /tmp/out
    tar -C /tmp/out -cJf tests/data/images.tar.xz images

images/cases.json lists {"file", "width", "height", "expect", "orient",
"format", "ignore"?}: `expect` is Pillow's `Image.open(file).convert("RGB")`
as raw RGB (with "orient": true, `ImageOps.exif_transpose(Image.open(file))`
first); `ignore`, where present, is a one-byte-per-pixel mask of the pixels
where GdkPixbuf is known to differ from Pillow.  "bad" lists broken files,
the error the loader must give and what Pillow says about them.
"""
import json
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

OUT = os.path.join(sys.argv[1], "images")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240611)
GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared", "golden")
W, H = 45, 31  # odd sizes exercise chroma upsampling edges

# Natural content: a crop of the golden chelsea.png (CC0) plus noise rows.
chelsea = Image.open(os.path.join(GOLDEN, "tiny-224", "cases", "caption_chelsea", "chelsea.png")).convert("RGB")
natural = np.asarray(chelsea.crop((200, 90, 200 + W, 90 + H))).copy()
natural[-3:] = rng.integers(0, 256, (3, W, 3), dtype=np.uint8)
gray = np.asarray(Image.fromarray(natural).convert("L"))
alpha = rng.integers(0, 256, (H, W), dtype=np.uint8)

cases, bad = [], []


def expect(name, im_file, orient=False, fmt=None, ignore=None):
    """Pillow's pixels for im_file; `ignore` is an (H, W) mask of pixels where
    GdkPixbuf is known to differ (see lens-image-loader.h)."""
    im = Image.open(os.path.join(OUT, im_file))
    if orient:
        im = ImageOps.exif_transpose(im)
    rgb = im.convert("RGB")
    raw = name + (".oriented" if orient else "") + ".rgb"
    with open(os.path.join(OUT, raw), "wb") as f:
        f.write(rgb.tobytes())
    ext = im_file.rsplit(".", 1)[1]
    case = {"file": im_file, "width": rgb.width, "height": rgb.height, "expect": raw, "orient": orient,
            "format": fmt or {"jpg": "jpeg"}.get(ext, ext)}
    if ignore is not None:
        case["ignore"] = name + ".mask"
        ignore.astype(np.uint8).tofile(os.path.join(OUT, case["ignore"]))
    cases.append(case)


def save(name, im, **kw):
    im.save(os.path.join(OUT, name), **kw)
    return name


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(name, w, h, depth, ctype, rows, extra=b"", interlace=0):
    """A PNG written by hand, for layouts Pillow cannot save."""
    data = b"".join(b"\x00" + r for r in rows)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace))
           + extra + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b""))
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(png)
    return name


def pack_bits(values, depth):
    bits = "".join(format(int(v), "0%db" % depth) for v in values)
    bits += "0" * ((-len(bits)) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


# ---- PNG -------------------------------------------------------------
expect("png_rgb8", save("png_rgb8.png", Image.fromarray(natural)))
expect("png_rgba8", save("png_rgba8.png", Image.fromarray(np.dstack([natural, alpha]), "RGBA")))
expect("png_gray8", save("png_gray8.png", Image.fromarray(gray)))
expect("png_la8", save("png_la8.png", Image.fromarray(np.dstack([gray, alpha]), "LA")))
expect("png_gray1", save("png_gray1.png", Image.fromarray(gray).convert("1")))
for depth in (2, 4):
    vals = (gray >> (8 - depth)).astype(int)
    expect(f"png_gray{depth}", raw_png(f"png_gray{depth}.png", W, H, depth, 0, [pack_bits(r, depth) for r in vals]))
pal = Image.fromarray(natural).quantize(200)
expect("png_palette8", save("png_palette8.png", pal))
pal_t = pal.copy()
pal_t.info["transparency"] = bytes([0, 128] + [255] * 198)
expect("png_palette8_trns", save("png_palette8_trns.png", pal_t, transparency=bytes([0, 128] + [255] * 198)))
expect("png_palette4", save("png_palette4.png", Image.fromarray(natural).quantize(16), bits=4))
# palette of 6 entries with indices up to 9: Pillow paints the rest black
idx = rng.integers(0, 10, (H, W)).astype(np.uint8)
expect("png_palette_short", raw_png("png_palette_short.png", W, H, 8, 3, [r.tobytes() for r in idx],
                                    chunk(b"PLTE", bytes(range(10, 28)))))
g16 = (rng.integers(0, 65536, (H, W)) >> rng.integers(0, 16, (H, W))).astype(">u2")  # many values < 256
expect("png_gray16", raw_png("png_gray16.png", W, H, 16, 0, [r.tobytes() for r in g16]))
expect("png_gray16_trns", raw_png("png_gray16_trns.png", W, H, 16, 0, [r.tobytes() for r in g16],
                                  chunk(b"tRNS", struct.pack(">H", 7))))
rgb16 = (natural.astype(np.uint32) * 257 + rng.integers(0, 256, natural.shape)).astype(">u2")
expect("png_rgb16", raw_png("png_rgb16.png", W, H, 16, 2, [r.tobytes() for r in rgb16]))
rgba16 = np.dstack([rgb16, (alpha.astype(np.uint32) * 257).astype(">u2")])
expect("png_rgba16", raw_png("png_rgba16.png", W, H, 16, 6, [r.tobytes() for r in rgba16]))
la16 = np.dstack([rgb16[..., 0], (alpha.astype(np.uint32) * 257).astype(">u2")])
expect("png_la16", raw_png("png_la16.png", W, H, 16, 4, [r.tobytes() for r in la16]))
expect("png_gray8_trns", raw_png("png_gray8_trns.png", W, H, 8, 0, [r.tobytes() for r in gray],
                                 chunk(b"tRNS", struct.pack(">H", 100))))
expect("png_rgb8_trns", raw_png("png_rgb8_trns.png", W, H, 8, 2, [r.tobytes() for r in natural],
                                chunk(b"tRNS", struct.pack(">HHH", 1, 2, 3))))
# Adam7 interlacing: let Pillow write it (it can), and a 16-bit one by libpng-free means:
# Pillow cannot write interlaced PNG, so write the passes by hand.


def adam7(img, depth_bytes):
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    out = b""
    for x0, y0, dx, dy in passes:
        sub = img[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        out += b"".join(b"\x00" + r.tobytes() for r in sub)
    return out


for name, arr, depth, ctype in (("png_adam7_rgb8", natural, 8, 2), ("png_adam7_rgb16", rgb16, 16, 2),
                                ("png_adam7_gray16", g16, 16, 0)):
    data = adam7(arr, depth // 8)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, depth, ctype, 0, 0, 1))
           + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b""))
    with open(os.path.join(OUT, name + ".png"), "wb") as f:
        f.write(png)
    expect(name, name + ".png")
# No IEND at all: Pillow loads it.
with open(os.path.join(OUT, "png_rgb8.png"), "rb") as f:
    whole = f.read()
with open(os.path.join(OUT, "png_no_iend.png"), "wb") as f:
    f.write(whole[:-12])
expect("png_no_iend", "png_no_iend.png")

# EXIF orientation in a PNG eXIf chunk
exif = Image.Exif()
exif[0x0112] = 6
expect("png_exif6", save("png_exif6.png", Image.fromarray(natural), exif=exif.tobytes()))
expect("png_exif6", "png_exif6.png", orient=True)

# ---- JPEG ------------------------------------------------------------
for sub, name in ((0, "444"), (1, "422"), (2, "420")):
    expect(f"jpeg_{name}", save(f"jpeg_{name}.jpg", Image.fromarray(natural), quality=90, subsampling=sub))
expect("jpeg_gray", save("jpeg_gray.jpg", Image.fromarray(gray), quality=85))
expect("jpeg_progressive", save("jpeg_progressive.jpg", Image.fromarray(natural), quality=80, progressive=True))
expect("jpeg_optimized_restart", save("jpeg_optimized_restart.jpg", Image.fromarray(natural), quality=70,
                                      optimize=True, restart_marker_blocks=1))
cmyk = Image.fromarray(np.dstack([natural, gray]), "CMYK")
expect("jpeg_cmyk", save("jpeg_cmyk.jpg", cmyk, quality=90))
big = np.asarray(chelsea.crop((100, 60, 100 + 161, 60 + 97)))
expect("jpeg_420_large", save("jpeg_420_large.jpg", Image.fromarray(big), quality=75))
for o in range(1, 9):
    exif = Image.Exif()
    exif[0x0112] = o
    f = save(f"jpeg_exif{o}.jpg", Image.fromarray(natural), quality=95, exif=exif.tobytes())
    expect(f"jpeg_exif{o}", f)
    expect(f"jpeg_exif{o}", f, orient=True)
# Junk between segments: libjpeg warns, Pillow ignores it.
with open(os.path.join(OUT, "jpeg_444.jpg"), "rb") as f:
    j = f.read()
sos = j.index(b"\xff\xda")
with open(os.path.join(OUT, "jpeg_junk.jpg"), "wb") as f:
    f.write(j[:sos] + b"\x00\x13\x37" + j[sos:])
expect("jpeg_junk", "jpeg_junk.jpg")

# ---- formats read through GdkPixbuf ---------------------------------
expect("gif_palette", save("gif_palette.gif", Image.fromarray(natural).quantize(64)), fmt="gif")
frames = [Image.fromarray(np.roll(natural, 5 * k, axis=1)).quantize(32) for k in range(3)]
frames[0].save(os.path.join(OUT, "gif_anim.gif"), save_all=True, append_images=frames[1:], duration=100, loop=0)
expect("gif_anim", "gif_anim.gif", fmt="gif")
expect("bmp_rgb24", save("bmp_rgb24.bmp", Image.fromarray(natural)), fmt="bmp")
expect("bmp_palette8", save("bmp_palette8.bmp", Image.fromarray(natural).quantize(100)), fmt="bmp")
expect("tiff_rgb", save("tiff_rgb.tiff", Image.fromarray(natural)), fmt="tiff")
expect("tiff_lzw", save("tiff_lzw.tiff", Image.fromarray(natural), compression="tiff_lzw"), fmt="tiff")
expect("webp_lossless", save("webp_lossless.webp", Image.fromarray(natural), lossless=True), fmt="webp")
expect("webp_lossy", save("webp_lossy.webp", Image.fromarray(natural), quality=80), fmt="webp")
expect("webp_rgba", save("webp_rgba.webp", Image.fromarray(np.dstack([natural, alpha]), "RGBA"), lossless=True),
       fmt="webp")
expect("bmp_rgba", save("bmp_rgba.bmp", Image.fromarray(np.dstack([natural, alpha]), "RGBA")), fmt="bmp")
expect("tiff_deflate", save("tiff_deflate.tiff", Image.fromarray(natural), compression="tiff_adobe_deflate"),
       fmt="tiff")
expect("tiff_jpeg", save("tiff_jpeg.tiff", Image.fromarray(natural), compression="jpeg"), fmt="tiff")
expect("tiff_gray", save("tiff_gray.tiff", Image.fromarray(gray)), fmt="tiff")
expect("ppm", save("ppm.ppm", Image.fromarray(natural)), fmt="pnm")
expect("tga", save("tga.tga", Image.fromarray(natural)), fmt="tga")
# Pillow's TiffImagePlugin applies the Orientation tag itself on load, so
# the file is upright with or without exif_transpose.
for o in (3, 6):
    f = save(f"tiff_orient{o}.tiff", Image.fromarray(natural), tiffinfo={274: o})
    expect(f"tiff_orient{o}", f, fmt="tiff")
    expect(f"tiff_orient{o}", f, orient=True, fmt="tiff")
# Known differences: GdkPixbuf paints transparent GIF pixels (0, 0, 0) where
# Pillow keeps the palette colour, and libtiff premultiplies the colour of
# TIFF pixels whose (unassociated) alpha is below 255.
gif_t = Image.fromarray(natural).quantize(64)
save("gif_transparent.gif", gif_t, transparency=5)
expect("gif_transparent", "gif_transparent.gif", fmt="gif", ignore=np.asarray(Image.open(
    os.path.join(OUT, "gif_transparent.gif"))) == 5)
save("tiff_rgba.tiff", Image.fromarray(np.dstack([natural, alpha]), "RGBA"))
expect("tiff_rgba", "tiff_rgba.tiff", fmt="tiff", ignore=alpha < 255)

# ---- broken files ----------------------------------------------------
def bad_file(name, data, error):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    try:  # what Pillow says, for the record: it must refuse these too
        Image.open(os.path.join(OUT, name)).convert("RGB")
        pillow = None
    except Exception as e:  # noqa: BLE001 - any refusal counts
        pillow = f"{type(e).__name__}: {e}".replace(OUT + "/", "")
    assert pillow is not None, name
    bad.append({"file": name, "error": error, "pillow": pillow})


with open(os.path.join(OUT, "png_rgb8.png"), "rb") as f:
    p = f.read()
bad_file("bad_truncated.png", p[: p.index(b"IDAT") + 40], "TRUNCATED")
with open(os.path.join(OUT, "jpeg_420_large.jpg"), "rb") as f:
    j = f.read()
bad_file("bad_truncated.jpg", j[: len(j) * 2 // 3], "TRUNCATED")
with open(os.path.join(OUT, "jpeg_progressive.jpg"), "rb") as f:
    j = f.read()
bad_file("bad_truncated_progressive.jpg", j[: len(j) * 2 // 3], "TRUNCATED")
bad_file("bad_no_eoi.jpg", j[:-2], "TRUNCATED")
bad_file("bad_empty.png", b"", "EMPTY")
bad_file("bad_huge.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
         + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""), "TOO_LARGE")
bad_file("bad_zero_width.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 10, 8, 2, 0, 0, 0))
         + chunk(b"IEND", b""), "CORRUPT")
# a real JPEG whose SOF0 claims 65000×65000 (4.2 gigapixels)
with open(os.path.join(OUT, "jpeg_444.jpg"), "rb") as f:
    j = bytearray(f.read())
sof = j.index(b"\xff\xc0")
j[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
bad_file("bad_huge.jpg", bytes(j), "TOO_LARGE")
gif = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0) + b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x02\x02\x44\x01\x00\x3b"
bad_file("bad_huge.gif", gif, "TOO_LARGE")
bad_file("bad_text.png", b"this is not an image at all\n", "UNSUPPORTED")
bad_file("bad_garbage.jpg", b"\xff\xd8\xff" + bytes(rng.integers(0, 256, 300, dtype=np.uint8)), "CORRUPT")

with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump({"cases": cases, "bad": bad}, f, indent=1)
with open(os.path.join(OUT, "README.md"), "w") as f:
    f.write("Made by tests/data/gen/make_images.py with Pillow %s (see its docstring).\n" % Image.__version__)
print(len(cases), "cases,", len(bad), "broken files")
