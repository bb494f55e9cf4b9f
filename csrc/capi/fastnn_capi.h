/* Library identity, for callers that load fastnn without its Python layer
 * (ctypes, numba, C programs linking libfastnn, Cython modules through
 * fastnn._ext.capi). Compare fnn_api_version() with the FASTNN_API_VERSION
 * your code was compiled against before calling any kernel: a different
 * value means some declaration changed. */
#ifndef FASTNN_CAPI_H
#define FASTNN_CAPI_H

/* FASTNN_VERSION of the library actually loaded, e.g. "0.1.0". */
const char *fnn_version(void);

/* Bitmask of the FNN_FEATURE_* this build has, so a caller can tell a
 * single-threaded or baseline-only build from a full one. */
#define FNN_FEATURE_OPENMP 0x1       /* kernels honour n_threads */
#define FNN_FEATURE_SIMD_DISPATCH 0x2 /* AVX2/AVX-512 variants compiled in */
int fnn_features(void);

#endif
