/* Activation drivers for float and double. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "dense_internal.h"
#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#endif
#include "../core/stream_store.h"

/* at most this many threads run tiles of fastnn's own product at once */
#define FNN_MAX_PACK_SLOTS 64

/* values per buffered chunk of a streamed pass (16 KB in float64) */
#define FNN_DENSE_STREAM_CHUNK 2048

/* ---- the tiles of the dense layer's matrix products ----
 *
 * An output of rows × cols values with `inner` multiply-adds each is cut
 * into a grid of tiles, one single-threaded BLAS call per tile. The grid
 * depends on the sizes only, so results never depend on the thread count
 * (a BLAS rounds differently for different tile shapes, so the grid must
 * not follow the thread count). `share` is the fraction of the call's
 * tiles a product gets: backward runs dW and dx side by side, half the
 * tiles each, which keeps their tasks the same size.
 *
 * How many: one tile per FNN_TILE_WORK multiply-adds, at most
 * FNN_TILE_COUNT tiles below FNN_TILE_COUNT·FNN_TILE_BIG_WORK and one per
 * FNN_TILE_BIG_WORK above (so large products keep many cores busy), no
 * side cut below FNN_TILE_MIN_SIDE. Each call repacks (copies) its
 * operands, so every extra tile costs: on 2 cores, x 4096×256 @ W 256×256
 * in 4 tiles ran about 5% faster than in 8. Which grid: each call packs
 * its tile's rows of one operand and columns of the other, inner values
 * each, against tile_rows·tile_cols·inner multiply-adds, so the grid with
 * the smallest 1/tile_rows + 1/tile_cols is taken (fewer row tiles on a
 * tie). */
#define FNN_TILE_WORK ((double)(1 << 23))
#define FNN_TILE_BIG_WORK ((double)(1 << 26))
#define FNN_TILE_COUNT 4
#define FNN_TILE_MIN_SIDE 128

typedef struct {
    size_t tile_rows, tile_cols, n_row_tiles, n_col_tiles;
} fnn_tile_grid;

static size_t fnn_div_up(size_t a, size_t b) { return (a + b - 1) / b; }

static fnn_tile_grid fnn_plan_tiles(size_t rows, size_t cols, size_t inner, double share)
{
    fnn_tile_grid g = {rows, cols, 0, 0};
    if (rows == 0 || cols == 0) return g; /* no tiles */
    const double work = (double)rows * (double)cols * (double)inner;
    double cap = work / FNN_TILE_BIG_WORK;
    cap = cap < FNN_TILE_COUNT ? FNN_TILE_COUNT : cap;
    double want = ceil(share * work / FNN_TILE_WORK);
    cap = ceil(share * cap);
    want = want > cap ? cap : (want < 1 ? 1 : want);
    const size_t max_r = rows / FNN_TILE_MIN_SIDE > 1 ? rows / FNN_TILE_MIN_SIDE : 1;
    const size_t max_c = cols / FNN_TILE_MIN_SIDE > 1 ? cols / FNN_TILE_MIN_SIDE : 1;
    size_t n_tiles = (size_t)want;
    if ((double)n_tiles > (double)max_r * (double)max_c) n_tiles = max_r * max_c;
    size_t best_r = 1, best_c = 1;
    double best_cost = -1.0;
    for (size_t c = 1; c <= n_tiles && c <= max_c; ++c) {
        size_t r = fnn_div_up(n_tiles, c);
        if (r > max_r) continue;
        double cost = (double)r / (double)rows + (double)c / (double)cols;
        if (best_cost < 0 || cost < best_cost || (cost == best_cost && r < best_r)) {
            best_cost = cost;
            best_r = r;
            best_c = c;
        }
    }
    g.tile_rows = fnn_div_up(rows, best_r);
    /* whole cache lines of a row per tile */
    g.tile_cols = fnn_div_up(fnn_div_up(cols, best_c), 16) * 16;
    g.tile_cols = g.tile_cols > cols ? cols : g.tile_cols;
    g.n_row_tiles = fnn_div_up(rows, g.tile_rows);
    g.n_col_tiles = fnn_div_up(cols, g.tile_cols);
    return g;
}

/* How many fixed chunks of the inner dimension a product with a small
 * output and a long inner dimension (the weight gradient dW = dzᵀ·x sums
 * over the whole batch) is split into: each chunk is one product into its
 * own partial sum, and the partial sums are added in chunk order. Cutting
 * the output into small tiles instead would make every call repack most
 * of its operands. At most the tile count the work asks for, and chunks of
 * at least FNN_TILE_MIN_CHUNK. */
#define FNN_TILE_MIN_CHUNK 512

static size_t fnn_plan_chunks(size_t rows, size_t cols, size_t inner, double share)
{
    const double work = (double)rows * (double)cols * (double)inner;
    double want = ceil(share * work / FNN_TILE_WORK);
    const double cap = ceil(share * FNN_TILE_COUNT);
    want = want > cap ? cap : (want < 1 ? 1 : want);
    size_t chunks = (size_t)want;
    size_t max_chunks = inner / FNN_TILE_MIN_CHUNK;
    /* only worth it where the output would otherwise be cut into small tiles */
    if (rows >= (size_t)FNN_TILE_COUNT * FNN_TILE_MIN_SIDE ||
        cols >= (size_t)FNN_TILE_COUNT * FNN_TILE_MIN_SIDE)
        return 1;
    chunks = chunks > max_chunks ? max_chunks : chunks;
    return chunks < 1 ? 1 : chunks;
}

/* ---- the engine of the products (fastnn_dense.h: fnn_dense_engine) ----
 * One setting per process, written at load time or between calls. */
static int dense_engine = FNN_DENSE_ENGINE_AUTO;

int fnn_dense_set_engine(int engine)
{
    if (engine < FNN_DENSE_ENGINE_AUTO || engine > FNN_DENSE_ENGINE_OWN) return -1;
    dense_engine = engine;
    return engine;
}

int fnn_dense_get_engine(void) { return dense_engine; }

#if defined(__GNUC__) || defined(__clang__)
__attribute__((constructor)) static void fnn_dense_engine_at_load(void)
{
    static const char *names[] = {"auto", "blas", "own"};
    const char *e = getenv("FASTNN_DENSE_ENGINE");
    if (e == NULL) return;
    for (int i = 0; i < 3; ++i)
        if (strcmp(e, names[i]) == 0) dense_engine = i;
}
#endif

/* Packing buffers of fastnn's own product, one per thread that may run a
 * tile at once: a thread takes a free one at the start of its range of
 * tiles and returns it at the end. */
typedef struct {
    void *mem;          /* n_slots × slot_bytes from its first 64-byte boundary */
    size_t slot_bytes;
    int n_slots;
    _Atomic int busy[FNN_MAX_PACK_SLOTS];
} fnn_pack_slots;

static int fnn_pack_slots_init(fnn_pack_slots *s, size_t n_tiles, int n_threads, size_t values,
                               size_t value_bytes)
{
    int nt = fnn_effective_threads(n_tiles, 1, n_threads);
    s->n_slots = nt < FNN_MAX_PACK_SLOTS ? nt : FNN_MAX_PACK_SLOTS;
    s->slot_bytes = (values * value_bytes + 63) / 64 * 64;
    for (int i = 0; i < FNN_MAX_PACK_SLOTS; ++i) atomic_init(&s->busy[i], 0);
    s->mem = NULL;
    if (n_tiles == 0) return 0;
    s->mem = malloc(s->slot_bytes * (size_t)s->n_slots + 63);
    return s->mem == NULL ? -1 : 0;
}

static void *fnn_pack_slot_at(const fnn_pack_slots *s, int i)
{
    uintptr_t base = ((uintptr_t)s->mem + 63) & ~(uintptr_t)63;
    return (void *)(base + s->slot_bytes * (size_t)i);
}

/* A free slot (there are as many as threads can run tiles at once; should
 * more ever arrive, they wait for one). */
static int fnn_pack_slot_take(fnn_pack_slots *s)
{
    for (;;)
        for (int i = 0; i < s->n_slots; ++i)
            if (atomic_load_explicit(&s->busy[i], memory_order_relaxed) == 0 &&
                atomic_exchange_explicit(&s->busy[i], 1, memory_order_acquire) == 0)
                return i;
}

static void fnn_pack_slot_give(fnn_pack_slots *s, int i)
{
    atomic_store_explicit(&s->busy[i], 0, memory_order_release);
}

#define FNN_TEMPLATE "dense/dense_driver_t.h"
#include "../core/instantiate_dtypes.h"
