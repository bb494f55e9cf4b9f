/* The Philox4x32-10 generator (Salmon et al. 2011) as the random and
 * dropout families share it: streams, rounds and the sizes their loops
 * work in. Its per-ISA loops are in philox_t.h. Not installed for users.
 *
 * A stream is named by (seed, offset): the 64-bit seed is the key (low
 * word first) and the 64-bit offset fills the high half of the counter, so
 * every offset is an independent stream of 2^64 blocks. Word i of a stream
 * is word i%4 of block i/4. */
#ifndef FASTNN_RANDOM_PHILOX_INTERNAL_H
#define FASTNN_RANDOM_PHILOX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Elements per tile: the words of one tile (at most 2 per element) live in
 * an 8 KiB stack buffer, so generating them and consuming them both stay
 * in L1 and nothing is allocated. */
#define FNN_RANDOM_TILE ((size_t)1024)
/* Thread ranges start at multiples of this many elements: whole Philox
 * blocks, whole Box-Muller pairs and whole bytes of a packed mask. */
#define FNN_RANDOM_ALIGN ((size_t)64)
/* Generating numbers costs far more per element than a plain elementwise
 * pass, so threads pay off on smaller inputs. */
#define FNN_RANDOM_GRAIN ((size_t)8192)

/* Philox4x32 constants (Salmon et al. 2011, table 2 and section 3.3). */
#define FNN_PHILOX_M0 0xD2511F53u
#define FNN_PHILOX_M1 0xCD9E8D57u
#define FNN_PHILOX_W0 0x9E3779B9u /* golden ratio */
#define FNN_PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

/* The key and the fixed high half of the counter of one stream. */
typedef struct {
    uint32_t k0, k1; /* seed */
    uint32_t o0, o1; /* offset */
} fnn_stream;

static inline fnn_stream fnn_make_stream(uint64_t seed, uint64_t offset)
{
    fnn_stream s = {(uint32_t)seed, (uint32_t)(seed >> 32), (uint32_t)offset,
                    (uint32_t)(offset >> 32)};
    return s;
}

/* What the normals loop does with z (philox_t.h): fill, or add or multiply
 * noise into x. */
enum { FNN_NOISE_FILL = 0, FNN_NOISE_ADD = 1, FNN_NOISE_MUL = 2 };

/* One Philox round on (c0..c3) with key (k0, k1); a macro so that the
 * vectorizer sees plain integer arithmetic in the caller's loop. */
#define FNN_PHILOX_ROUND(c0, c1, c2, c3, k0, k1)                      \
    do {                                                              \
        uint64_t p0_ = (uint64_t)FNN_PHILOX_M0 * (uint64_t)(c0);      \
        uint64_t p1_ = (uint64_t)FNN_PHILOX_M1 * (uint64_t)(c2);      \
        uint32_t n0_ = (uint32_t)(p1_ >> 32) ^ (c1) ^ (k0);           \
        uint32_t n2_ = (uint32_t)(p0_ >> 32) ^ (c3) ^ (k1);           \
        (c1) = (uint32_t)p1_;                                         \
        (c3) = (uint32_t)p0_;                                         \
        (c0) = n0_;                                                   \
        (c2) = n2_;                                                   \
    } while (0)

#define FNN_PHILOX_10(c0, c1, c2, c3, key0, key1)                                   \
    do {                                                                            \
        uint32_t k0_ = (key0), k1_ = (key1);                                        \
        for (int r_ = 0; r_ < 10; ++r_) {                                           \
            FNN_PHILOX_ROUND(c0, c1, c2, c3, k0_, k1_);                             \
            k0_ += FNN_PHILOX_W0;                                                   \
            k1_ += FNN_PHILOX_W1;                                                   \
        }                                                                           \
    } while (0)

/* Word i of a stream, computed alone (channel dropout: one word per row). */
static inline uint32_t fnn_stream_word(const fnn_stream *s, size_t i)
{
    const uint64_t b = (uint64_t)(i / 4);
    uint32_t c0 = (uint32_t)b, c1 = (uint32_t)(b >> 32), c2 = s->o0, c3 = s->o1;
    FNN_PHILOX_10(c0, c1, c2, c3, s->k0, s->k1);
    const uint32_t out[4] = {c0, c1, c2, c3};
    return out[i % 4];
}

#endif
