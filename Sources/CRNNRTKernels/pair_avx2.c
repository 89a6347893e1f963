// One direction of a layer over a whole sequence on two threads, each owning half of the hidden units (see
// rnnrt_pair_sequence_avx2 in include/rnnrt_kernels.h).
//
// Splitting the units rather than the batch keeps every recurrent product at the full batch (the weights are read
// once per step in all, half by each core, instead of twice) and works at batch 1, where each core's half of a
// layer's weights may fit its own L2. The price is one barrier per step: the next step's product needs every unit's
// new h. The threads write their units' new h into the other of two state buffers, so nobody reads what the other
// thread is writing; the barrier is a spin on an atomic generation count (both threads are always running: the
// second one is a thread of our own, not a pool's, so a spin can never wait on work that has not been scheduled).
// A thread that has spun for a while (twice its own step, at least ~100 µs) sleeps instead (a futex on Linux), so
// that on a busy machine it gives its core to whatever the other thread waits for rather than burning it; after a
// few such sleeps, if they are frequent, the machine is taken to be busy and thread 0 finishes the sequence alone
// (all units, no barriers), so a machine loaded from the start costs a few steps' waits over one thread instead of a
// sleep and a wake-up every step.
#include "rnnrt_kernels.h"
#include "kernels_internal.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define AVX2 __attribute__((target("avx2,fma")))

typedef struct {
    unsigned long long spinTicks;  // PAIR_SPIN_TICKS, or RNNRT_PAIR_SPIN_TICKS (tests)
    unsigned sleepsBeforeSolo;     // PAIR_SLEEPS, or RNNRT_PAIR_SLEEPS (tests)
    unsigned long long soloAfter;  // RNNRT_PAIR_SOLO_AFTER (tests): go solo at this barrier whatever the sleeps
    atomic_uint slept;       // sleeps so far (either thread)
    atomic_uint passed;      // barriers released so far
    atomic_int solo;         // set by a barrier's releaser once `slept` reaches PAIR_SLEEPS and one barrier in
                             // PAIR_SLEEP_SHARE has slept: thread 0 goes on alone
    atomic_uint arrived;
    atomic_uint generation;  // a futex word on Linux
    atomic_uint sleepers;    // how many threads may be asleep on `generation` (a count: a late decrement by the thread
                             // woken last time cannot erase the other thread's increment)
    const int *stop;         // the job's stop flag, or NULL
    unsigned long long deadline;  // the job's deadline (rnnrt_coarse_clock_ns), ~0: none
    atomic_int stopped;      // set by a barrier's releaser (or thread 0 alone) once `stop` is set or `deadline` passed:
                             // both threads return
} pairBarrier;

// Whether the job's caller asked it to stop: its flag set or its deadline passed (a flag load and, with a deadline, a
// read of the coarse clock, a few ns: once per step).
static int pairShouldStop(const pairBarrier *b) {
    return (b->stop && rnnrt_flag_get(b->stop))
        || (b->deadline != ~0ULL && rnnrt_coarse_clock_ns() > b->deadline);
}

// Time-stamp ticks to spin at least before sleeping (~100 µs at 2.5 GHz); the pair stops pairing after PAIR_SLEEPS
// sleeps if one barrier in PAIR_SLEEP_SHARE (or more) since the sequence began has slept: another process holds the
// other core (one that arrives late in a long sequence takes a sixteenth of the barriers passed in sleeps). Rarer
// sleeps are a virtual machine's host taking a core now and then, which pairing survives (ending it at fewer sleeps
// would give up part of the second thread's gain there).
enum { PAIR_SPIN_TICKS = 1 << 18, PAIR_SLEEPS = 8, PAIR_SLEEP_SHARE = 16 };

// Waits for the other thread; returns the solo flag as the releaser set it. `counted`: whether a sleep here counts
// towards going solo — not at the barrier after the input projection, where the threads' halves (and the second
// thread's start) can differ by more than the spin, however free the machine. `work`: the ticks this thread's step
// took; it spins up to twice that before sleeping (at least spinTicks; spinTicks 0: never), since on a virtual
// machine the two halves of a long step often finish further apart than a fixed spin, which is no reason to give up
// the core.
static int pairWait(pairBarrier *b, int counted, unsigned long long work) {
    unsigned generation = atomic_load(&b->generation);
    if (atomic_fetch_add(&b->arrived, 1) == 1) {
        atomic_store(&b->arrived, 0);
        unsigned slept = atomic_load(&b->slept), passed = atomic_fetch_add(&b->passed, 1);
        if ((slept >= b->sleepsBeforeSolo && (unsigned long long)slept * PAIR_SLEEP_SHARE >= passed)
            || passed >= b->soloAfter)
            atomic_store(&b->solo, 1);
        if (pairShouldStop(b)) atomic_store(&b->stopped, 1);
        atomic_fetch_add(&b->generation, 1);
#if defined(__linux__)
        if (atomic_load(&b->sleepers)) syscall(SYS_futex, (unsigned *)&b->generation, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
#endif
        return atomic_load(&b->solo);
    }
    unsigned long long start = __rdtsc(), spin = b->spinTicks && 2 * work > b->spinTicks ? 2 * work : b->spinTicks;
    while (atomic_load_explicit(&b->generation, memory_order_acquire) == generation) {
        if (__rdtsc() - start < spin) {
            _mm_pause();
            continue;
        }
        if (counted) atomic_fetch_add(&b->slept, 1);
#if defined(__linux__)
        // Either the releaser sees `sleepers` and wakes us, or we see its new generation (the futex call returns at
        // once when the word has changed): all four operations are sequentially consistent.
        atomic_fetch_add(&b->sleepers, 1);
        if (atomic_load(&b->generation) == generation)
            syscall(SYS_futex, (unsigned *)&b->generation, FUTEX_WAIT_PRIVATE, generation, 0, 0, 0);
        atomic_fetch_sub(&b->sleepers, 1);
#else
        sched_yield();
#endif
    }
    return atomic_load(&b->solo);
}

typedef struct {
    const rnnrt_pair_sequence *job;
    pairBarrier barrier;
    ptrdiff_t split;  // the first unit of thread 1
    ptrdiff_t blockSplit;  // with a step layout: the first block of thread 1
    float *slivers[2];     // with row slivers: each thread's scratch for them, else NULL
} pairRun;

// C[:, q·H + u0 …+ n] += A · W[q·H + u0 …+ n, :]ᵀ for every gate q < G: this thread's units of every gate. Row
// slivers (`slivers`: this thread's scratch for them, or NULL) or packed W (u0 and H multiples of 16): one call, A
// packed once; in place: one product per gate.
AVX2 static void gateProducts(ptrdiff_t G, ptrdiff_t B, ptrdiff_t H, ptrdiff_t u0, ptrdiff_t n, const float *a,
                              rnnrt_weights w, float *c, ptrdiff_t ldc, float *slivers) {
    ptrdiff_t starts[4];
    for (ptrdiff_t q = 0; q < G; q++) starts[q] = q * H + u0;
    if (slivers) {
        rnnrt_row_slivers_ranges_avx2(B, H, a, H, w.row_slivers, G, starts, n, c, ldc, 1, slivers);
        return;
    }
    if (w.packed) {
        rnnrt_sgemm_packed_ranges_avx2(B, H, a, H, w.data, G, starts, n, c, ldc, 1);
        return;
    }
    for (ptrdiff_t q = 0; q < G; q++) {
        rnnrt_weights rows = w;
        rows.data = w.data + (size_t)(q * H + u0) * (size_t)w.ld;
        rows.row_slivers = 0;
        rnnrt_weights_multiply(B, n, H, a, H, rows, c + q * H + u0, ldc, 1);
    }
}

AVX2 static void pairWork(pairRun *run, int thread) {
    const rnnrt_pair_sequence *j = run->job;
    ptrdiff_t H = j->hidden, B = j->batch, G = rnnrt_step_gates(j->kind), GH = G * H, rows = j->steps * B;
    size_t bytesH = sizeof(float);

    // The input projection: each thread its half of the rows.
    ptrdiff_t r0 = thread ? rows / 2 : 0, r1 = thread ? rows : rows / 2;
    for (ptrdiff_t r = r0; r < r1; r++) memcpy(j->projection + r * GH, j->bias, (size_t)GH * bytesH);
    if (r1 > r0 && j->inputs > 0)
        rnnrt_weights_multiply(r1 - r0, GH, j->inputs, j->x + r0 * j->inputs, j->inputs, j->wih, j->projection + r0 * GH,
                               GH, 1);

    // This thread's units, and the two state buffers (rows of H + 8 floats with a step layout, else of H).
    ptrdiff_t u0, u1, b0 = 0, b1 = 0;
    if (j->step_layout) {
        ptrdiff_t blocks = rnnrt_step_block_count(j->kind, H), per = rnnrt_step_block_units(j->kind);
        b0 = thread ? run->blockSplit : 0;
        b1 = thread ? blocks : run->blockSplit;
        u0 = b0 * per;
        u1 = b1 * per < H ? b1 * per : H;
    } else {
        u0 = thread ? run->split : 0;
        u1 = thread ? H : run->split;
    }
    ptrdiff_t n = u1 - u0, ld = j->step_layout ? H + 8 : H;
    float *hA = j->state, *hB = j->state + B * ld;
    for (ptrdiff_t b = 0; b < B; b++) memcpy(hA + b * ld + u0, j->h + b * H + u0, (size_t)n * bytesH);
    float *slivers = run->slivers[thread];
    int solo = pairWait(&run->barrier, 0, 0);
    if ((solo && thread == 1) || atomic_load(&run->barrier.stopped)) return;

    for (ptrdiff_t s = 0; s < j->steps; s++) {
        unsigned long long stepStart = __rdtsc();
        if (solo && s > 0 && pairShouldStop(&run->barrier)) {
            atomic_store(&run->barrier.stopped, 1);
            return;
        }
        if (solo && n != H) {
            // Alone from here on: every unit (c and the state buffers already hold the other thread's).
            u0 = 0;
            u1 = H;
            n = H;
            b0 = 0;
            b1 = j->step_layout ? rnnrt_step_block_count(j->kind, H) : 0;
        }
        ptrdiff_t t = j->reverse ? j->steps - 1 - s : s;
        float *xp = j->projection + t * B * GH;
        if (j->step_layout) {
            rnnrt_step_blocks_avx2(j->kind, j->relu, 0, H, 0, j->step_layout, xp, hA, j->c, hB, b0, b1, (int)(s & 1));
        } else if (j->kind == RNNRT_STEP_LSTM) {
            gateProducts(4, B, H, u0, n, hA, j->whh, xp, GH, slivers);
            rnnrt_lstm_pointwise_range_avx2(xp + u0, H, GH, j->c + u0, hB + u0, H, n, B);
        } else if (j->kind == RNNRT_STEP_GRU) {
            float *hp = j->scratch;
            for (ptrdiff_t b = 0; b < B; b++)
                for (ptrdiff_t q = 0; q < 3; q++)
                    memcpy(hp + b * GH + q * H + u0, j->bias_hh + q * H + u0, (size_t)n * bytesH);
            gateProducts(3, B, H, u0, n, hA, j->whh, hp, GH, slivers);
            rnnrt_gru_pointwise_range_avx2(xp + u0, hp + u0, H, GH, hA + u0, hB + u0, H, n, B);
        } else {
            gateProducts(1, B, H, u0, n, hA, j->whh, xp, GH, slivers);
            for (ptrdiff_t b = 0; b < B; b++) rnnrt_rnn_pointwise_avx2(xp + b * H + u0, hB + b * ld + u0, n, j->relu);
        }
        for (ptrdiff_t b = 0; b < B; b++)
            memcpy(j->output + (t * B + b) * j->out_stride + u0, hB + b * ld + u0, (size_t)n * bytesH);
        if (!solo) {
            solo = pairWait(&run->barrier, 1, __rdtsc() - stepStart);
            if ((solo && thread == 1) || atomic_load(&run->barrier.stopped)) return;
        }
        float *swap = hA;
        hA = hB;
        hB = swap;
    }
    // Alone (even if only since the last barrier, after which thread 1 copies nothing): every unit's final state.
    if (solo) {
        u0 = 0;
        n = H;
    }
    for (ptrdiff_t b = 0; b < B; b++) memcpy(j->h + b * H + u0, hA + b * ld + u0, (size_t)n * bytesH);
}

// The number in the environment variable `name`, else `fallback`. tools/test.sh runs the two-thread tests three more
// times so that the rare paths run in CI: with RNNRT_PAIR_SPIN_TICKS=0 and RNNRT_PAIR_SLEEPS=1000000000 (every wait
// sleeps on the futex and is woken, and the pair never gives up), with RNNRT_PAIR_SLEEPS=0 (thread 0 goes on alone
// from the first barrier) and with RNNRT_PAIR_SOLO_AFTER=30 (alone from the 31st barrier: the last one for a case of
// 30 steps, after which thread 1 copies nothing out).
static unsigned long long pairSetting(const char *name, unsigned long long fallback) {
    const char *value = getenv(name);
    if (!value || !*value) return fallback;
    char *end = 0;
    unsigned long long parsed = strtoull(value, &end, 10);
    return end && *end == 0 ? parsed : fallback;
}

static void *pairThread(void *argument) {
    pairWork((pairRun *)argument, 1);
    return 0;
}

int rnnrt_pair_sequence_avx2(const rnnrt_pair_sequence *job) {
    if (!rnnrt_has_avx2_fma() || job->steps < 1 || job->batch < 1 || job->hidden < 2) return 0;
    pairRun run;
    run.job = job;
    atomic_init(&run.barrier.arrived, 0);
    atomic_init(&run.barrier.generation, 0);
    atomic_init(&run.barrier.sleepers, 0);
    atomic_init(&run.barrier.slept, 0);
    atomic_init(&run.barrier.passed, 0);
    run.barrier.spinTicks = pairSetting("RNNRT_PAIR_SPIN_TICKS", PAIR_SPIN_TICKS);
    run.barrier.sleepsBeforeSolo = (unsigned)pairSetting("RNNRT_PAIR_SLEEPS", PAIR_SLEEPS);
    run.barrier.soloAfter = pairSetting("RNNRT_PAIR_SOLO_AFTER", ~0ULL);
    atomic_init(&run.barrier.solo, 0);
    run.barrier.stop = job->stop;
    run.barrier.deadline = job->deadline;
    atomic_init(&run.barrier.stopped, 0);
    run.split = run.blockSplit = 0;
    run.slivers[0] = run.slivers[1] = 0;
    if (job->step_layout) {
        ptrdiff_t blocks = rnnrt_step_block_count(job->kind, job->hidden);
        if (job->batch != 1 || blocks < 2) return 0;
        run.blockSplit = blocks / 2;
    } else {
        ptrdiff_t H = job->hidden;
        // Row slivers: each thread's scratch, for ranges of up to every unit (thread 0 goes on alone if the pair
        // stops), allocated before the split is chosen: without it the split must suit the other forms.
        if (job->whh.row_slivers && rnnrt_row_slivers_suit(job->batch)) {
            // Whole cache lines each, so the threads never write to one line.
            size_t count = (rnnrt_row_slivers_scratch(job->batch, H, H) + 15) / 16 * 16;
            void *both = 0;
            if (posix_memalign(&both, 64, 2 * count * sizeof(float)) == 0) {
                run.slivers[0] = (float *)both;
                run.slivers[1] = (float *)both + count;
            }
        }
        // Packed weights split on a 16-column sliver (every gate block must start on one too); in place or on row
        // slivers (which compute the slivers a range overlaps whole), on a vector.
        int packedSplit = job->whh.packed && !run.slivers[0];
        run.split = packedSplit ? (H % 16 == 0 ? H / 32 * 16 : 0) : (H / 2 + 7) / 8 * 8;
        if (run.split <= 0 || run.split >= H) {
            free(run.slivers[0]);
            return 0;
        }
    }
    pthread_t second;
    if (pthread_create(&second, 0, pairThread, &run) != 0) {
        free(run.slivers[0]);
        return 0;
    }
    pairWork(&run, 0);
    pthread_join(second, 0);
    free(run.slivers[0]);
    return atomic_load(&run.barrier.stopped) ? 2 : 1;
}

#else
int rnnrt_pair_sequence_avx2(const rnnrt_pair_sequence *job) { return 0; }
#endif
