#!/usr/bin/env bash
# Run fastnn.distributed's tests on 2 and 4 MPI ranks, each run under
# `timeout` so that a hang fails instead of eating CI's time. Installs
# nothing: the running Python needs fastnn and the [mpi] extra
# (`pip install -e ".[mpi]"`: mpi4py and MPICH, whose mpiexec is used).
#
#   tools/run_distributed_tests.sh [pytest args...]
#
# Environment: PYTHON (default python), MPIEXEC (default: the mpiexec next
# to PYTHON, else on PATH), FASTNN_MPI_TIMEOUT (seconds per run, default 900).
# 4 ranks on a 2-core machine are oversubscribed; MPICH's Hydra allows it
# without a flag (Open MPI would need --oversubscribe, added when detected).
# Each rank uses one fastnn thread (OMP_NUM_THREADS=1) so the ranks do not
# fight over the cores.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python}"
PYDIR="$(dirname "$(command -v "$PY")")"
MPIEXEC="${MPIEXEC:-$( [ -x "$PYDIR/mpiexec" ] && echo "$PYDIR/mpiexec" || command -v mpiexec || true)}"
TIMEOUT="${FASTNN_MPI_TIMEOUT:-900}"
if [ -z "$MPIEXEC" ] || ! "$PY" -c "import mpi4py" 2>/dev/null; then
    echo "run_distributed_tests: mpi4py/mpiexec not found (pip install -e '.[mpi]')" >&2
    exit 1
fi
EXTRA=()
if "$MPIEXEC" --version 2>&1 | grep -qi "open mpi"; then
    EXTRA=(--oversubscribe)
fi
cd "$SRC"
export OMP_NUM_THREADS=1
# tests that launch mpiexec themselves (1, 2, 4 ranks; a failing rank)
timeout --signal=KILL "$TIMEOUT" "$PY" -m pytest -q -p no:cacheprovider \
    tests/test_distributed.py "$@"
for n in 2 4; do
    echo "== tests/distributed on $n ranks"
    # -p no:cacheprovider: the ranks must not race on .pytest_cache
    timeout --signal=KILL "$TIMEOUT" "$MPIEXEC" "${EXTRA[@]}" -n "$n" \
        "$PY" -m pytest -q -p no:cacheprovider -x tests/distributed "$@"
done
