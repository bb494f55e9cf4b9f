/* Non-temporal ("streaming") stores for outputs much larger than the
 * caches. A normal store first reads the destination line into the cache
 * (write-allocate), so filling an array costs a read and a write of it;
 * streaming stores write whole lines past the caches and halve that
 * traffic. They only pay when the data would not stay cached anyway, hence
 * the size threshold, decided once per call by the driver.
 *
 * Include after core/isa_begin.h in a per-ISA unit: the widest store of
 * that unit's instruction set is used. The including unit includes the
 * intrinsics headers (<immintrin.h>, or <emmintrin.h> for the baseline and
 * the drivers' fence) before it. Stores change no value, so results stay
 * bitwise identical with and without streaming. */
#ifndef FASTNN_CORE_STREAM_STORE_H
#define FASTNN_CORE_STREAM_STORE_H

#include <stdint.h>
#include <string.h>

#include "common.h"

#include "parallel.h" /* FNN_STREAM_MIN_BYTES */

/* The widest store of the unit's instruction set (none outside per-ISA
 * units: there fnn_stream_copy is a plain copy). */
#if defined(FNN_ISA) && defined(FNN_X86_64)
#if FNN_ISA_ID(FNN_ISA) == 2
#define FNN_STREAM_WIDTH 64
#define FNN_STREAM_ONE(d, s) _mm512_stream_si512((__m512i *)(d), _mm512_loadu_si512((const void *)(s)))
#elif FNN_ISA_ID(FNN_ISA) == 1
#define FNN_STREAM_WIDTH 32
#define FNN_STREAM_ONE(d, s) \
    _mm256_stream_si256((__m256i *)(d), _mm256_loadu_si256((const __m256i *)(s)))
#elif defined(__SSE2__)
#define FNN_STREAM_WIDTH 16
#define FNN_STREAM_ONE(d, s) _mm_stream_si128((__m128i *)(d), _mm_loadu_si128((const __m128i *)(s)))
#endif
#endif

/* dst[0 .. n_bytes) ← src[0 .. n_bytes); src is a small cache-resident
 * buffer. The unaligned head and tail of dst take ordinary stores. */
static inline void fnn_stream_copy(void *FNN_RESTRICT dst, const void *FNN_RESTRICT src,
                                   size_t n_bytes)
{
#ifdef FNN_STREAM_WIDTH
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    size_t head = (size_t)(-(uintptr_t)d) & (FNN_STREAM_WIDTH - 1);
    if (head > n_bytes) head = n_bytes;
    memcpy(d, s, head);
    size_t i = head;
    for (; i + FNN_STREAM_WIDTH <= n_bytes; i += FNN_STREAM_WIDTH) FNN_STREAM_ONE(d + i, s + i);
    memcpy(d + i, s + i, n_bytes - i);
#else
    memcpy(dst, src, n_bytes);
#endif
}

/* Orders a thread's streaming stores before what follows (the parallel
 * region's closing barrier): they are weakly ordered. */
static inline void fnn_stream_fence(void)
{
#if defined(FNN_X86_64)
    _mm_sfence();
#endif
}

#endif
