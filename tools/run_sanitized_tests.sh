#!/usr/bin/env bash
# Build fastnn with AddressSanitizer + UndefinedBehaviorSanitizer into a
# temporary copy of the checkout and run the test suite there with the ASan
# runtime preloaded into Python. Exits non-zero on any sanitizer report or
# test failure.
#
#   tools/run_sanitized_tests.sh [pytest args...]     # default: the whole suite
#
# The build uses setup.py's FASTNN_SANITIZE=1. Until setup.py knows that flag,
# the same options are passed through CFLAGS/LDFLAGS, which setuptools appends
# to every compile and link; the script checks that the extensions really link
# the ASan runtime either way.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fastnn-sanitize.XXXXXX")"
[ -n "${FASTNN_SANITIZE_KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT

CC="${CC:-gcc}"
ASAN_LIB="$("$CC" -print-file-name=libasan.so)"
UBSAN_LIB="$("$CC" -print-file-name=libubsan.so)"
if [ ! -e "$ASAN_LIB" ]; then
    echo "run_sanitized_tests: $CC has no libasan.so" >&2
    exit 2
fi

# a copy of the tracked files plus the working tree's changes: no stale build products
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard) |
    (cd "$SRC" && xargs -0 cp --parents -t "$WORK" 2>/dev/null || true)
cd "$WORK"

SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
echo "== building with sanitizers in $WORK"
FASTNN_SANITIZE=1 CFLAGS="${CFLAGS:-} -O1 -g $SAN" LDFLAGS="${LDFLAGS:-} $SAN" \
    python setup.py build_ext --inplace -j "${JOBS:-2}" > build-sanitize.log 2>&1 || {
        tail -40 build-sanitize.log; exit 1; }
for so in fastnn/_ext/*.so; do
    # linked with libasan, or compiled with it and resolved from the preload
    if ! { ldd "$so" | grep -q libasan || nm -D --undefined-only "$so" | grep -q __asan_; }; then
        echo "run_sanitized_tests: $so is not linked with ASan" >&2
        exit 1
    fi
done

# CPython's own allocations at exit are not leaks of ours: leak checking is off
# (tests/test_memory.py covers growth). Any other report fails the run.
# Reports go to files too: pytest captures file descriptor 2 during a test, and
# a report printed there would vanish with the aborted process.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0:allocator_may_return_null=1:log_path=$WORK/asan-report:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$WORK/ubsan-report:${UBSAN_OPTIONS:-}"
export PYTHONPATH="$WORK"
export PYTHONMALLOC=malloc   # let ASan see Python's allocations of array memory too
export HYPOTHESIS_STORAGE_DIRECTORY="$WORK/.hypothesis"
echo "== running the tests with $ASAN_LIB preloaded"
LD_PRELOAD="$ASAN_LIB:$UBSAN_LIB" python -m pytest -q -p no:cacheprovider "${@:-tests}" \
    2>&1 | tee pytest-sanitize.log
status=${PIPESTATUS[0]}
if ls "$WORK"/asan-report.* "$WORK"/ubsan-report.* > /dev/null 2>&1 ||
        grep -qE "ERROR: AddressSanitizer|runtime error:" pytest-sanitize.log; then
    cat "$WORK"/asan-report.* "$WORK"/ubsan-report.* 2>/dev/null | head -80 >&2
    echo "run_sanitized_tests: sanitizer report above" >&2
    exit 1
fi
exit "$status"
