"""The communicator, imported lazily, and abort-on-error."""
from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from typing import Any, Optional

import numpy as np

__all__ = ["MPIUnavailableError", "is_available", "mpi", "get_comm", "rank", "world_size",
           "allreduce_sum", "install_abort_on_error", "abort"]


class MPIUnavailableError(ImportError):
    """mpi4py (or an MPI library) is not installed."""


def is_available() -> bool:
    """Whether mpi4py can be imported. Imports the ``mpi4py`` package only,
    which does not start MPI (``mpi4py.MPI`` does)."""
    if importlib.util.find_spec("mpi4py") is None:
        return False
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def mpi() -> Any:
    """The ``mpi4py.MPI`` module (imported on first use)."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise MPIUnavailableError(
            "fastnn.distributed needs mpi4py and an MPI library: "
            "pip install 'fastnn[mpi]' (or pip install mpi4py mpich)") from e
    return MPI


def get_comm(comm: Any = None) -> Any:
    """``comm``, or ``MPI.COMM_WORLD`` when None. The first call with more
    than one rank installs :func:`install_abort_on_error`."""
    if comm is None:
        comm = mpi().COMM_WORLD
    if comm.Get_size() > 1 and not _state["hook"]:
        install_abort_on_error(comm)
    return comm


def rank(comm: Any = None) -> int:
    """This process's rank in ``comm`` (default COMM_WORLD)."""
    return get_comm(comm).Get_rank()


def world_size(comm: Any = None) -> int:
    """The number of ranks of ``comm`` (default COMM_WORLD)."""
    return get_comm(comm).Get_size()


def allreduce_sum(values, comm: Any = None) -> np.ndarray:
    """Sum a small float64 vector over the ranks (a new array, the same on
    every rank)."""
    comm = get_comm(comm)
    a = np.array(values, dtype=np.float64, copy=True).reshape(-1)
    comm.Allreduce(mpi().IN_PLACE, a, op=mpi().SUM)
    return a


_state = {"hook": False, "comm": None}


def abort(comm: Any = None, message: Optional[str] = None, code: int = 1) -> None:
    """Print ``message`` (prefixed by the rank) to stderr and end every rank
    of the job with ``MPI_Abort``. Does not return."""
    comm = comm if comm is not None else (_state["comm"] or mpi().COMM_WORLD)
    if message:
        prefix = f"[fastnn.distributed rank {comm.Get_rank()}/{comm.Get_size()}] "
        sys.stderr.write(prefix + message.rstrip("\n").replace("\n", "\n" + prefix) + "\n")
    sys.stderr.write(f"[fastnn.distributed rank {comm.Get_rank()}] aborting the job "
                     f"(MPI_Abort, code {code})\n")
    sys.stderr.flush()
    sys.stdout.flush()
    comm.Abort(code)
    os._exit(code)  # pragma: no cover - Abort does not return


def install_abort_on_error(comm: Any = None) -> None:
    """Make an uncaught exception on this rank end the whole job.

    Without it, the other ranks wait forever in their next collective call
    for the rank that died (the hang users of torch.distributed and Horovod
    know). The hook prints the traceback, prefixed by the rank, then calls
    ``comm.Abort(1)``: ``mpiexec`` ends every rank and exits non-zero.
    KeyboardInterrupt (Ctrl-C forwarded by ``mpiexec``) is handled the same
    way. Called by :func:`get_comm` when there is more than one rank.
    """
    comm = comm if comm is not None else mpi().COMM_WORLD
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        try:
            abort(comm, text, 1)
        except Exception:  # pragma: no cover
            previous(exc_type, exc, tb)

    sys.excepthook = hook
    _state["hook"] = True
    _state["comm"] = comm
