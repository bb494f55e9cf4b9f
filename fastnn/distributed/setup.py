"""Set-up of a data-parallel run: the same model on every rank."""
from __future__ import annotations

import hashlib
from typing import Any, List, Tuple

import numpy as np

from fastnn.distributed._comm import get_comm, mpi

__all__ = ["model_structure", "check_structure", "broadcast_parameters"]


def model_structure(model) -> List[Tuple[str, str, Tuple[int, ...], str]]:
    """``(kind, name, shape, dtype)`` of every parameter and buffer of ``model``, in order."""
    rows = [("param", name, tuple(p.shape), str(p.dtype))
            for name, p in model.named_parameters()]
    rows += [("buffer", name, tuple(np.shape(b)), str(np.asarray(b).dtype))
             for name, b in model.named_buffers()]
    return rows


def _digest(rows) -> str:
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def check_structure(model, comm: Any = None) -> None:
    """Raise ValueError on every rank when the model differs between ranks.

    Every rank gathers a digest of :func:`model_structure` (one small
    allgather, so a mismatch cannot leave a rank waiting in a broadcast of
    differently sized arrays); on a mismatch the ranks exchange their full
    descriptions and the error names the first difference.

    Parameters
    ----------
    model : Module
    comm : mpi4py communicator, optional
    """
    comm = get_comm(comm)
    rows = model_structure(model)
    digests = comm.allgather(_digest(rows))
    if len(set(digests)) == 1:
        return
    all_rows = comm.allgather(rows)
    bad = [r for r, d in enumerate(digests) if d != digests[0]]
    r = bad[0]
    ref, other = all_rows[0], all_rows[r]
    detail = f"rank 0 has {len(ref)} entries, rank {r} has {len(other)}"
    for a, b in zip(ref, other):
        if a != b:
            detail = f"rank 0 has {a[0]} {a[1]!r} {a[2]} {a[3]}, rank {r} has " \
                     f"{b[0]} {b[1]!r} {b[2]} {b[3]}"
            break
    raise ValueError(f"the model differs between ranks {bad} and rank 0 ({detail}); every "
                     f"rank must build the same model (names, shapes, dtypes)")


def broadcast_parameters(model, comm: Any = None, *, root: int = 0,
                         buffers: bool = True) -> None:
    """Copy rank ``root``'s parameters (and buffers) into every rank's model,
    in place, after :func:`check_structure`.

    Parameters
    ----------
    model : Module
    comm : mpi4py communicator, optional
    root : int, default 0
    buffers : bool, default True
        Broadcast the buffers too (running statistics, dropout offsets).
    """
    comm = get_comm(comm)
    check_structure(model, comm)
    arrays = [p.data for p in model.parameters()]
    if buffers:
        arrays += [b for _, b in model.named_buffers() if isinstance(b, np.ndarray)]
    for a in arrays:
        if a.flags.c_contiguous and a.flags.writeable:
            comm.Bcast(a, root=root)
        else:  # pragma: no cover - parameters are contiguous; buffers too
            tmp = np.ascontiguousarray(a)
            comm.Bcast(tmp, root=root)
            np.copyto(a, tmp)
