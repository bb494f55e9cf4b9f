#!/usr/bin/env bash
# Build tools/c_api_driver.c against every C source of fastnn (no Python) and
# run it under valgrind memcheck. Exits non-zero on any memcheck error or if
# the driver's own checks fail.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/fastnn-valgrind.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT
CC="${CC:-gcc}"
mapfile -t SOURCES < <(find "$SRC/csrc" -name '*.c' | sort)
"$CC" -std=c11 -O1 -g -fopenmp -ffp-contract=off -I"$SRC/csrc" \
    "$SRC/tools/c_api_driver.c" "${SOURCES[@]}" -lm -o "$OUT/c_api_driver"
# GOMP_SPINCOUNT=0: idle OpenMP threads sleep instead of spinning under valgrind
GOMP_SPINCOUNT=0 valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --track-origins=yes \
    "$OUT/c_api_driver"
