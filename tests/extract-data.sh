#!/bin/sh
# extract-data.sh ARCHIVE OUTDIR STAMP — unpack a tests/data archive into the
# build tree (test data is kept compressed in git) and touch STAMP.
set -eu
mkdir -p "$2"
tar -xJf "$1" -C "$2"
touch "$3"
