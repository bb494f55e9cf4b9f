"""Every cell of the bad-input matrix (tests/bad_input_table.py): each bad
argument raises TypeError/ValueError naming it and leaves every array
untouched; accepted variants (read-only or strided inputs) give the result
of the clean call bit for bit."""
import numpy as np
import pytest

from bad_input_table import HYPER_KINDS, SPECS

CELLS = [(s, arg, kind, exp) for s in SPECS for arg, kind, exp in s.cells()]
INT_PARAMS = ("step", "seed", "offset", "n", "num_groups")
OTHER = {np.dtype(np.float32): np.float64, np.dtype(np.float64): np.float32}


def _arrays(obj, out):
    """Every ndarray reachable from obj (tuples, lists, dicts)."""
    if isinstance(obj, np.ndarray):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _arrays(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _arrays(o, out)
    elif isinstance(obj, (float, int, np.generic)):
        out.append(np.asarray(obj))
    return out


def _strided(a):
    big = np.zeros(a.shape + (2,), a.dtype)
    big[..., 0] = a
    return big[..., 0]


def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _mutate(spec, args, arg, kind, dtype):
    a = args[arg]
    role = spec.roles[arg]
    if role == "labels":
        return {"float": lambda: a.astype(dtype), "list": a.tolist,
                "ndim": lambda: a[None], "shape": lambda: a[:-1].copy(),
                "range": lambda: np.where(np.arange(a.size) == 0, 99, a).astype(a.dtype),
                "noncontig": lambda: _strided(a), "readonly": lambda: _readonly(a)}[kind]()
    if kind == "alias":
        return args[spec.alias_partner(arg)]
    if kind == "overlap":
        # a view of the partner's memory shifted by one element
        partner = args[spec.alias_partner(arg)]
        buf = np.zeros(partner.size + 1, partner.dtype)
        buf[:partner.size] = partner.reshape(-1)
        args[spec.alias_partner(arg)] = buf[:partner.size].reshape(partner.shape)
        return buf[1:].reshape(a.shape)
    return {"float16": lambda: a.astype(np.float16),
            "other_float": lambda: a.astype(OTHER[a.dtype]),
            "int": lambda: a.astype(np.int32), "object": lambda: a.astype(object),
            "list": a.tolist, "ndim": lambda: a[None].copy(),
            "shape": lambda: a.reshape(-1)[:-1].reshape(-1).copy() if a.ndim == 1
            else a[..., :-1].copy(),
            "noncontig": lambda: _strided(a), "readonly": lambda: _readonly(a)}[kind]()


def _empty(spec, args):
    """Zero-size batch: every array whose leading axis matches the first
    array argument's gets a leading axis of 0."""
    first = args[next(iter(spec.roles))] if spec.roles else None
    if first is None:
        return dict(args, **{k: 0 for k in ("n",) if k in args})
    lead = first.shape[0]
    out = dict(args)
    for k, v in args.items():
        if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == lead:
            out[k] = v[:0].copy()
    return out


def _snapshot(args):
    return [(a, a.copy()) for a in _arrays(list(args.values()), []) if a.dtype != object]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("spec,arg,kind,expected", CELLS,
                         ids=[f"{s.name}-{a}-{k}" for s, a, k, _ in CELLS])
def test_cell(spec, arg, kind, expected, dtype):
    args = spec.make(dtype)
    if kind == "empty":
        bad = _empty(spec, args)
    elif arg in spec.roles:
        bad = dict(args, **{arg: _mutate(spec, args, arg, kind, dtype)})
    else:
        bad = dict(args, **{arg: HYPER_KINDS[kind]})
        if kind == "neg" and (arg in INT_PARAMS or (arg == "p" and "margin" in spec.name)):
            bad[arg] = -1
    snap = _snapshot(bad)
    if expected in ("ok", "accepted"):
        result = spec.call(bad)
        if kind == "empty" or expected == "accepted":
            return
        clean = spec.make(dtype)
        ref = spec.call(clean)
        got = _arrays(result, []) + [np.asarray(v) for k, v in bad.items()
                                     if spec.roles.get(k) in ("inout", "out")]
        want = _arrays(ref, []) + [np.asarray(v) for k, v in clean.items()
                                   if spec.roles.get(k) in ("inout", "out")]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        return
    err = {"TypeError": TypeError, "ValueError": ValueError}[expected]
    with pytest.raises(err) as info:
        spec.call(bad)
    msg = str(info.value)
    if kind in ("ndim", "shape", "empty", "other_float"):
        # a shape is wrong relative to the others: either side may be named
        names = list(spec.roles) + ["normalized_shape", "num_groups", "batch", "channels"]
        assert any(n in msg for n in names), msg
    elif kind in ("alias", "overlap"):
        assert arg in msg or spec.alias_partner(arg) in msg, msg
    else:
        assert arg in msg, msg
    for a, before in snap:
        np.testing.assert_array_equal(a, before, err_msg="an array was modified")


# Public callables outside the matrix: no array argument to validate, or a
# class whose methods are covered through the rows above.
NOT_KERNELS = {
    "DenseGrads", "NormGrads", "NormOutput", "Dropout", "dense_saves_output", "empty_mask",
    "philox4x32_10", "seed_key", "check_offset", "calculate_gain",
    "calculate_fan_in_and_fan_out", "Initializer", "get",
    # fastnn.functional.capi: the C library's handle and buffer addresses
    "get_library", "api_version", "buffer_pointer", "BufferPointer",
}
# Landed on main after the matrix was written: rows still to add.
NOT_YET_IN_MATRIX = {
    "random_flip_crop", "random_affine", "random_color_jitter", "random_snr_noise",
    "random_time_shift", "random_element_dropout", "random_neighbor_swap",
}


def test_every_public_function_is_in_the_matrix():
    import fastnn
    from fastnn import functional as F, init as I, random as R

    covered = {s.name for s in SPECS}
    missing = []
    for mod, prefix in ((F, ""), (R, "random."), (I, "init.")):
        names = getattr(mod, "__all__", None) or [
            n for n in dir(mod) if not n.startswith("_")
            and getattr(getattr(mod, n), "__module__", "").startswith(mod.__name__)]
        for name in names:
            if name in NOT_KERNELS | NOT_YET_IN_MATRIX or not callable(getattr(mod, name)):
                continue
            if prefix + name not in covered and name not in covered:
                missing.append(prefix + name)
    for cls in fastnn.optim.__all__:
        if cls != "Optimizer" and "optim." + cls not in covered:
            missing.append("optim." + cls)
    assert not missing, missing


def test_doc_matches_table():
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, os.path.join(root, "tools", "gen_bad_inputs_doc.py"),
                        "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
