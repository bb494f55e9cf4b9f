#include "dispatch.h"

#include <stdlib.h>
#include <string.h>

/* Which per-ISA kernel table to use: one per process, in libfastnn, shared
 * by every extension module. It is written when the library is loaded (or by
 * fastnn.set_simd_level(), between calls) and only read by kernels. */
static int simd_level = FNN_SIMD_BASELINE;

static const char *level_names[FNN_SIMD_N_LEVELS] = {"baseline", "avx2", "avx512"};

const char *fnn_simd_level_name(int level)
{
    if (level < 0 || level >= FNN_SIMD_N_LEVELS) return "unknown";
    return level_names[level];
}

int fnn_simd_max_level(void)
{
#if defined(FNN_X86_64) && !defined(FNN_NO_SIMD_DISPATCH) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return FNN_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return FNN_SIMD_AVX2;
#endif
    return FNN_SIMD_BASELINE;
}

int fnn_simd_level(void) { return simd_level; }

int fnn_simd_set_level(int level)
{
    int max_level = fnn_simd_max_level();
    if (level < 0) level = 0;
    if (level > max_level) level = max_level;
    simd_level = level;
    return level;
}

void fnn_simd_init(void)
{
    int level = fnn_simd_max_level();
    const char *cap = getenv("FASTNN_SIMD");
    if (cap != NULL && cap[0] != '\0') {
        for (int i = 0; i < FNN_SIMD_N_LEVELS; ++i)
            if (strcmp(cap, level_names[i]) == 0 && i < level) level = i;
    }
    fnn_simd_set_level(level);
}

#if defined(__GNUC__) || defined(__clang__)
/* A C program or ctypes can load the kernels without any Python module
 * calling fnn_simd_init(): choose the level as the library is loaded so
 * such callers get the vector kernels too. */
__attribute__((constructor)) static void fnn_simd_init_at_load(void) { fnn_simd_init(); }
#endif
