/* Run-time information and the bandwidth probe. */
#ifndef FASTNN_RUNTIME_H
#define FASTNN_RUNTIME_H

#include <stddef.h>

/* STREAM triad a[i] = b[i] + scalar·c[i] (a OUT; b, c IN), 24 bytes per element. */
void fnn_stream_triad(double *a, const double *b, const double *c, double scalar, size_t n,
                      int n_threads);

/* The compiler that built the kernels, e.g. "gcc 12.2.0". */
const char *fnn_compiler_version(void);

#endif
