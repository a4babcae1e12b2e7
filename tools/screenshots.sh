#!/bin/sh
# tools/screenshots.sh — makes the screenshots of README.md and the AppStream
# metainfo: runs PaliLens under Xvfb with a model and an image, lets it run
# a task to completion, and saves the window as PNG through GTK's own
# snapshot (palilens' hidden --screenshot option), so the pictures show
# exactly what PaliLens draws.
#
# Usage: tools/screenshots.sh MODEL_DIR [IMAGE] [BUILD_DIR] [OUT_DIR]
#   MODEL_DIR  a PaliGemma 2 checkpoint (e.g. paligemma2-3b-mix-448 with
#              vae-oid.npz beside it for masks)
#   IMAGE      default: the cat photo of the test data (chelsea.png)
#   BUILD_DIR  default: build
#   OUT_DIR    default: docs/screenshots
# Needs xvfb-run (package xvfb) and a built ./BUILD_DIR/app/palilens.
set -eu
cd "$(dirname "$0")/.."

model=${1:?usage: tools/screenshots.sh MODEL_DIR [IMAGE] [BUILD_DIR] [OUT_DIR]}
build=${3:-build}
out=${4:-docs/screenshots}
image=${2:-}
if [ -z "$image" ]; then
    image="$build/tests/data/golden/tiny-224/cases/caption_chelsea/chelsea.png"
    [ -f "$image" ] || image=../shared/golden/tiny-224/cases/caption_chelsea/chelsea.png
fi
[ -x "$build/app/palilens" ] || { echo "build $build first (meson compile -C $build)" >&2; exit 1; }
mkdir -p "$out"

# A fresh, fixed setup: settings in memory, English, one window size.
export GSETTINGS_BACKEND=memory
export LC_ALL=C.UTF-8 LANGUAGE=en
export GTK_THEME=Adwaita
export NO_AT_BRIDGE=1 GTK_A11Y=none

shot() { # NAME TASK TEXT
    echo "screenshots: $1 ($2 ${3:-})"
    xvfb-run -a -s "-screen 0 1400x900x24" \
        "$build/app/palilens" --model "$model" --task "$2" --text "${3:-}" \
        --screenshot "$out/$1.png" "$image"
}

shot detect detect "cat"
shot segment segment "cat"
shot caption caption ""
echo "screenshots: written to $out"
