"""Every cell of the bad-input matrix (tests/bad_input_table.py): each bad
argument raises TypeError/ValueError naming it and leaves every array
untouched; accepted variants (read-only or strided inputs) give the result
of the clean call bit for bit."""
import numpy as np
import pytest

from bad_input_table import HYPER_KINDS, SPECS

CELLS = [(s, arg, kind, exp) for s in SPECS for arg, kind, exp in s.cells()]
INT_PARAMS = ("step", "seed", "offset", "n", "num_groups", "pad", "max_shift", "n_threads")
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
                "byteswap": lambda: a.astype(a.dtype.newbyteorder("S")),
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
            "noncontig": lambda: _strided(a), "readonly": lambda: _readonly(a),
            "byteswap": lambda: a.astype(a.dtype.newbyteorder("S"))}[kind]()


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
    elif (arg, kind) in spec.values:
        bad = dict(args, **{arg: spec.values[(arg, kind)]})
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
    name = spec.msg_names.get(arg, arg)
    if kind in ("ndim", "shape", "empty", "other_float"):
        # a shape is wrong relative to the others: either side may be named
        names = list(spec.roles) + list(spec.msg_names.values()) + [
            "normalized_shape", "num_groups", "batch", "channels"]
        assert any(n in msg for n in names), msg
    elif kind in ("alias", "overlap"):
        partner = spec.alias_partner(arg)
        assert name in msg or spec.msg_names.get(partner, partner) in msg, msg
    else:
        assert name in msg, msg
    for a, before in snap:
        np.testing.assert_array_equal(a, before, err_msg="an array was modified")


# Public callables outside the matrix: no array argument to validate, or a
# base class whose subclasses have rows of their own.
NOT_KERNELS = {
    "DenseGrads", "NormGrads", "NormOutput", "Dropout", "dense_saves_output", "empty_mask",
    "philox4x32_10", "seed_key", "check_offset", "calculate_gain",
    "calculate_fan_in_and_fan_out", "Initializer", "get", "ACTIVATIONS",
    # fastnn.functional.capi: the C library's handle and buffer addresses
    "get_library", "api_version", "buffer_pointer", "BufferPointer",
    # base classes: fastnn.augment.Transform, fastnn.functional.regularizers.Regularizer
    "Transform", "Regularizer",
}


def _public(mod):
    names = getattr(mod, "__all__", None) or [
        n for n in dir(mod) if not n.startswith("_")
        and getattr(getattr(mod, n), "__module__", "").startswith(mod.__name__)]
    return [n for n in names if callable(getattr(mod, n)) and n not in NOT_KERNELS]


def _is_covered(name, prefix, covered):
    """A function by its name (bare or module-prefixed); a class by its name
    or any of its methods' rows (``prefix.Class.method``)."""
    full = prefix + name
    return (name in covered or full in covered
            or any(c.startswith(full + ".") for c in covered))


def test_every_public_function_is_in_the_matrix():
    """Every public callable of every fastnn.functional submodule (and of
    fastnn.random, fastnn.init, fastnn.augment, fastnn.optim) has a row."""
    import importlib
    import pkgutil

    import fastnn
    from fastnn import augment as AUG, functional as F, init as I, random as R

    covered = {s.name for s in SPECS}
    # a function re-exported elsewhere (fastnn.random.normal_ in fastnn.functional's
    # __all__) is covered by its own row
    covered_fns = {id(s.fn) for s in SPECS}
    modules = [(F, ""), (R, "random."), (I, "init."), (AUG, "augment.")]
    for info in pkgutil.iter_modules(F.__path__):
        modules.append((importlib.import_module(f"{F.__name__}.{info.name}"), info.name + "."))
    assert len(modules) > 10
    missing = set()
    n_checked = 0
    for mod, prefix in modules:
        for name in _public(mod):
            n_checked += 1
            if not _is_covered(name, prefix, covered) and \
                    id(getattr(mod, name)) not in covered_fns:
                missing.add(prefix + name)
    for cls in fastnn.optim.__all__:
        if cls != "Optimizer" and "optim." + cls not in covered:
            missing.add("optim." + cls)
    assert not missing, sorted(missing)
    assert n_checked > 100


def test_the_coverage_check_can_fail():
    """A public function without a row is reported."""
    assert not _is_covered("random_flip_crop", "augment.", {"random_affine"})
    assert _is_covered("random_flip_crop", "augment.", {"random_flip_crop"})
    assert _is_covered("L1L2", "regularizers.", {"regularizers.L1L2.add_grad_"})
    assert not _is_covered("L1", "regularizers.", {"regularizers.L1L2"})


def test_doc_matches_table():
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, os.path.join(root, "tools", "gen_bad_inputs_doc.py"),
                        "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# ---------------------------------------------------------------- augmentation extras
# Cells the matrix's generic kinds do not reach: zero-size axes other than the
# batch, a strided input overlapping out, hyperparameters at the edge of the
# kernels' arithmetic.

def _aug_calls():
    from fastnn import functional as F
    from fastnn.reference import augment as RA

    img = dict(seed=3, offset=5)
    return [
        ("random_flip_crop", 4, lambda x, **k: F.random_flip_crop(x, 1, size=(2, 2), **k),
         lambda x: RA.flip_crop_ref(x, 1, size=(2, 2), **img)),
        ("random_flip_crop-same", 4, lambda x, **k: F.random_flip_crop(x, 2, p_vflip=0.5, **k),
         lambda x: RA.flip_crop_ref(x, 2, p_vflip=0.5, **img)),
        ("random_affine", 4, lambda x, **k: F.random_affine(x, 30.0, (0.8, 1.2), 0.1, **k),
         lambda x: RA.affine_ref(x, 30.0, (0.8, 1.2), 0.1, **img)),
        ("random_color_jitter", 3, lambda x, **k: F.random_color_jitter(x, 0.2, 0.3, **k),
         lambda x: RA.color_jitter_ref(x, 0.2, 0.3, **img)),
        ("random_snr_noise", 3, lambda x, **k: F.random_snr_noise(x, 10.0, **k),
         lambda x: RA.snr_noise_ref(x, 10.0, **img)),
        ("random_time_shift", 3, lambda x, **k: F.random_time_shift(x, 2, **k),
         lambda x: RA.time_shift_ref(x, 2, **img)),
        ("random_time_shift-wrap", 3, lambda x, **k: F.random_time_shift(x, 2, wrap=True, **k),
         lambda x: RA.time_shift_ref(x, 2, wrap=True, **img)),
        ("random_element_dropout", 3, lambda x, **k: F.random_element_dropout(x, 0.3, **k),
         lambda x: RA.element_dropout_ref(x, 0.3, **img)),
        ("random_neighbor_swap", 3, lambda x, **k: F.random_neighbor_swap(x, 0.3, **k),
         lambda x: RA.neighbor_swap_ref(x, 0.3, **img)),
    ]


AUG_CALLS = _aug_calls()
ZERO_AXIS = [(name, ndim, call, ref, axis) for name, ndim, call, ref in AUG_CALLS
             for axis in range(ndim)]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the reference's mean of nothing
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,ndim,call,ref,axis", ZERO_AXIS,
                         ids=[f"{z[0]}-axis{z[4]}" for z in ZERO_AXIS])
def test_augment_zero_size_axis(name, ndim, call, ref, axis, dtype):
    """Every axis of zero size: the reference's (empty or all-padding) result,
    with and without out, and out beyond the result untouched."""
    shape = [2, 3, 5, 6][:ndim] if ndim == 4 else [2, 7, 3]
    shape[axis] = 0
    x = np.ones(shape, dtype)
    expected = ref(x)
    np.testing.assert_array_equal(call(x, seed=3, offset=5), expected)
    out = np.full(expected.shape, 7.0, dtype)
    assert call(x, seed=3, offset=5, out=out) is out
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("name,ndim,call,ref", AUG_CALLS, ids=[c[0] for c in AUG_CALLS])
def test_augment_strided_input_overlapping_out(name, ndim, call, ref):
    """A strided x whose memory out overlaps is rejected like a contiguous one
    (the overlap check must not use the strided array's nbytes as its extent)."""
    shape = (2, 3, 5, 6) if ndim == 4 else (2, 7, 3)
    n = int(np.prod(shape))
    buf = np.arange(2 * n, dtype=np.float64)
    x = buf.reshape(shape[:-1] + (2 * shape[-1],))[..., ::2]
    expected_shape = ref(np.ascontiguousarray(x)).shape
    m = int(np.prod(expected_shape))
    out = buf[n:n + m].reshape(expected_shape)  # inside x's extent, past its nbytes
    assert np.shares_memory(x, out)
    before = buf.copy()
    with pytest.raises(ValueError, match="share memory"):
        call(x, seed=1, out=out)
    np.testing.assert_array_equal(buf, before)
    # disjoint memory with a strided x is accepted and equals the contiguous call
    out = np.empty(expected_shape)
    call(x, seed=1, out=out)
    np.testing.assert_array_equal(out, call(np.ascontiguousarray(x), seed=1))


def test_augment_hyperparameters_at_the_edge_of_the_arithmetic():
    from fastnn import functional as F

    img = np.ones((2, 3, 5, 6))
    seq = np.ones((2, 7, 3))
    for big in (2 ** 30 + 1, 2 ** 63, 2 ** 64):
        with pytest.raises(ValueError, match="pad"):
            F.random_flip_crop(img, big, seed=1)
        with pytest.raises(ValueError, match="max_shift"):
            F.random_time_shift(seq, big, seed=1)
    # the largest pad and shift accepted: everything shifts or crops out
    # except with a tiny probability, and nothing reads outside x
    assert np.isfinite(F.random_flip_crop(img, 2 ** 30, seed=1)).all()
    assert np.isfinite(F.random_time_shift(seq, 2 ** 30, wrap=True, seed=1)).all()
    # a scale so small that 1/scale overflows gave NaN pixels
    for lo in (1e-320, 1e-201, 0.0):
        with pytest.raises(ValueError, match=r"scale\[0\]"):
            F.random_affine(img, 30.0, (lo, 1.0), seed=1)
    y = F.random_affine(np.ones((1, 1, 64, 64)), 30.0, (1e-200, 1e-200), 0.5, seed=1)
    assert np.isfinite(y).all()


# ---------------------------------------------------------------- every array in the overlap check
# The cells above alias arrays of one shape and dtype. Here every array an
# argument writes is overlapped, byte by byte, with every other array
# argument of the row, whatever its shape and dtype: masks and labels
# included, so that no argument can be left out of a function's check.

def _overlap_pairs():
    pairs = []
    for s in SPECS:
        args = s.make(np.float64)
        arrays = [a for a, r in s.roles.items() if isinstance(args.get(a), np.ndarray)]
        for w in arrays:
            if s.roles[w] not in ("out", "inout"):
                continue
            for other in arrays:
                if other != w and (s.roles[other] == "in" or s.roles[other] == "labels"
                                   or other > w):
                    pairs.append((s, w, other))
    return pairs


OVERLAP_PAIRS = _overlap_pairs()


def _overlapping(written, other):
    """Copies of ``written`` and ``other`` in one buffer, ``other`` starting
    inside the last element of ``written`` (aligned to its own item size)."""
    step = other.dtype.itemsize
    start = ((written.nbytes - 1) // step) * step
    buf = np.zeros(start + other.nbytes + written.nbytes + 16, np.uint8)
    w = np.ndarray(written.shape, written.dtype, buffer=buf, offset=0)
    w[...] = written
    o = np.ndarray(other.shape, other.dtype, buffer=buf, offset=start)
    o[...] = other
    return w, o, buf


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("spec,written,other", OVERLAP_PAIRS,
                         ids=[f"{s.name}-{w}-{o}" for s, w, o in OVERLAP_PAIRS])
def test_written_array_overlapping_any_other_argument(spec, written, other, dtype):
    args = spec.make(dtype)
    w, o, buf = _overlapping(args[written], args[other])
    assert np.shares_memory(w, o)
    bad = dict(args, **{written: w, other: o})
    snap = _snapshot(bad)
    before = buf.copy()
    with pytest.raises(ValueError) as info:
        spec.call(bad)
    msg = str(info.value)
    names = {spec.msg_names.get(n, n) for n in (written, other)}
    assert any(n in msg for n in names), msg
    np.testing.assert_array_equal(buf, before, err_msg="the shared buffer was modified")
    for a, b in snap:
        np.testing.assert_array_equal(a, b, err_msg="an array was modified")


# ---------------------------------------------------------------- the table follows the signatures
# Parameters whose default is None but that never take an array.
NOT_ARRAYS = {"seed", "n_threads", "momentum", "size", "offset", "norm_type", "step",
              "mu_product", "name", "approximate", "reduction"}


def _signature_rows():
    import inspect

    rows = {}
    for s in SPECS:
        if not getattr(s.fn, "__module__", "").startswith("fastnn"):
            continue
        try:
            inspect.signature(s.fn)
        except (TypeError, ValueError):  # pragma: no cover - builtins
            continue
        rows.setdefault(s.fn, []).append(s)
    return rows


def test_every_array_parameter_of_every_function_is_in_the_table():
    """Each parameter of a public function that can take an array (given
    one by some row, or defaulting to None) is an array argument of some
    row: a new ``out=``/``mask=``/state argument without a row fails here,
    and its row then goes through every cell and overlap test above."""
    import inspect

    rows = _signature_rows()
    assert len(rows) > 80
    missing = []
    for fn, specs in rows.items():
        covered = set().union(*(s.roles for s in specs))
        given = set()
        for s in specs:
            given |= {k for k, v in s.make(np.float64).items() if isinstance(v, np.ndarray)}
        for name, prm in inspect.signature(fn).parameters.items():
            if prm.kind in (prm.VAR_KEYWORD, prm.VAR_POSITIONAL):
                continue
            takes_array = name in given or (prm.default is None and name not in NOT_ARRAYS)
            if takes_array and name not in covered:
                missing.append(f"{specs[0].name}({name})")
    assert not missing, missing


def test_the_signature_check_sees_a_new_array_argument():
    import inspect

    def fn(x, *, out=None, new_mask=None, n_threads=None):
        pass

    params = inspect.signature(fn).parameters
    candidates = [n for n, p in params.items()
                  if p.default is None and n not in NOT_ARRAYS]
    assert candidates == ["out", "new_mask"]


# ---------------------------------------------------------------- 0-d inputs keep their shape

def _zero_d_rows():
    rows = []
    for s in SPECS:
        args = s.make(np.float64)
        arrays = [k for k, r in s.roles.items() if r in ("in", "out", "inout")
                  and isinstance(args.get(k), np.ndarray)]
        shapes = {args[k].shape for k in arrays}
        if arrays and len(shapes) == 1 and all(args[k].dtype.kind == "f" for k in arrays):
            rows.append(s)
    return rows


ZERO_D_ROWS = _zero_d_rows()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_zero_d_arrays_keep_their_shape(dtype):
    """Every row whose array arguments all share one shape (elementwise
    kernels, optimizers, fills) is called with 0-d arrays: it either
    refuses them cleanly or returns 0-d arrays, never shape (1,)."""
    n_ok = 0
    for s in ZERO_D_ROWS:
        args = s.make(dtype)
        for k, r in s.roles.items():
            a = args.get(k)
            if r in ("in", "out", "inout") and isinstance(a, np.ndarray):
                args[k] = np.array(a.reshape(-1)[0] if a.size else 0, dtype=a.dtype)
        try:
            with np.errstate(all="ignore"):
                result = s.call(args)
        except (TypeError, ValueError):
            continue
        n_ok += 1
        for a in _arrays(result, []):
            assert a.shape == (), f"{s.name} returned shape {a.shape} for 0-d inputs"
        for k, r in s.roles.items():
            if isinstance(args.get(k), np.ndarray):
                assert args[k].shape == ()
    assert n_ok > 40


def test_overlap_check_of_a_call_s_arrays():
    """Arrays.check: pairs with a written array must not share memory (any
    layout: contiguous, strided, reversed); read-read overlaps pass unless
    strict; an allowed (written, read) pair may be the very same array but
    not a shifted view; empty arrays never overlap."""
    from fastnn._validation import Arrays

    buf = np.arange(20.0)

    def check(pairs, strict=False, same=()):
        arrays = Arrays()
        for name, a, written in pairs:
            arrays.add(name, a, written)
        for w, r in same:
            arrays.allow_same(w, r)
        arrays.check(strict)

    check([("a", buf[:10], False), ("b", buf[5:], False)])  # read-read
    with pytest.raises(ValueError, match="a and b share memory"):
        check([("a", buf[:10], False), ("b", buf[5:], False)], strict=True)
    with pytest.raises(ValueError, match="x and out share memory"):
        check([("x", buf[:10], False), ("out", buf[9:], True)])
    check([("x", buf[:10], False), ("out", buf[10:], True)])  # adjacent
    # strided and reversed views: their extents, not their sizes, count
    with pytest.raises(ValueError, match="x and out share memory"):
        check([("x", buf[::4], False), ("out", buf[13:15], True)])
    with pytest.raises(ValueError, match="x and out share memory"):
        check([("x", buf[::-1][:3], False), ("out", buf[17:18], True)])
    check([("x", buf[::-1][:3], False), ("out", buf[:17], True)])
    check([("x", buf[:0], False), ("out", buf, True)])  # empty
    # an allowed in-place pair: the same array passes, a shifted view does not
    check([("x", buf, False), ("out", buf, True)], same=[("out", "x")])
    with pytest.raises(ValueError, match="x and out share memory"):
        check([("x", buf[1:], False), ("out", buf[:-1], True)], same=[("out", "x")])
    with pytest.raises(ValueError, match="x and out share memory"):
        check([("x", buf, False), ("out", buf, True)])
