"""Run-time information, the bandwidth probe and the fast argument checks.

The checks live here, compiled, because the Python layer calls them on
every kernel call: a call on a 1,000-element array must cost a few
microseconds, not tens."""
cimport numpy as cnp
from libc.stdlib cimport getenv, strtol
import numpy as np

from fastnn._ext.c_capi cimport (
    fnn_api_version, fnn_openmp_enabled,
    fnn_simd_max_level, fnn_simd_level, fnn_simd_set_level, fnn_simd_level_name,
    fnn_stream_triad, fnn_compiler_version,
    fnn_runtime_set_spin_us, fnn_runtime_spin_us, fnn_runtime_pooled, fnn_runtime_stats,
    fnn_runtime_set_test_mode, fnn_runtime_hot_begin, fnn_runtime_hot_end, fnn_runtime_hot_depth,
)

# libfastnn's own, not in the public header fastnn.h
cdef extern from "core/parallel.h" nogil:
    int fnn_openmp_version()
    int fnn_openmp_max_threads()
from libc.stdint cimport uint64_t

cnp.import_array()


API_VERSION = fnn_api_version()


def compiler_version():
    return fnn_compiler_version().decode()


def openmp_enabled():
    return bool(fnn_openmp_enabled())


def openmp_version():
    return fnn_openmp_version()


def openmp_max_threads():
    """omp_get_max_threads() now: follows OMP_NUM_THREADS and threadpoolctl."""
    return fnn_openmp_max_threads()


def default_threads():
    """omp_get_max_threads(), lowered by OMP_NUM_THREADS as set right now.

    getenv() sees assignments to os.environ (CPython calls putenv), so a
    change of OMP_NUM_THREADS after import is honoured at the next call.
    """
    cdef int n = fnn_openmp_max_threads()
    cdef const char *env = getenv("OMP_NUM_THREADS")
    cdef char *end
    cdef long value
    if env != NULL and env[0] != 0:
        value = strtol(env, &end, 10)
        if end != env and value >= 1 and value < n:
            n = <int>value
    return n


def pooled():
    """Whether kernels run on fastnn's own thread pool (else OpenMP)."""
    return bool(fnn_runtime_pooled())


def spin_us():
    return fnn_runtime_spin_us()


def set_spin_us(long us):
    fnn_runtime_set_spin_us(us)


def hot_begin():
    """Open a section of back-to-back calls (counted): workers spin 2 ms for
    the next call instead of spin_us()."""
    fnn_runtime_hot_begin()


def hot_end():
    fnn_runtime_hot_end()


def hot_depth():
    """Sections opened by hot_begin and not yet ended."""
    return fnn_runtime_hot_depth()


def pool_stats():
    """Counters of the thread pool since start (csrc/runtime/fastnn_runtime.h)."""
    cdef uint64_t out[6]
    fnn_runtime_stats(out)
    return {"jobs": out[0], "inline": out[1], "worker_chunks": out[2], "waits": out[3],
            "workers": out[4], "solo": out[5]}


def set_test_mode(int mode, long value):
    """Test hook: 0 off, 1 every worker sleeps `value` us inside each chunk,
    2 workers ignore every job."""
    fnn_runtime_set_test_mode(mode, value)


def simd_max_level():
    return fnn_simd_max_level()


# The SIMD level is one global of libfastnn.so, which every extension links:
# chosen from the CPU (capped by FASTNN_SIMD) when the library is loaded,
# switched here for all of fastnn at once.
def simd_level():
    return fnn_simd_level()


def set_simd_level(int level):
    """Use the kernels of SIMD ``level`` (clamped to what the CPU has)."""
    return fnn_simd_set_level(level)


def simd_level_name(int level):
    return fnn_simd_level_name(level).decode()


def stream_triad(cnp.ndarray a, cnp.ndarray b, cnp.ndarray c, double scalar, int n_threads):
    cdef double *pa = <double *>cnp.PyArray_DATA(a)
    cdef const double *pb = <const double *>cnp.PyArray_DATA(b)
    cdef const double *pc = <const double *>cnp.PyArray_DATA(c)
    cdef size_t n = <size_t>cnp.PyArray_SIZE(a)
    with nogil:
        fnn_stream_triad(pa, pb, pc, scalar, n, n_threads)


# ---------------------------------------------------------------- checks

cdef inline bint _is_real(cnp.ndarray a):
    cdef int t = cnp.PyArray_TYPE(a)
    return t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64


cdef inline bint _same_shape(cnp.ndarray a, cnp.ndarray b):
    cdef int nd = cnp.PyArray_NDIM(a), i
    if nd != cnp.PyArray_NDIM(b):
        return False
    cdef cnp.npy_intp *da = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp *db = cnp.PyArray_DIMS(b)
    for i in range(nd):
        if da[i] != db[i]:
            return False
    return True


cdef _not_array(str name, object a):
    return TypeError(f"{name} must be a numpy.ndarray of float32 or float64, "
                     f"got {type(a).__name__}")


cdef inline bint _is_native(cnp.ndarray arr):
    return cnp.PyArray_ISNOTSWAPPED(arr)


cdef _check_native(str name, cnp.ndarray arr):
    """Arrays written in place must be in the machine's byte order: the
    kernels see raw memory, and converting would write into a copy."""
    if not _is_native(arr):
        raise TypeError(f"{name} has dtype {arr.dtype.str} in non-native byte order; it is "
                        f"written in place, so it must be native {arr.dtype.newbyteorder('=')} "
                        f"(convert it with .astype({arr.dtype.newbyteorder('=').name!r}))")


cdef _check_writable(str name, cnp.ndarray arr):
    _check_native(name, arr)
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError(f"{name} must be C-contiguous: it is updated in place and fastnn "
                         f"never writes to a copy")
    if not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError(f"{name} is read-only but is updated in place")


cdef cnp.ndarray _check_like(str name, object a, cnp.ndarray like):
    """``a`` as an ndarray of the dtype and shape of ``like``, or raise."""
    cdef cnp.ndarray arr = _check_type(name, a, cnp.PyArray_TYPE(like), like.dtype)
    if not _same_shape(arr, like):
        raise ValueError(f"{name} has shape {(<object>arr).shape}, "
                         f"expected {(<object>like).shape}")
    return arr


cdef cnp.ndarray _check_type(str name, object a, int type_num, object dtype):
    if not isinstance(a, cnp.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if cnp.PyArray_TYPE(arr) != type_num:
        raise TypeError(f"{name} has dtype {arr.dtype} but the call is {dtype}: "
                        f"one dtype per call")
    return arr


def check_param(str name, object a):
    """Check an array the kernel writes in place and that sets the dtype.

    Raises TypeError unless ``a`` is a float32/float64 ndarray, and
    ValueError unless it is C-contiguous and writable: fastnn never updates
    a silent copy.
    """
    if not isinstance(a, cnp.ndarray):
        raise _not_array(name, a)
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if not _is_real(arr):
        raise TypeError(f"{name} has dtype {arr.dtype}; fastnn kernels take float32 or float64")
    _check_writable(name, arr)
    return arr


def check_inout(str name, object a, cnp.ndarray like):
    """Check an array written in place against ``like``: same dtype and shape,
    C-contiguous and writable."""
    cdef cnp.ndarray arr = _check_like(name, a, like)
    _check_writable(name, arr)
    return arr


def check_inout_shape(str name, object a, tuple shape, object dtype):
    """:func:`check_inout` against a shape and dtype rather than an array of
    them (for arrays whose shape is not that of another argument)."""
    cdef cnp.dtype dt = np.dtype(dtype)
    cdef cnp.ndarray arr = _check_type(name, a, dt.type_num, dt)
    if (<object>arr).shape != shape:
        raise ValueError(f"{name} has shape {(<object>arr).shape}, expected {shape}")
    _check_writable(name, arr)
    return arr


def check_input(str name, object a, cnp.ndarray like):
    """Check an array that is only read: same dtype and shape as ``like``.

    Returns a C-contiguous array in native byte order: a non-contiguous or
    byte-swapped input is copied, which is safe because it is never written.
    """
    cdef cnp.ndarray arr = _check_like(name, a, like)
    if not _is_native(arr):
        return np.array(arr, dtype=arr.dtype.newbyteorder("="), order="C", copy=True)
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        arr = np.ascontiguousarray(arr)
    return arr


def check_disjoint(tuple names, tuple arrays, Py_ssize_t n_written=-1):
    """Raise ValueError if any two of ``arrays`` (None entries skipped) share
    memory: the kernels assume no aliasing between their arguments.

    With ``n_written`` >= 0, only the pairs that include one of the first
    ``n_written`` arrays (those the call writes) are checked: arrays that are
    only read may overlap each other.

    Compares address ranges ([data, data + nbytes) of each C-contiguous
    array): pairwise for a few arrays, by sorting for many.
    """
    cdef Py_ssize_t i, j, n = len(arrays), n_first
    cdef size_t lo_i, hi_i, lo_j, hi_j
    cdef cnp.ndarray ai, aj
    n_first = n if n_written < 0 or n_written > n else n_written
    if n > 16 and n_first == n:
        _check_disjoint_sorted(names, arrays)
        return
    for i in range(n_first):
        if arrays[i] is None:
            continue
        ai = <cnp.ndarray>arrays[i]
        lo_i = <size_t>cnp.PyArray_DATA(ai)
        hi_i = lo_i + <size_t>cnp.PyArray_NBYTES(ai)
        if hi_i == lo_i:
            continue
        for j in range(i + 1, n):
            if arrays[j] is None:
                continue
            aj = <cnp.ndarray>arrays[j]
            lo_j = <size_t>cnp.PyArray_DATA(aj)
            hi_j = lo_j + <size_t>cnp.PyArray_NBYTES(aj)
            if lo_j < hi_i and lo_i < hi_j:
                raise ValueError(f"{names[i]} and {names[j]} share memory; "
                                 f"pass distinct arrays")


cdef _check_disjoint_sorted(tuple names, tuple arrays):
    cdef list spans = []
    cdef Py_ssize_t i
    cdef size_t lo, hi
    cdef cnp.ndarray a
    for i in range(len(arrays)):
        if arrays[i] is None:
            continue
        a = <cnp.ndarray>arrays[i]
        lo = <size_t>cnp.PyArray_DATA(a)
        hi = lo + <size_t>cnp.PyArray_NBYTES(a)
        if hi > lo:
            spans.append((lo, hi, i))
    spans.sort()
    cdef size_t reach = 0
    cdef Py_ssize_t owner = -1
    for lo, hi, i in spans:
        if owner >= 0 and lo < reach:
            raise ValueError(f"{names[owner]} and {names[i]} share memory; "
                             f"pass distinct arrays")
        if hi > reach:
            reach = hi
            owner = i


def check_overlaps(list names, list arrays, list written, bint strict=False, set same_ok=None):
    """Raise ValueError naming the first pair of ``arrays`` that share memory
    where at least one of the two is written (``written[i]``), or any pair
    with ``strict``. A pair listed in ``same_ok`` as (written name, read name),
    in either order, may be the very same array (same start, size and
    strides). The backend of :meth:`fastnn._validation.Arrays.check`.

    C-contiguous arrays are compared by address range; any other pair by
    ``numpy.may_share_memory`` (the bounds of its extents).
    """
    cdef Py_ssize_t i, j, n = len(arrays)
    cdef size_t lo_i, hi_i, lo_j, hi_j
    cdef cnp.ndarray ai, aj
    cdef bint wi, contiguous_i
    for i in range(n):
        ai = <cnp.ndarray>arrays[i]
        if cnp.PyArray_NBYTES(ai) == 0:
            continue
        wi = strict or <bint>written[i]
        contiguous_i = cnp.PyArray_IS_C_CONTIGUOUS(ai)
        lo_i = <size_t>cnp.PyArray_DATA(ai)
        hi_i = lo_i + <size_t>cnp.PyArray_NBYTES(ai)
        for j in range(i + 1, n):
            if not (wi or <bint>written[j]):
                continue
            aj = <cnp.ndarray>arrays[j]
            if cnp.PyArray_NBYTES(aj) == 0:
                continue
            if contiguous_i and cnp.PyArray_IS_C_CONTIGUOUS(aj):
                lo_j = <size_t>cnp.PyArray_DATA(aj)
                hi_j = lo_j + <size_t>cnp.PyArray_NBYTES(aj)
                if not (lo_j < hi_i and lo_i < hi_j):
                    continue
            elif not np.may_share_memory(ai, aj):
                continue
            if same_ok and ((names[i], names[j]) in same_ok
                            or (names[j], names[i]) in same_ok) and _same_array(ai, aj):
                continue
            raise ValueError(f"{names[i]} and {names[j]} share memory; pass distinct arrays")


cdef bint _same_array(cnp.ndarray a, cnp.ndarray b):
    return (cnp.PyArray_DATA(a) == cnp.PyArray_DATA(b)
            and cnp.PyArray_NBYTES(a) == cnp.PyArray_NBYTES(b) and a.strides == b.strides)


def check_real(str name, object value, object low=None, bint low_inclusive=True,
               object high=None, bint high_inclusive=False):
    """A finite real hyperparameter within [low, high] (bounds optional).

    Raises TypeError for non-numbers (bool included) and ValueError for NaN,
    infinities and values out of range. Returns it as a float.
    """
    cdef double v
    if type(value) is float:
        v = <double>value
    elif isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    else:
        v = float(value)
    if v != v:
        raise ValueError(f"{name} must not be NaN")
    if low is not None:
        if v < <double>low or (v == <double>low and not low_inclusive):
            raise ValueError(f"{name} must be {'>=' if low_inclusive else '>'} {low}, got {v}")
    if high is not None:
        if v > <double>high or (v == <double>high and not high_inclusive):
            raise ValueError(f"{name} must be {'<=' if high_inclusive else '<'} {high}, got {v}")
    if v == float("inf") or v == -float("inf"):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def prepare_single(object param, object grad, tuple state_names, tuple states,
                   tuple required):
    """All the checks of a one-array optimizer call, in one pass.

    ``states[i]`` may be None (skipped, or TypeError when ``required[i]``).
    Returns ``([param], [grad], [[state] or None, ...])`` with ``grad`` made
    C-contiguous. Nothing is written.
    """
    cdef cnp.ndarray p = check_param("param", param)
    cdef cnp.ndarray g = check_input("grad", grad, p)
    cdef list lists = []
    cdef list names = ["param", "grad"]
    cdef list arrays = [p, g]
    cdef Py_ssize_t i
    for i in range(len(states)):
        value = states[i]
        if value is None:
            if required[i]:
                raise TypeError(f"{state_names[i]} is required with these options")
            lists.append(None)
            continue
        s = check_inout(state_names[i], value, p)
        names.append(state_names[i])
        arrays.append(s)
        lists.append([s])
    check_disjoint(tuple(names), tuple(arrays))
    return [p], [g], lists
