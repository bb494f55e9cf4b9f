/* Library identity, for callers that load fastnn without its Python layer
 * (ctypes, numba, C programs linking libfastnn, Cython modules through
 * fastnn._ext.capi). Compare fnn_api_version() with the FASTNN_API_VERSION
 * your code was compiled against before calling any kernel: a different
 * value means some declaration changed. */
#ifndef FASTNN_CAPI_H
#define FASTNN_CAPI_H

#include "../core/common.h" /* size_t, int64_t, FNN_FLAG_*, FNN_DTYPE_* */

#ifdef __cplusplus
extern "C" {
#endif

/* FASTNN_VERSION of the library actually loaded, e.g. "0.1.0". */
const char *fnn_version(void);

/* Bitmask of the FNN_FEATURE_* this build has, so a caller can tell a
 * single-threaded or baseline-only build from a full one. */
#define FNN_FEATURE_OPENMP 0x1       /* kernels honour n_threads */
#define FNN_FEATURE_SIMD_DISPATCH 0x2 /* AVX2/AVX-512 variants compiled in */
int fnn_features(void);

/* The SIMD level is chosen from the CPU (capped by the FASTNN_SIMD
 * environment variable) when the library is loaded. These read and pin it
 * for this copy of the library: FNN_SIMD_BASELINE, _AVX2 or _AVX512. All
 * levels give bitwise-identical results. Not to be called while a kernel
 * runs in another thread. */
int fnn_simd_max_level(void);
int fnn_simd_set_level(int level); /* clamped to fnn_simd_max_level(); returns the level set */

#ifdef __cplusplus
}
#endif

#endif
