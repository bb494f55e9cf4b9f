#!/usr/bin/env bash
# Build fastnn with AddressSanitizer + UndefinedBehaviorSanitizer into a
# temporary copy of the checkout and run the test suite there with the ASan
# runtime preloaded into Python. Exits non-zero on any sanitizer report or
# test failure.
#
#   tools/run_sanitized_tests.sh [pytest args...]     # default: the whole suite
#
# Needs the build requirements in the running Python (setuptools, Cython,
# numpy: `pip install -e ".[test]"` provides them) and gcc's libasan/libubsan.
# The build uses setup.py's FASTNN_SANITIZE=1 plus -fno-sanitize-recover
# (every UBSan finding aborts) and -O1 through CFLAGS/LDFLAGS, which
# setuptools appends to every compile and link.
#
# Before the tests, two self-checks: the extensions and libfastnn.so really
# are instrumented, and an out-of-bounds read through libfastnn.so is caught
# (so a silent run means a clean run, not a sanitizer that is not there).
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
if [ -n "${FASTNN_SANITIZE_REUSE:-}" ]; then
    # a copy kept by an earlier FASTNN_SANITIZE_KEEP=1 run: tests only, no rebuild
    WORK="$(cd "$FASTNN_SANITIZE_REUSE" && pwd)"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/fastnn-sanitize.XXXXXX")"
    [ -n "${FASTNN_SANITIZE_KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
fi
PY="${PYTHON:-python}"
START=$SECONDS

CC="${CC:-gcc}"
ASAN_LIB="$("$CC" -print-file-name=libasan.so)"
UBSAN_LIB="$("$CC" -print-file-name=libubsan.so)"
for lib in "$ASAN_LIB" "$UBSAN_LIB"; do
    if [ ! -e "$lib" ]; then
        echo "run_sanitized_tests: $CC has no $(basename "$lib") (install its sanitizer runtimes)" >&2
        exit 2
    fi
done
if ! "$PY" -c "import setuptools, Cython, numpy, pytest" 2> /dev/null; then
    echo "run_sanitized_tests: $PY needs setuptools, Cython, numpy and pytest" \
         "(pip install -e \".[test]\" \"setuptools>=77\")" >&2
    exit 2
fi
# pyproject.toml's SPDX license fields need setuptools >= 77 (its build-system)
if ! "$PY" -c "import setuptools, sys; sys.exit(int(setuptools.__version__.split('.')[0]) < 77)"; then
    echo "run_sanitized_tests: setup.py needs setuptools >= 77 (pip install \"setuptools>=77\")" >&2
    exit 2
fi

cd "$WORK"
if [ -z "${FASTNN_SANITIZE_REUSE:-}" ]; then
    # a copy of the tracked files plus the working tree's changes: no stale build products
    (cd "$SRC" && git ls-files -z --cached --others --exclude-standard) |
        (cd "$SRC" && xargs -0 cp --parents -t "$WORK" 2>/dev/null || true)
    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
    echo "== building with sanitizers in $WORK"
    FASTNN_SANITIZE=1 CFLAGS="${CFLAGS:-} -O1 -g $SAN" LDFLAGS="${LDFLAGS:-} $SAN" \
        "$PY" setup.py build_ext --inplace -j "${JOBS:-2}" > build-sanitize.log 2>&1 || {
            tail -40 build-sanitize.log; exit 1; }
    echo "== built in $((SECONDS - START)) s"
fi
shopt -s nullglob
SOS=(fastnn/_ext/*.so fastnn/lib/libfastnn.so)
shopt -u nullglob
if [ "${#SOS[@]}" -lt 2 ]; then
    echo "run_sanitized_tests: no extension modules were built" >&2
    exit 1
fi
for so in "${SOS[@]}"; do
    # linked with libasan, or compiled with it and resolved from the preload
    # (grep without -q reads all its input: with pipefail, an early exit would
    # fail the pipeline through SIGPIPE)
    if ! { ldd "$so" | grep libasan > /dev/null ||
           nm -D --undefined-only "$so" | grep __asan_ > /dev/null; }; then
        echo "run_sanitized_tests: $so is not built with ASan" >&2
        exit 1
    fi
done
# -fno-sanitize-recover: the kernels call UBSan's aborting handlers only
if ! nm -D --undefined-only fastnn/lib/libfastnn.so | grep '__ubsan_handle_.*_abort' > /dev/null; then
    echo "run_sanitized_tests: libfastnn.so has no fatal UBSan checks" >&2
    exit 1
fi

# CPython's own allocations at exit are not leaks of ours: leak checking is off
# (tests/test_memory.py and tools/check_memory_growth.py cover growth). Any
# other report fails the run. Reports go to files too: pytest captures file
# descriptor 2 during a test, and a report printed there would vanish with the
# aborted process.
ASAN_BASE="detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$WORK/ubsan-report:${UBSAN_OPTIONS:-}"
export PYTHONPATH="$WORK"
export PYTHONMALLOC=malloc   # let ASan see Python's allocations of array memory too
export HYPOTHESIS_STORAGE_DIRECTORY="$WORK/.hypothesis"
export LD_PRELOAD="$ASAN_LIB:$UBSAN_LIB"

echo "== self-check: an out-of-bounds read through libfastnn.so must be reported"
# (the braces keep bash's "Aborted" notice out of the output)
selfcheck=$( { ASAN_OPTIONS="$ASAN_BASE:log_path=$WORK/selfcheck" "$PY" - "$WORK" \
               > selfcheck.log 2>&1; echo $?; } 2> /dev/null <<'EOF'
import ctypes, os, sys
import numpy as np
import fastnn
work = sys.argv[1]
assert os.path.realpath(fastnn.__file__).startswith(os.path.realpath(work)), fastnn.__file__
lib = ctypes.CDLL(fastnn.get_library())
lib.fnn_math_f64.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                             ctypes.c_int, ctypes.c_int]
x, y = np.zeros(8), np.zeros(64)
lib.fnn_math_f64(0, x.ctypes.data, y.ctypes.data, 9, 1, 0)  # reads x[8]
print("NOT CAUGHT")
EOF
)
if [ "$selfcheck" -eq 0 ] || ! cat "$WORK"/selfcheck.[0-9]* 2> /dev/null | grep heap-buffer-overflow > /dev/null; then
    cat selfcheck.log "$WORK"/selfcheck.[0-9]* 2> /dev/null | head -40 >&2
    echo "run_sanitized_tests: the self-check's overflow was not reported" >&2
    exit 1
fi
echo "   caught: $(grep -h -m1 'ERROR: AddressSanitizer' "$WORK"/selfcheck.[0-9]*)"
rm -f "$WORK"/selfcheck.[0-9]*

export ASAN_OPTIONS="$ASAN_BASE:log_path=$WORK/asan-report:${ASAN_OPTIONS:-}"
echo "== running the tests with $ASAN_LIB preloaded"
set +e
"$PY" -m pytest -q -p no:cacheprovider --durations=15 "${@:-tests}" 2>&1 | tee pytest-sanitize.log
status=${PIPESTATUS[0]}
set -e
# (compgen -G: any file matching; `ls a* b*` fails when either is missing)
if compgen -G "$WORK/asan-report.*" > /dev/null || compgen -G "$WORK/ubsan-report.*" > /dev/null ||
        grep -qE "ERROR: AddressSanitizer|runtime error:" pytest-sanitize.log; then
    cat "$WORK"/asan-report.* "$WORK"/ubsan-report.* 2>/dev/null | head -80 >&2
    echo "run_sanitized_tests: sanitizer report above" >&2
    exit 1
fi
echo "== sanitized run: pytest exit status $status, $((SECONDS - START)) s in all"
exit "$status"
