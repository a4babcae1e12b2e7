#!/bin/sh
# tools/screenshots.sh — makes the screenshots of README.md and the AppStream
# metainfo (docs/screenshots/*.png): runs PaliLens under Xvfb on a photo,
# lets it run a task to completion, and saves the window as PNG through
# GTK's own snapshot (palilens' hidden --screenshot option), so the
# pictures show exactly what PaliLens draws.
#
# Usage: tools/screenshots.sh [--model DIR] [--vae FILE] [--build DIR] [--out DIR]
#   --model DIR  a real PaliGemma 2 checkpoint (e.g. paligemma2-3b-mix-448,
#                with vae-oid.npz beside it or in ~/.local/share/palilens/
#                for masks): the model answers on its own, nothing is forced.
#   --vae FILE   the mask decoder to use instead (vae-oid.npz)
#   --build DIR  a built tree with the test data (default: build)
#   --out DIR    where the PNGs go (default: docs/screenshots)
#
# WITHOUT --model, THE ANSWERS ARE FORCED.  No real checkpoint can be
# downloaded on the build machines, so the script then makes the test
# suite's tiny random model (palilens-make-model tiny), whose own output is
# noise, and forces its output (teacher forcing, palilens --force-output)
# to a given string: the answer a real model would give, with boxes traced
# by hand over the photos (tools/screenshot-scenes.py lists them).  The
# engine still runs the image encoder, the prefill and one decode step per
# forced token, and PaliLens streams, parses and draws that output with its
# real code.  Masks are then decoded by a stand-in decoder written by
# tools/screenshot-scenes.py (big_vision's decoder and file layout, weights
# made so that codes are mask tiles), because the random decoder of the
# test data draws noise whatever the codes.  Real screenshots: pass
# --model with a real checkpoint (and its vae-oid.npz); then no output is
# forced and the stand-in decoder is not used.
#
# The photos are the test data's (astronaut.png, chelsea.png).  Needs
# xvfb-run (package xvfb), python3 and a built BUILD/app/palilens and
# BUILD/tools/palilens-make-model.
set -eu
cd "$(dirname "$0")/.."

model= vae= build=build out=docs/screenshots
while [ $# -gt 0 ]; do
    case $1 in
    --model) model=$2; shift 2 ;;
    --vae) vae=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) sed -n '/^# Usage/,/^#   --out/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done
[ -x "$build/app/palilens" ] || { echo "build $build first (meson compile -C $build)" >&2; exit 1; }
data=$build/tests/data
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# Scenes (name, image, task, text, forced output) and the stand-in decoder.
python3 tools/screenshot-scenes.py "$work" > "$work/scenes.tsv"
forced=yes
if [ -n "$model" ]; then
    forced=
else
    echo "screenshots: no --model: tiny random model, FORCED answers" >&2
    model=$work/tiny
    "$build/tools/palilens-make-model" tiny "$model" > "$work/make-model.log" 2>&1 ||
        { cat "$work/make-model.log" >&2; exit 1; }
    [ -n "$vae" ] || vae=$work/stand-in-vae.npz
fi

# A fresh, fixed setup: settings in memory, English, one window size.
export GSETTINGS_BACKEND=memory
export LC_ALL=C.UTF-8 LANGUAGE=en
export GTK_THEME=Adwaita
export NO_AT_BRIDGE=1 GTK_A11Y=none

tab=$(printf '\t')
while IFS=$tab read -r name image task text output; do
    echo "screenshots: $name ($task $text)"
    set -- --model "$model" --task "$task" --text "$text" \
        --screenshot "$out/$name.png"
    [ -z "$vae" ] || set -- "$@" --vae "$vae"
    [ -z "$forced" ] || set -- "$@" --force-output "$output"
    xvfb-run -a -s "-noreset -screen 0 1400x900x24" \
        "$build/app/palilens" "$@" "$data/$image" </dev/null
    # at most 256 colours and lossless recompression: a fifth of the bytes,
    # no visible change (pngquant and optipng, where installed)
    if command -v pngquant >/dev/null; then
        pngquant --quality=60-85 --speed 1 --force --output "$out/$name.png" \
            "$out/$name.png"
    fi
    if command -v optipng >/dev/null; then
        optipng -quiet -o7 "$out/$name.png"
    fi
done < "$work/scenes.tsv"
echo "screenshots: written to $out"
