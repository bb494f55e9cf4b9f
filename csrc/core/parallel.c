/* fastnn's thread runtime: a pool that never makes a call wait for a thread
 * that is not running.
 *
 * Design
 * ------
 * a) A call is cut into chunks whose boundaries depend on the sizes only
 *    (plan_chunks): never on the thread count, the schedule or who runs them.
 * b) The calling thread publishes the job and starts on the first chunk at
 *    once. Chunks are claimed one at a time from one atomic word. A worker
 *    that arrives late finds every chunk claimed and goes back to waiting;
 *    the call never waits for it.
 * c) The caller waits only for chunks that a worker has claimed and not yet
 *    finished. A claimed chunk is never run twice (the optimizers update in
 *    place: a second run would apply the step twice), so a worker preempted
 *    inside a chunk still holds the call up; chunks are small (a quarter of
 *    the grain, a few microseconds of work) so that this is rare and short,
 *    and the caller sleeps on a futex while it waits, which leaves its core
 *    idle so that the scheduler can move the preempted worker onto it.
 * d) Workers spin for a short while after a job (FASTNN_SPIN_US, default
 *    50 us) so that back-to-back kernel calls find them hot, then sleep on a
 *    futex. Between fnn_runtime_hot_begin and _end (a training loop: a dozen
 *    calls per step with Python between them) they spin 2 ms instead, as
 *    long as a spinning worker is not descheduled or absent from a job: on
 *    a core shared with another process, a hot worker would draw small
 *    calls to a thread that is often not running, so hot spinning stops
 *    there for 100 ms. A call smaller than FNN_COLD_MIN_GRAINS grains stays on the
 *    calling thread when no worker is spinning: waking a sleeping thread
 *    costs more than such a call (unless the driver says its items are
 *    large, FNN_PARALLEL_LARGE_ITEMS: two product tiles of a dense layer are
 *    each worth a wake-up).
 * e) One job at a time owns the pool. A call made while another thread's
 *    job owns it (several Python threads), or from inside a chunk (nested),
 *    runs on its own thread: it never queues behind another call.
 * g) When a call waited for a worker's last chunk more than half a chunk's
 *    time (plus 50 us, and at least an eighth of its own work) after
 *    finishing its own (the worker was preempted or shares its core with
 *    another process or a spinning BLAS thread),
 *    the following calls run on the calling thread alone for a while
 *    (FNN_SOLO_MIN_NS, doubling while it happens again, up to
 *    FNN_SOLO_MAX_NS), then the pool is tried again. On a shared machine
 *    the second core is worth less than the wait for it; on a quiet one no
 *    call waits and every call uses the pool.
 * f) After fork() the child starts with no workers and creates new ones on
 *    its first parallel call (pthread_atfork), whatever entry point the
 *    parent used.
 *
 * Determinism: every chunk is the same call fn(ctx, begin, end) whoever runs
 * it, and kernels that reduce write one partial result per fixed block,
 * combined by the caller in block order (fnn_parallel_reduce). So results
 * are bitwise identical for any thread count and any schedule.
 *
 * Builds without POSIX threads (Windows) keep an OpenMP fork-join split. */
/* syscall(), clock_gettime() and nanosleep() under -std=c11 */
#define _GNU_SOURCE
#include "parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(FNN_X86_64)
#include <xmmintrin.h>
#elif defined(__aarch64__)
#include <stdint.h>
#endif

#include <stdlib.h>
#include <string.h>

#if !defined(_WIN32) && !defined(FNN_NO_POOL)
#define FNN_POOL 1
#endif

#ifdef FNN_POOL
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif
#endif

int fnn_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fnn_openmp_version(void)
{
#ifdef _OPENMP
    return _OPENMP;
#else
    return 0;
#endif
}

int fnn_openmp_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#elif defined(FNN_POOL)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
#else
    return 1;
#endif
}

unsigned fnn_denormals_enter(int flags)
{
    if (!(flags & FNN_FLAG_FLUSH_DENORMALS)) return 0;
#if defined(FNN_X86_64)
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u); /* FTZ (bit 15) and DAZ (bit 6) */
    return saved;
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ __volatile__("msr fpcr, %0" ::"r"(fpcr | (1ull << 24)));
    return (unsigned)fpcr;
#else
    return 0;
#endif
}

void fnn_denormals_leave(int flags, unsigned saved)
{
    if (!(flags & FNN_FLAG_FLUSH_DENORMALS)) return;
#if defined(FNN_X86_64)
    _mm_setcsr(saved);
#elif defined(__aarch64__)
    uint64_t fpcr = saved;
    __asm__ __volatile__("msr fpcr, %0" ::"r"(fpcr));
#else
    (void)saved;
#endif
}

int fnn_effective_threads(size_t n_items, size_t grain, int n_threads)
{
#if defined(FNN_POOL) || defined(_OPENMP)
    if (n_threads < 1) n_threads = 1;
    if (grain < 1) grain = 1;
    size_t useful = (n_items + grain - 1) / grain;
    if (useful < 1) useful = 1;
    if ((size_t)n_threads > useful) n_threads = (int)useful;
    return n_threads;
#else
    (void)n_items;
    (void)grain;
    (void)n_threads;
    return 1;
#endif
}

/* Items per chunk: a quarter of the grain, rounded up to `align`, and large
 * enough that a call has at most FNN_MAX_CHUNKS chunks. A function of the
 * sizes only. */
static size_t plan_chunk(size_t n_items, size_t grain, size_t align)
{
    size_t chunk = grain / FNN_CHUNKS_PER_GRAIN;
    if (chunk < 1) chunk = 1;
    size_t least = (n_items + FNN_MAX_CHUNKS - 1) / FNN_MAX_CHUNKS;
    if (chunk < least) chunk = least;
    return (chunk + align - 1) / align * align;
}

size_t fnn_parallel_chunk_items(size_t n_items, size_t grain, size_t align)
{
    return plan_chunk(n_items, grain < 1 ? 1 : grain, align < 1 ? 1 : align);
}

static void run_inline(size_t n_items, int flags, fnn_range_fn fn, const void *ctx)
{
    unsigned saved = fnn_denormals_enter(flags);
    fn(ctx, 0, n_items);
    fnn_denormals_leave(flags, saved);
}

#ifdef FNN_POOL
/* ------------------------------------------------------------------ pool */

#define FNN_POOL_MAX_WORKERS 255
/* The owner waits for workers' last chunks spinning for at most half its
 * own time per chunk plus FNN_WAIT_SLACK_NS (capped), then sleeps; a wait
 * longer than that means a worker was preempted or shares its core. */
#define FNN_WAIT_SLACK_NS 50000L
#define FNN_WAIT_SPIN_MAX_NS 500000L
/* Calls after a call that slept waiting for a worker run alone for this
 * long, doubled each time it happens again (see g above). */
#define FNN_SOLO_MIN_NS 2000000L
#define FNN_SOLO_MAX_NS 64000000L
/* Inside fnn_runtime_hot_begin/end, workers spin at least FNN_HOT_SPIN_NS,
 * unless, in the last FNN_HOT_OFF_NS, a spinning worker was descheduled (a
 * pause of more than FNN_HOT_PREEMPTED_NS between two looks at the clock) or
 * a job of several chunks and more than FNN_HOT_ABSENT_NS of work found a
 * spinning worker that claimed none of them. */
#define FNN_HOT_SPIN_NS 2000000L
#define FNN_HOT_PREEMPTED_NS 200000L
#define FNN_HOT_OFF_NS 100000000L
#define FNN_HOT_ABSENT_NS 50000L
/* The claim word: epoch (32 bits) | n_chunks (16) | next chunk (16). */
#define CLAIM(epoch, n, next) (((uint64_t)(epoch) << 32) | ((uint64_t)(n) << 16) | (uint64_t)(next))
#define CLAIM_EPOCH(w) ((uint32_t)((w) >> 32))
#define CLAIM_N(w) ((uint32_t)(((w) >> 16) & 0xffffu))
#define CLAIM_NEXT(w) ((uint32_t)((w)&0xffffu))
/* The seats word: epoch (32 bits) | seats offered (16) | seats taken (16). */
#define SEATS CLAIM
#define SEATS_MAX CLAIM_N
#define SEATS_TAKEN CLAIM_NEXT

typedef struct {
    /* the job: written by its owner before it publishes `claim` and
     * `seats`, read by a worker only after it has claimed a chunk, which
     * keeps the job alive until the worker counts the chunk done */
    fnn_range_fn fn;
    const void *ctx;
    size_t n_items, chunk_items;
    int flags;

    _Atomic uint64_t claim;
    _Atomic uint64_t seats;
    _Atomic uint32_t done;      /* chunks finished (futex word of a waiting owner) */
    _Atomic int owner_waiting;  /* the owner sleeps on `done` */
    _Atomic uint32_t wake_seq;  /* epoch of the newest job (futex word of idle workers) */
    _Atomic int owned;          /* a job owns the pool */
    _Atomic int spinning;       /* workers spinning for the next job */
    _Atomic int sleeping;       /* workers asleep on wake_seq */
    uint32_t epoch;             /* owner only */

    pthread_mutex_t grow_lock;  /* creating workers */
    _Atomic int n_workers;
    _Atomic long spin_ns;
    _Atomic int hot;            /* fnn_runtime_hot_begin calls not yet ended */
    _Atomic long hot_off_until_ns; /* no hot spinning before this time */
    _Atomic long solo_until_ns; /* calls before this time run alone */
    _Atomic long solo_ns;       /* the next solo period */

    /* test hooks and counters */
    _Atomic int test_mode;
    _Atomic long test_value;
    _Atomic uint64_t stat_jobs, stat_inline, stat_worker_chunks, stat_waits, stat_solo;
} fnn_pool;

static fnn_pool pool = {.grow_lock = PTHREAD_MUTEX_INITIALIZER, .spin_ns = -1};
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static _Thread_local int in_worker;

static inline void cpu_relax(void)
{
#if defined(FNN_X86_64)
    _mm_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t expected)
{
#ifdef __linux__
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
#else
    (void)word;
    (void)expected;
    sched_yield();
#endif
}

static void futex_wake(_Atomic uint32_t *word, int n)
{
#ifdef __linux__
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
#else
    (void)word;
    (void)n;
#endif
}

static void sleep_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* The child of a fork has none of the parent's workers. */
static void pool_after_fork_child(void)
{
    pthread_mutex_init(&pool.grow_lock, NULL);
    atomic_store(&pool.n_workers, 0);
    atomic_store(&pool.owned, 0);
    atomic_store(&pool.spinning, 0);
    atomic_store(&pool.sleeping, 0);
    atomic_store(&pool.owner_waiting, 0);
    atomic_store(&pool.hot, 0); /* the child's holds are its own */
}

static void pool_init_once(void)
{
    long spin_us = 50;
    const char *env = getenv("FASTNN_SPIN_US");
    if (env != NULL && env[0] != 0) {
        char *end;
        long v = strtol(env, &end, 10);
        if (end != env && v >= 0 && v <= 1000000) spin_us = v;
    }
    long expected = -1;
    atomic_compare_exchange_strong(&pool.spin_ns, &expected, spin_us * 1000L);
    pthread_atfork(NULL, NULL, pool_after_fork_child);
}

/* Runs chunks of job `epoch` until none is left. Returns chunks run. */
static uint32_t run_chunks(uint32_t epoch, int is_worker)
{
    uint32_t ran = 0;
    uint64_t w = atomic_load_explicit(&pool.claim, memory_order_acquire);
    unsigned saved = 0;
    int flags = 0;
    for (;;) {
        if (CLAIM_EPOCH(w) != epoch || CLAIM_NEXT(w) >= CLAIM_N(w)) break;
        if (!atomic_compare_exchange_weak_explicit(&pool.claim, &w, w + 1,
                                                   memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        /* chunk CLAIM_NEXT(w) of this job is ours: the job stays alive
         * until we count it done */
        const size_t c = CLAIM_NEXT(w);
        const size_t begin = c * pool.chunk_items;
        const size_t end = begin + pool.chunk_items < pool.n_items ? begin + pool.chunk_items
                                                                    : pool.n_items;
        if (ran == 0) {
            flags = pool.flags;
            if (is_worker) saved = fnn_denormals_enter(flags);
        }
        if (is_worker && atomic_load_explicit(&pool.test_mode, memory_order_relaxed) ==
                             FNN_RUNTIME_TEST_STRAGGLER)
            sleep_us(atomic_load_explicit(&pool.test_value, memory_order_relaxed));
        pool.fn(pool.ctx, begin, end);
        ++ran;
        const uint32_t n = CLAIM_N(w);
        const uint32_t finished =
            atomic_fetch_add_explicit(&pool.done, 1, memory_order_acq_rel) + 1;
        if (is_worker && finished == n && atomic_load(&pool.owner_waiting))
            futex_wake(&pool.done, 1);
        w = atomic_load_explicit(&pool.claim, memory_order_acquire);
    }
    if (is_worker && ran) fnn_denormals_leave(flags, saved);
    return ran;
}

/* A worker takes a seat in job `epoch` if one is offered. */
static int take_seat(uint32_t epoch)
{
    uint64_t s = atomic_load_explicit(&pool.seats, memory_order_acquire);
    for (;;) {
        if (CLAIM_EPOCH(s) != epoch || SEATS_TAKEN(s) >= SEATS_MAX(s)) return 0;
        if (atomic_compare_exchange_weak_explicit(&pool.seats, &s, s + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            return 1;
    }
}

/* Waits for a job newer than `seen`: spins for spin_ns, then sleeps. */
static uint32_t wait_for_job(uint32_t seen)
{
    uint32_t seq;
    long spin = atomic_load_explicit(&pool.spin_ns, memory_order_relaxed);
    long t = now_ns();
    const int hot = spin > 0 && spin < FNN_HOT_SPIN_NS &&
                    atomic_load_explicit(&pool.hot, memory_order_relaxed) > 0 &&
                    t >= atomic_load_explicit(&pool.hot_off_until_ns, memory_order_relaxed);
    if (hot) spin = FNN_HOT_SPIN_NS;
    if (spin > 0) {
        atomic_fetch_add(&pool.spinning, 1);
        const long deadline = t + spin;
        do {
            for (int i = 0; i < 64; ++i) {
                seq = atomic_load_explicit(&pool.wake_seq, memory_order_acquire);
                if (seq != seen) {
                    atomic_fetch_sub(&pool.spinning, 1);
                    return seq;
                }
                cpu_relax();
            }
            const long prev = t;
            t = now_ns();
            if (hot && t - prev > FNN_HOT_PREEMPTED_NS) {
                /* descheduled while spinning: this core is shared with other
                 * work, where a hot worker only invites waits for it */
                atomic_store_explicit(&pool.hot_off_until_ns, t + FNN_HOT_OFF_NS,
                                      memory_order_relaxed);
                break;
            }
        } while (t < deadline);
        atomic_fetch_sub(&pool.spinning, 1);
    }
    atomic_fetch_add(&pool.sleeping, 1);
    while ((seq = atomic_load(&pool.wake_seq)) == seen) futex_wait(&pool.wake_seq, seen);
    atomic_fetch_sub(&pool.sleeping, 1);
    return seq;
}

static void *worker_main(void *arg)
{
    uint32_t seen = (uint32_t)(uintptr_t)arg;
    in_worker = 1;
    for (;;) {
        seen = wait_for_job(seen);
        if (atomic_load_explicit(&pool.test_mode, memory_order_relaxed) ==
            FNN_RUNTIME_TEST_ABSENT)
            continue; /* a worker that never arrives */
        if (!take_seat(seen)) continue;
        uint32_t ran = run_chunks(seen, 1);
        if (ran) atomic_fetch_add_explicit(&pool.stat_worker_chunks, ran, memory_order_relaxed);
    }
    return NULL;
}

/* Creates workers until there are `wanted` (best effort). */
static void grow_pool(int wanted)
{
    if (wanted > FNN_POOL_MAX_WORKERS) wanted = FNN_POOL_MAX_WORKERS;
    if (atomic_load(&pool.n_workers) >= wanted) return;
    pthread_mutex_lock(&pool.grow_lock);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (atomic_load(&pool.n_workers) < wanted) {
        pthread_t t;
        /* a new worker waits for a job newer than the current one */
        uint32_t seen = atomic_load(&pool.wake_seq);
        if (pthread_create(&t, &attr, worker_main, (void *)(uintptr_t)seen) != 0) break;
        atomic_fetch_add(&pool.n_workers, 1);
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_unlock(&pool.grow_lock);
}

/* Waits until all `n_chunks` chunks are done: spins while a running worker
 * would finish its chunk (`spin_ns`), then sleeps, which leaves this core
 * idle so that the scheduler can move a preempted worker onto it. Returns
 * the nanoseconds waited. */
static long wait_done(uint32_t n_chunks, long spin_ns)
{
    uint32_t d = atomic_load_explicit(&pool.done, memory_order_acquire);
    if (d == n_chunks) return 0;
    const long start = now_ns();
    long t = start;
    do {
        for (int i = 0; i < 32; ++i) {
            cpu_relax();
            if (atomic_load_explicit(&pool.done, memory_order_acquire) == n_chunks)
                return now_ns() - start;
        }
        t = now_ns();
    } while (t - start < spin_ns);
    atomic_fetch_add_explicit(&pool.stat_waits, 1, memory_order_relaxed);
    atomic_store(&pool.owner_waiting, 1);
    while ((d = atomic_load(&pool.done)) != n_chunks) futex_wait(&pool.done, d);
    atomic_store(&pool.owner_waiting, 0);
    return now_ns() - start;
}

static int pool_run(size_t n_items, size_t chunk, int nt, size_t grain, int flags,
                    fnn_range_fn fn, const void *ctx)
{
    const size_t n_chunks = (n_items + chunk - 1) / chunk;
    /* a cold pool is not worth waking for a small call */
    if (n_items < FNN_COLD_MIN_GRAINS * grain && !(flags & FNN_PARALLEL_LARGE_ITEMS) &&
        atomic_load(&pool.spinning) == 0)
        return 0;
    if (atomic_load_explicit(&pool.solo_until_ns, memory_order_relaxed) != 0) {
        if (now_ns() < atomic_load_explicit(&pool.solo_until_ns, memory_order_relaxed)) {
            atomic_fetch_add_explicit(&pool.stat_solo, 1, memory_order_relaxed);
            return 0;
        }
    }
    int expected = 0;
    if (!atomic_compare_exchange_strong(&pool.owned, &expected, 1)) return 0;
    grow_pool(nt - 1);
    const uint32_t epoch = ++pool.epoch;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n_items = n_items;
    pool.chunk_items = chunk;
    pool.flags = flags;
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.claim, CLAIM(epoch, n_chunks, 0), memory_order_release);
    atomic_store_explicit(&pool.seats, SEATS(epoch, nt - 1, 0), memory_order_release);
    const int hot_spinning = atomic_load(&pool.spinning) > 0 && atomic_load(&pool.hot) > 0;
    atomic_store(&pool.wake_seq, epoch);
    int asleep = atomic_load(&pool.sleeping);
    if (asleep > 0) futex_wake(&pool.wake_seq, asleep < nt - 1 ? asleep : nt - 1);
    atomic_fetch_add_explicit(&pool.stat_jobs, 1, memory_order_relaxed);

    unsigned saved = fnn_denormals_enter(flags);
    const long t0 = now_ns();
    const uint32_t ran = run_chunks(epoch, 0);
    const long own_ns = now_ns() - t0;
    const long own_chunk_ns = own_ns / (long)(ran ? ran : 1);
    fnn_denormals_leave(flags, saved);
    if (hot_spinning && ran == n_chunks && n_chunks >= 4 && own_ns > FNN_HOT_ABSENT_NS)
        /* a worker was spinning for this job and never claimed a chunk of
         * it: it is not running (its core is shared with other work) */
        atomic_store_explicit(&pool.hot_off_until_ns, now_ns() + FNN_HOT_OFF_NS,
                              memory_order_relaxed);
    /* workers that run as fast as the caller finish their last chunks
     * about when the caller finishes its own: a wait of more than half a
     * chunk means a worker runs slowly or not at all (a shared core). A
     * wait below an eighth of the caller's own work costs little, and a
     * virtual CPU's brief hiccups must not send the next calls solo. */
    long expected_ns = own_chunk_ns / 2 + FNN_WAIT_SLACK_NS;
    if (expected_ns < own_ns / 8) expected_ns = own_ns / 8;
    const long waited = wait_done((uint32_t)n_chunks, expected_ns < FNN_WAIT_SPIN_MAX_NS
                                                          ? expected_ns : FNN_WAIT_SPIN_MAX_NS);
    if (waited > expected_ns &&
        atomic_load_explicit(&pool.test_mode, memory_order_relaxed) == FNN_RUNTIME_TEST_OFF) {
        /* the worker was preempted inside a chunk: run alone for a while */
        long solo = atomic_load_explicit(&pool.solo_ns, memory_order_relaxed);
        if (solo < FNN_SOLO_MIN_NS) solo = FNN_SOLO_MIN_NS;
        atomic_store_explicit(&pool.solo_until_ns, now_ns() + solo, memory_order_relaxed);
        atomic_store_explicit(&pool.solo_ns, solo < FNN_SOLO_MAX_NS / 2 ? 2 * solo : FNN_SOLO_MAX_NS,
                              memory_order_relaxed);
    } else {
        atomic_store_explicit(&pool.solo_ns, FNN_SOLO_MIN_NS, memory_order_relaxed);
    }
    atomic_store_explicit(&pool.owned, 0, memory_order_release);
    return 1;
}

void fnn_runtime_set_spin_us(long us)
{
    pthread_once(&pool_once, pool_init_once);
    atomic_store(&pool.spin_ns, (us < 0 ? 0 : us) * 1000L);
}

long fnn_runtime_spin_us(void)
{
    pthread_once(&pool_once, pool_init_once);
    return atomic_load(&pool.spin_ns) / 1000L;
}

void fnn_runtime_hot_begin(void)
{
    pthread_once(&pool_once, pool_init_once);
    atomic_fetch_add(&pool.hot, 1);
}

void fnn_runtime_hot_end(void)
{
    int h = atomic_load(&pool.hot);
    while (h > 0 && !atomic_compare_exchange_weak(&pool.hot, &h, h - 1)) {
    }
}

int fnn_runtime_hot_depth(void) { return atomic_load(&pool.hot); }

void fnn_runtime_set_test_mode(int mode, long value)
{
    atomic_store(&pool.test_value, value);
    atomic_store(&pool.test_mode, mode);
    atomic_store(&pool.solo_until_ns, 0); /* every test call may use the pool */
    atomic_store(&pool.solo_ns, FNN_SOLO_MIN_NS);
}

void fnn_runtime_stats(uint64_t *out)
{
    out[0] = atomic_load(&pool.stat_jobs);
    out[1] = atomic_load(&pool.stat_inline);
    out[2] = atomic_load(&pool.stat_worker_chunks);
    out[3] = atomic_load(&pool.stat_waits);
    out[4] = (uint64_t)atomic_load(&pool.n_workers);
    out[5] = atomic_load(&pool.stat_solo);
}

int fnn_runtime_pooled(void) { return 1; }

#else /* no pool */

void fnn_runtime_set_spin_us(long us) { (void)us; }
long fnn_runtime_spin_us(void) { return 0; }
void fnn_runtime_hot_begin(void) {}
void fnn_runtime_hot_end(void) {}
int fnn_runtime_hot_depth(void) { return 0; }
void fnn_runtime_set_test_mode(int mode, long value)
{
    (void)mode;
    (void)value;
}
void fnn_runtime_stats(uint64_t *out) { memset(out, 0, 6 * sizeof(uint64_t)); }
int fnn_runtime_pooled(void) { return 0; }

#ifdef _OPENMP
/* The range owned by thread `tid` of `n_threads`, in whole chunks. */
static void thread_range(size_t n_items, size_t chunk, int tid, int n_threads, size_t *begin,
                         size_t *end)
{
    size_t n_units = (n_items + chunk - 1) / chunk;
    size_t u0 = n_units * (size_t)tid / (size_t)n_threads;
    size_t u1 = n_units * (size_t)(tid + 1) / (size_t)n_threads;
    size_t b = u0 * chunk, e = u1 * chunk;
    *begin = b < n_items ? b : n_items;
    *end = e < n_items ? e : n_items;
}
#endif
#endif

void fnn_parallel_ranges(size_t n_items, size_t grain, size_t align, int n_threads, int flags,
                         fnn_range_fn fn, const void *ctx)
{
    if (n_items == 0) return;
    if (align < 1) align = 1;
    if (grain < 1) grain = 1;
    int nt = fnn_effective_threads(n_items, grain, n_threads);
    const size_t chunk = plan_chunk(n_items, grain, align);
#ifdef FNN_POOL
    pthread_once(&pool_once, pool_init_once);
    if (nt > 1 && !in_worker && chunk < n_items &&
        pool_run(n_items, chunk, nt, grain, flags, fn, ctx))
        return;
    atomic_fetch_add_explicit(&pool.stat_inline, 1, memory_order_relaxed);
    run_inline(n_items, flags, fn, ctx);
#else
    if (nt == 1) {
        run_inline(n_items, flags, fn, ctx);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        int tid = omp_get_thread_num();
        int team = omp_get_num_threads(); /* may be fewer than asked for */
        size_t b, e;
        thread_range(n_items, chunk, tid, team, &b, &e);
        unsigned saved = fnn_denormals_enter(flags);
        if (b < e) fn(ctx, b, e);
        fnn_denormals_leave(flags, saved);
    }
#endif
#endif
}

typedef struct {
    size_t n_arrays;
    const size_t *sizes;
    fnn_segment_fn fn;
    const void *ctx;
} segments_ctx;

static void segments_range(const void *vctx, size_t begin, size_t end)
{
    const segments_ctx *c = (const segments_ctx *)vctx;
    size_t offset = 0;
    for (size_t a = 0; a < c->n_arrays && offset < end; ++a) {
        size_t n = c->sizes[a];
        size_t lo = begin > offset ? begin - offset : 0;
        size_t hi = end - offset < n ? end - offset : n;
        if (lo < hi) c->fn(c->ctx, a, lo, hi);
        offset += n;
    }
}

void fnn_parallel_segments(size_t n_arrays, const size_t *sizes, size_t grain, int n_threads,
                           int flags, fnn_segment_fn fn, const void *ctx)
{
    size_t total = 0;
    for (size_t a = 0; a < n_arrays; ++a) total += sizes[a];
    segments_ctx c = {n_arrays, sizes, fn, ctx};
    fnn_parallel_ranges(total, grain, 16, n_threads, flags, segments_range, &c);
}

/* ------------------------------------------------ deterministic reduction */

typedef struct {
    fnn_block_fn fn;
    const void *ctx;
    size_t first; /* partials[b - first] holds block b */
    double *partials;
} reduce_ctx;

static void reduce_range(const void *vctx, size_t b0, size_t b1)
{
    const reduce_ctx *r = (const reduce_ctx *)vctx;
    for (size_t b = b0; b < b1; ++b) r->partials[b] = r->fn(r->ctx, r->first + b);
}

double fnn_combine_sum(double acc, double part) { return acc + part; }

double fnn_combine_max_nan(double acc, double part)
{
    if (acc != acc || part != part) return acc + part; /* NaN */
    return part > acc ? part : acc;
}

double fnn_parallel_reduce(size_t n_blocks, size_t grain_blocks, int n_threads, int flags,
                           fnn_block_fn fn, const void *ctx, fnn_combine_fn combine)
{
    double partials[FNN_REDUCE_ROUND];
    reduce_ctx r = {fn, ctx, 0, partials};
    double acc = 0.0;
    if (combine == NULL) combine = fnn_combine_sum;
    for (size_t b0 = 0; b0 < n_blocks; b0 += FNN_REDUCE_ROUND) {
        const size_t count = n_blocks - b0 < FNN_REDUCE_ROUND ? n_blocks - b0 : FNN_REDUCE_ROUND;
        r.first = b0;
        fnn_parallel_ranges(count, grain_blocks, 1, n_threads, flags, reduce_range, &r);
        for (size_t b = 0; b < count; ++b) acc = combine(acc, partials[b]);
    }
    return acc;
}
