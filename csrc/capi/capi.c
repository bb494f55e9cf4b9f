/* Identity of the loaded library (see fastnn_capi.h). */
#include "../core/parallel.h"
#include "../fastnn.h"

const char *fnn_version(void) { return FASTNN_VERSION; }

int fnn_features(void)
{
    int f = 0;
    if (fnn_openmp_enabled()) f |= FNN_FEATURE_OPENMP;
#if !defined(FNN_NO_SIMD_DISPATCH)
    f |= FNN_FEATURE_SIMD_DISPATCH;
#endif
    return f;
}
