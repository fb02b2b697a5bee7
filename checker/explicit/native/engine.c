/* pgcheck native engine, part 3 of 3: breadth-first exploration (Decision 2).
 *
 * The same algorithm as checker/explicit/explore.py, level by level so the first violation is at
 * minimal depth: canonical states (symmetry), 64-bit fingerprints in a visited set, a
 * parent map of (parent id, binding) per state id for shortest traces, invariants on
 * every new state, deadlock versus quiescence. Workers split each level; a state is new
 * for the one worker whose compare-and-swap stores its fingerprint in the shared visited
 * set, so N workers find exactly the states one worker finds.
 *
 * Needs from the generated part (part 2): NSLOTS, NBINDINGS, NINV, NWIT, NGROUPS, MAXN,
 * MAXF, PACKED_BYTES, expand(), first_violation(), witness_hits(), is_quiescent(),
 * permute(), pack(), unpack() and the per-group signature tables.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

enum { V_OK, V_INVARIANT, V_DEADLOCK, V_MODEL_ERROR, V_MAX_STATES, V_MAX_DEPTH, V_STOPPED, V_NO_MEMORY };

typedef struct {
    int64_t verdict, distinct, generated, depth, bad_id, detail, quiescent, table_bytes, frontier_peak_bytes;
} pg_result;

typedef int (*pg_progress_fn)(int64_t distinct, int64_t generated, int64_t depth, int64_t queue);

#define MAX_WORKERS 64
#define ENTRY_BYTES (8 + PACKED_BYTES)
#define CHUNK 32

/* ------------------------------------------------------------------ canonical form */

static int sig_cmp(const int64_t *a, const int64_t *b, int f)
{
    for (int k = 0; k < f; k++)
        if (a[k] != b[k])
            return a[k] < b[k] ? -1 : 1;
    return 0;
}

static int next_permutation(int *a, int n)
{
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1])
        i--;
    if (i < 0) {
        for (int l = 0, r = n - 1; l < r; l++, r--) { int t = a[l]; a[l] = a[r]; a[r] = t; }
        return 0;
    }
    int j = n - 1;
    while (a[j] <= a[i])
        j--;
    int t = a[i]; a[i] = a[j]; a[j] = t;
    for (int l = i + 1, r = n - 1; l < r; l++, r--) { t = a[l]; a[l] = a[r]; a[r] = t; }
    return 1;
}

/* The least state (in memcmp order) among the permutations that sort every group's
 * instances by their permutation-invariant signatures, trying every order inside a tie
 * run except runs of identical unreferenced instances (every order gives one state).
 * Exact: two states of one orbit get the same candidate set, so the same result. */
static inline void canon_tracked(const int64_t *s, int64_t *out, int track_g, int track_i, int Pout[][MAXN]);

static void canon(const int64_t *s, int64_t *out) { canon_tracked(s, out, -1, -1, NULL); }

/* The same, for the pair (state, instance track_i of group track_g) when track_g >= 0: that
 * instance sorts before every other of its group, so it is instance 0 in the result, and
 * the rest are ordered as above (permutations fixing it: the liveness search's quotient,
 * checker/liveness/live.c). Pout, when given, receives the permutation applied. */
static inline void canon_tracked(const int64_t *s, int64_t *out, int track_g, int track_i, int Pout[][MAXN])
{
#if NGROUPS == 0
    (void)track_g;
    (void)track_i;
    (void)Pout;
    memcpy(out, s, sizeof(int64_t) * NSLOTS);
#else
    int order[NGROUPS][MAXN];
    int wheel_start[NGROUPS * MAXN], wheel_len[NGROUPS * MAXN], wheel_group[NGROUPS * MAXN];
    int nwheels = 0;
    int64_t sig[MAXN * (MAXF > 0 ? MAXF : 1)];
    for (int g = 0; g < NGROUPS; g++) {
        int n = G_N[g], f = G_F[g];
        G_SIG[g](s, sig);
        for (int i = 0; i < n; i++) { /* insertion sort, stable by instance index */
            int j = i;
            while (j > 0 && (g == track_g ? (order[g][j - 1] == track_i ? 0 : i == track_i ? 1
                                                         : sig_cmp(sig + order[g][j - 1] * f, sig + i * f, f) > 0)
                                          : sig_cmp(sig + order[g][j - 1] * f, sig + i * f, f) > 0)) {
                order[g][j] = order[g][j - 1];
                j--;
            }
            order[g][j] = i;
        }
        for (int a = 0; a < n;) {
            int b = a + 1;
            while (b < n && !(g == track_g && (order[g][a] == track_i || order[g][b] == track_i)) &&
                   sig_cmp(sig + order[g][a] * f, sig + order[g][b] * f, f) == 0)
                b++;
            if (b - a > 1) {
                int collapse = !G_REFD[g](s, order[g][a]);
                for (int k = a + 1; collapse && k < b; k++)
                    collapse = !G_REFD[g](s, order[g][k]) && G_OWN_EQ[g](s, order[g][a], order[g][k]);
                if (!collapse) {
                    /* Enumerate this run's orders starting from the ascending one. */
                    for (int k = a + 1; k < b; k++) {
                        int v = order[g][k], m = k;
                        while (m > a && order[g][m - 1] > v) { order[g][m] = order[g][m - 1]; m--; }
                        order[g][m] = v;
                    }
                    wheel_start[nwheels] = a;
                    wheel_len[nwheels] = b - a;
                    wheel_group[nwheels] = g;
                    nwheels++;
                }
            }
            a = b;
        }
    }
    int P[NGROUPS][MAXN], I[NGROUPS][MAXN];
    int64_t tmp[NSLOTS];
    int first = 1;
    for (;;) {
        for (int g = 0; g < NGROUPS; g++)
            for (int k = 0; k < G_N[g]; k++) {
                I[g][k] = order[g][k];
                P[g][order[g][k]] = k;
            }
        int better = first;
        if (first) {
            permute(s, out, P, I);
            first = 0;
        } else {
            permute(s, tmp, P, I);
            if (memcmp(tmp, out, sizeof(tmp)) < 0) {
                memcpy(out, tmp, sizeof(tmp));
                better = 1;
            }
        }
        if (better && Pout)
            memcpy(Pout, P, sizeof(P));
        int w = 0;
        while (w < nwheels && !next_permutation(&order[wheel_group[w]][wheel_start[w]], wheel_len[w]))
            w++;
        if (w == nwheels)
            break;
    }
#endif
}

/* ------------------------------------------------------------------ fingerprints */

/* The top bit of a stored fingerprint marks a state first reached in the current level
 * (set only while partial-order reduction runs, cleared at the level's end): the proviso
 * of por_expand() needs to tell the next level from the earlier ones. */
#define VT_LEVEL_TAG (UINT64_C(1) << 63)

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t fingerprint(const uint8_t *packed)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (int k = 0; k < PACKED_BYTES; k += 8) {
        uint64_t word;
        memcpy(&word, packed + k, 8);
        h = mix64(h ^ word) + 0x632be59bd9b4e019ULL;
    }
    h = mix64(h ^ PACKED_BYTES) & ~VT_LEVEL_TAG;
    return h ? h : 1;
}

/* ------------------------------------------------------------------ visited set
 *
 * One open-addressing table of 64-bit fingerprints (0 means empty) shared by every
 * worker. A slot is claimed by compare-and-swap, so a visit takes no lock and touches
 * the cache lines of its probe only (a lock per visit would move the lock's cache line
 * between cores too). Slots only ever go from 0 to a
 * fingerprint, so relaxed atomics suffice: a probe that sees a fingerprint sees it whole.
 *
 * The table grows by half when it is 7/8 full (linear probes stay short enough; the load
 * stays between 7/12 and 7/8, 9 to 14 bytes per state). Growing moves every slot, so it
 * waits until every worker still in the level stands in visit() (or has left the level):
 * the worker that completes that set rehashes, the others sleep. Workers add their
 * insertions to the shared count in runs of VT_RUN once the table is large (so the count
 * is not a per-state shared write), one by one while it is small (so the reserve the
 * threshold keeps for that lag, a run per worker, does not leave small tables emptier).
 * Past the threshold a table holds at most 7/8 of its slots plus one per worker.
 */

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Growing time of this thread (the profile in pg_profile() subtracts it from the level's
 * parallel part: the other workers wait meanwhile). */
static __thread double grow_cpu_here;

#define VT_RUN 16
#define VT_RUN_FROM 4096 /* slots per worker from which insertions are counted in runs */

/* At least 16 slots per worker: 7/8 of the table plus one slot per worker still fits. */
static uint64_t vt_min_cap(int workers) { return workers * 16 > 64 ? (uint64_t)workers * 16 : 64; }

static struct {
    uint64_t *slots;
    uint64_t cap, grow_at;
    /* Written once a run of insertions: on its own cache line, or each write would take
     * the line holding slots, cap and request (read by every visit) from the other cores. */
    _Alignas(64) _Atomic uint64_t count;
    _Alignas(64) char count_end;
    _Atomic int request; /* a worker saw the count pass grow_at */
    int workers, failed;
    int run; /* insertions a worker counts before adding them to `count` */
    pthread_mutex_t m;
    pthread_cond_t cv;
    int active, paused; /* workers in the level, and of those the ones waiting here */
    uint64_t generation;
    uint64_t *new_slots, new_cap; /* while growing */
    _Atomic uint64_t cursor;
    int rehashing, helpers, done;
} vt = {.m = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static inline uint64_t vt_home(uint64_t fp, uint64_t cap)
{
    fp &= ~VT_LEVEL_TAG; /* a 63-bit fingerprint */
    return (uint64_t)(((unsigned __int128)fp * cap) >> 63); /* any capacity, not only 2^k */
}

static void vt_set_cap(uint64_t cap)
{
    vt.cap = cap;
    vt.run = vt.workers > 1 && cap >= (uint64_t)VT_RUN_FROM * vt.workers ? VT_RUN : 1;
    uint64_t reserve = vt.workers > 1 ? (uint64_t)vt.workers * vt.run : 0; /* one worker counts each insertion */
    vt.grow_at = cap / 8 * 7 > reserve ? cap / 8 * 7 - reserve : 1;
}

static int vt_alloc(int workers, uint64_t cap)
{
    free(vt.slots);
    vt.workers = workers;
    vt.slots = calloc(cap, sizeof(uint64_t));
    vt_set_cap(cap);
    atomic_store(&vt.count, 0);
    atomic_store(&vt.request, 0);
    vt.failed = 0;
    vt.active = vt.paused = 0;
    vt.rehashing = 0;
    return vt.slots ? 0 : -1;
}

static int vt_init(int workers)
{
    return vt_alloc(workers, vt_min_cap(workers));
}

/* Growing: a table half as large again is allocated and every slot of the old one moved
 * into it. Only while every worker of the level waits in vt_pause() or has left; the
 * waiting ones move the slots together, in runs of REHASH_RUN (compare-and-swap, as
 * visits do), so growing does not leave all but one core idle. */
#define REHASH_RUN 65536

static int vt_grow_start(void)
{
    vt.new_cap = vt.cap + vt.cap / 2;
    vt.new_slots = calloc(vt.new_cap, sizeof(uint64_t));
    if (!vt.new_slots) {
        vt.failed = 1;
        return -1;
    }
    atomic_store(&vt.cursor, 0);
    return 0;
}

static void vt_grow_part(void)
{
    double t0 = thread_cpu();
    uint64_t *to = vt.new_slots, cap = vt.new_cap;
    for (;;) {
        uint64_t a = atomic_fetch_add(&vt.cursor, REHASH_RUN);
        if (a >= vt.cap)
            break;
        uint64_t b = a + REHASH_RUN < vt.cap ? a + REHASH_RUN : vt.cap;
        for (uint64_t i = a; i < b; i++) {
            uint64_t fp = vt.slots[i];
            if (!fp)
                continue;
            uint64_t k = vt_home(fp, cap), empty = 0;
            while (!__atomic_compare_exchange_n(&to[k], &empty, fp, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
                empty = 0;
                if (++k == cap)
                    k = 0;
            }
        }
    }
    grow_cpu_here += thread_cpu() - t0;
}

static void vt_grow_finish(void)
{
    free(vt.slots);
    vt.slots = vt.new_slots;
    vt.new_slots = NULL;
    vt_set_cap(vt.new_cap);
}

/* Alone: one worker, or a checkpoint being loaded. */
static void vt_grow(void)
{
    if (vt_grow_start() == 0) {
        vt_grow_part();
        vt_grow_finish();
    }
}

/* Under vt.m, once every active worker waits (or none is left): the end of a pause. */
static void vt_release_locked(void)
{
    if (!vt.failed)
        atomic_store(&vt.request, 0);
    vt.rehashing = 0;
    vt.paused = 0;
    vt.generation++;
    pthread_cond_broadcast(&vt.cv);
}

/* Under vt.m: if every active worker waits, start growing and wake them to help; if no
 * worker is left in the level, grow alone. */
static void vt_maybe_grow_locked(void)
{
    if (!atomic_load(&vt.request) || vt.rehashing || vt.paused < vt.active)
        return;
    if (vt.failed || vt_grow_start() < 0) {
        vt_release_locked();
        return;
    }
    if (vt.paused == 0) {
        vt_grow_part();
        vt_grow_finish();
        vt_release_locked();
        return;
    }
    vt.rehashing = 1;
    vt.helpers = vt.paused;
    vt.done = 0;
    pthread_cond_broadcast(&vt.cv);
}

static void vt_pause(void)
{
    pthread_mutex_lock(&vt.m);
    if (atomic_load(&vt.request) && !vt.failed) {
        uint64_t gen = vt.generation;
        vt.paused++;
        vt_maybe_grow_locked();
        while (vt.generation == gen && !vt.rehashing)
            pthread_cond_wait(&vt.cv, &vt.m);
        if (vt.generation == gen) { /* growing: take part */
            pthread_mutex_unlock(&vt.m);
            vt_grow_part();
            pthread_mutex_lock(&vt.m);
            if (++vt.done == vt.helpers) {
                vt_grow_finish();
                vt_release_locked();
            }
            while (vt.generation == gen)
                pthread_cond_wait(&vt.cv, &vt.m);
        }
    }
    pthread_mutex_unlock(&vt.m);
}

static void vt_flush(int *local)
{
    uint64_t n = atomic_fetch_add(&vt.count, (uint64_t)*local) + (uint64_t)*local;
    *local = 0;
    if (n >= vt.grow_at) {
        if (vt.workers == 1)
            vt_grow();
        else
            atomic_store(&vt.request, 1);
    }
}

/* A worker leaves the level: its count is added, and it no longer holds up a growth. */
static void vt_leave(int *local)
{
    vt_flush(local);
    if (vt.workers == 1)
        return;
    pthread_mutex_lock(&vt.m);
    vt.active--;
    vt_maybe_grow_locked();
    pthread_mutex_unlock(&vt.m);
}

/* 1 if fp was new, 0 if seen before, -1 when out of memory. `local` counts the caller's
 * insertions not yet added to the shared count. With `tag`, a new fingerprint is stored
 * with VT_LEVEL_TAG and one found with it gives 2 (first reached in this level). */
static int visit_tagged(uint64_t fp, int *local, int tag)
{
    if (atomic_load_explicit(&vt.request, memory_order_relaxed))
        vt_pause();
    if (vt.failed)
        return -1;
    uint64_t *slots = vt.slots, cap = vt.cap;
    uint64_t k = vt_home(fp, cap);
    for (;;) {
        uint64_t cur = __atomic_load_n(&slots[k], __ATOMIC_RELAXED);
        if ((cur & ~VT_LEVEL_TAG) == fp)
            return (cur & VT_LEVEL_TAG) ? 2 : 0;
        if (cur == 0) {
            if (__atomic_compare_exchange_n(&slots[k], &cur, tag ? fp | VT_LEVEL_TAG : fp, 0, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED))
                break;
            if ((cur & ~VT_LEVEL_TAG) == fp) /* another worker stored it first */
                return (cur & VT_LEVEL_TAG) ? 2 : 0;
        }
        if (++k == cap)
            k = 0;
    }
    if (++*local >= vt.run)
        vt_flush(local);
    return vt.failed ? -1 : 1;
}

static int visit(uint64_t fp, int *local) { return visit_tagged(fp, local, 0); }

static int64_t visited_bytes(void) { return (int64_t)vt.cap * 8; }

/* ------------------------------------------------------------------ parent map
 *
 * A state's id is its position in discovery order: the states of a level get theirs when
 * the level is complete, in worker order, so finding a state needs no shared counter and
 * ids have no holes. The record id -> (parent id, binding), 6 bytes, is written then to
 * an unnamed temporary file at offset 6 * id (TLC keeps its trace file on disk the same
 * way), so memory holds none of the parent map; traces and checkpoints read it back.
 */

#define PREC 6
#define MAX_IDS ((int64_t)UINT32_MAX)
#define WBUF_RECS 8192 /* records per write: a fixed buffer, not per state */

static FILE *parent_file;
static int64_t next_id; /* ids given so far */

static int parents_write(int64_t id, const uint8_t *recs, int64_t n)
{
    if (!parent_file && !(parent_file = tmpfile()))
        return -1;
    ssize_t bytes = (ssize_t)(n * PREC);
    return pwrite(fileno(parent_file), recs, bytes, (off_t)(id * PREC)) == bytes ? 0 : -1;
}

static int parents_read(int64_t id, uint8_t *recs, int64_t n)
{
    ssize_t bytes = (ssize_t)(n * PREC);
    return parent_file && pread(fileno(parent_file), recs, bytes, (off_t)(id * PREC)) == bytes ? 0 : -1;
}

static void parent_of(int64_t id, uint32_t *parent, int *binding)
{
    uint8_t r[PREC];
    uint16_t b = 0xffff;
    *parent = UINT32_MAX;
    if (parents_read(id, r, 1) == 0) {
        memcpy(parent, r, 4);
        memcpy(&b, r + 4, 2);
    }
    *binding = b;
}

/* ------------------------------------------------------------------ frontier buffers
 *
 * An entry is (parent id: 4 bytes, binding: 2, unused: 2, packed state); its own id is
 * the level's first id plus its position.
 */

typedef struct {
    uint8_t *data;
    int64_t count, cap;
} buf_t;

static int buf_push(buf_t *b, int64_t parent, int binding, const uint8_t *packed)
{
    if (b->count == b->cap) {
        int64_t cap = b->cap ? b->cap * 2 : 1024;
        uint8_t *d = realloc(b->data, (size_t)cap * ENTRY_BYTES);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    uint8_t *e = b->data + (size_t)b->count * ENTRY_BYTES;
    uint32_t p = (uint32_t)parent;
    uint16_t bb = (uint16_t)binding;
    memcpy(e, &p, 4);
    memcpy(e + 4, &bb, 2);
    memset(e + 6, 0, 2);
    memcpy(e + 8, packed, PACKED_BYTES);
    b->count++;
    return 0;
}

/* Write the parent records of n entries, whose ids start at `id`. */
static int parents_of_entries(int64_t id, const uint8_t *entries, int64_t n)
{
    static uint8_t wbuf[WBUF_RECS * PREC];
    for (int64_t i = 0; i < n;) {
        int64_t m = n - i < WBUF_RECS ? n - i : WBUF_RECS;
        for (int64_t j = 0; j < m; j++)
            memcpy(wbuf + j * PREC, entries + (size_t)(i + j) * ENTRY_BYTES, PREC);
        if (parents_write(id + i, wbuf, m) < 0)
            return -1;
        i += m;
    }
    return 0;
}

/* ------------------------------------------------------------------ the run */

/* A stubborn set under construction (docs/reduction.md): members are marked with the
 * current epoch; ff[b] is -1 when b is enabled, else its first false guard conjunct. */
struct por {
    const int64_t *s; /* the state the set is built for */
    uint32_t epoch;
    int top, nmem, enabled_in;
    uint32_t mark[NBINDINGS > 0 ? NBINDINGS : 1];
    int32_t stack[NBINDINGS > 0 ? NBINDINGS : 1], base[NBINDINGS > 0 ? NBINDINGS : 1];
    int16_t ff[NBINDINGS > 0 ? NBINDINGS : 1], nes[NBINDINGS > 0 ? NBINDINGS : 1];
};

struct worker {
    int index;
    /* When set, every successor goes here instead (the liveness graph builder, checker/liveness/live.c). */
    void (*sink)(struct worker *w, int binding, const int64_t *next);
    int capture; /* >= 0: only record the successor by this binding (replay) */
    int captured;
    int64_t *capture_out;
    int64_t cur_id;
    int nsucc;
    /* A successor's invariant violation waits until the whole state is expanded: as in
     * checker/explicit/explore.py, a model error in a later binding of the same state wins. */
    int64_t pend_verdict, pend_id, pend_detail;
    int64_t generated, quiescent;
    int vt_local; /* insertions not yet added to the visited set's count */
    double level_cpu, level_grow; /* CPU time in the last level, and growing in it */
    int64_t fired[NBINDINGS], fresh[NBINDINGS];
    int64_t por_reduced, por_full; /* states expanded by a proper stubborn set / fully */
    int por_old; /* a successor was already visited */
    int64_t por_enabled, por_skipped; /* enabled bindings at expanded states / left out by a reduction */
    struct por por;
    int64_t canon_buf[NSLOTS];
    uint8_t packed[PACKED_BYTES];
    buf_t next;
    pthread_t thread;
};

static struct {
    int workers, symmetry, check_deadlock;
    int64_t max_states;
    pg_progress_fn progress;
    double progress_every, last_progress, started;
    int64_t depth;
    buf_t level[MAX_WORKERS];
    int64_t level_base, level_total; /* the current level's first id and size */
    _Alignas(64) _Atomic int64_t cursor; /* taken per chunk: apart from what every state reads */
    _Alignas(64) char cursor_end;
    _Atomic int stop;
    int quit;
    pthread_mutex_t verdict_lock;
    int64_t verdict, bad_id, detail;
    int64_t *wit_depth, *wit_id;
    int por; /* partial-order reduction on */
    int64_t por_dropped_at; /* states expanded when it was switched off for not reducing (0: never) */
    uint64_t wit_unreached; /* witnesses not reached when the level began: goals of the reduction */
    pthread_barrier_t start, end;
    struct worker *w[MAX_WORKERS];
} run;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void finish(int64_t verdict, int64_t bad_id, int64_t detail)
{
    pthread_mutex_lock(&run.verdict_lock);
    if (run.verdict == V_OK) {
        run.verdict = verdict;
        run.bad_id = bad_id;
        run.detail = detail;
    }
    atomic_store(&run.stop, 1);
    pthread_mutex_unlock(&run.verdict_lock);
}

/* A state of the next level, whose id is given when the level is complete, is named by
 * its worker and position until then (a negative number below -1). */
#define NEXT_REF(k, p) (INT64_MIN + ((int64_t)(k) << 40) + (p))
#define IS_NEXT_REF(x) ((x) < -1)

static void note_witnesses(const int64_t *s, int64_t id, int64_t depth)
{
#if NWIT > 0
    uint64_t hits = witness_hits(s);
    while (hits) {
        int i = __builtin_ctzll(hits);
        hits &= hits - 1;
        int64_t expect = -1;
        if (__atomic_load_n(&run.wit_depth[i], __ATOMIC_RELAXED) == -1 &&
            __atomic_compare_exchange_n(&run.wit_depth[i], &expect, depth, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            run.wit_id[i] = id;
    }
#else
    (void)s; (void)id; (void)depth;
#endif
}

#define CAPTURE_BATCH (-2) /* emit() hands successors to batch_emit() (distributed batches) */
static void batch_emit(struct worker *w, int binding, const int64_t *next);

static void emit(struct worker *w, int binding, const int64_t *next)
{
    if (w->sink) {
        w->sink(w, binding, next);
        return;
    }
    if (w->capture == CAPTURE_BATCH) {
        batch_emit(w, binding, next);
        return;
    }
    if (w->capture >= 0) {
        if (binding == w->capture && !w->captured) {
            memcpy(w->capture_out, next, sizeof(int64_t) * NSLOTS);
            w->captured = 1;
        }
        return;
    }
    if (w->pend_verdict != V_OK)
        return;
    w->nsucc++;
    w->generated++;
    w->fired[binding]++;
    const int64_t *c = next;
    if (run.symmetry) {
        canon(next, w->canon_buf);
        c = w->canon_buf;
    }
    pack(c, w->packed);
    int fresh = visit_tagged(fingerprint(w->packed), &w->vt_local, run.por);
    if (fresh == 0 || fresh == 2) {
        /* The proviso of por_expand(): a successor reached before this level (not one
         * another state of this level reached first: that one is one level deeper too). */
        w->por_old |= fresh == 0;
        return;
    }
    int64_t id = NEXT_REF(w->index, w->next.count);
    if (fresh < 0 || buf_push(&w->next, w->cur_id, binding, w->packed) < 0) {
        finish(V_NO_MEMORY, w->cur_id, 0);
        return;
    }
    w->fresh[binding]++;
    pg_err_site = -1;
    int v = first_violation(c);
    if (pg_err_site >= 0) {
        w->pend_verdict = V_MODEL_ERROR, w->pend_id = id, w->pend_detail = pg_err_site;
        pg_err_site = -1;
        return;
    }
    if (v >= 0) {
        w->pend_verdict = V_INVARIANT, w->pend_id = id, w->pend_detail = v;
        return;
    }
    note_witnesses(c, id, run.depth + 1);
}

/* ------------------------------------------------------------------ partial-order reduction
 *
 * A stubborn set per state, from the tables cgen_por.py derives from the IR: closed under
 * "an enabled member brings its dependents, a disabled one the enablers of its first false
 * conjunct"; it contains, for every invariant, every unreached witness and every binding that
 * can fail at run time, a set of bindings that every path to a violation must contain; and
 * at least one enabled binding. Only its enabled members are fired. docs/reduction.md. */

static void por_add(struct por *p, int32_t b)
{
    if (p->mark[b] == p->epoch)
        return;
    p->mark[b] = p->epoch;
    p->stack[p->top++] = b;
    p->base[p->nmem++] = b;
    if (p->ff[b] < 0)
        p->enabled_in++;
}

static void por_add_span(struct por *p, int32_t start, int32_t n)
{
    for (int32_t k = 0; k < n; k++)
        por_add(p, POR_LIST[start + k]);
}

/* The changers of slot v at its value x (por.Changer): the bindings that can be the first
 * to move v off x, onto `to` when to_known. */
static void por_add_changers(struct por *p, int32_t v, int64_t x, int to_known, int64_t to)
{
    for (int32_t k = POR_CH_START[v]; k < POR_CH_START[v + 1]; k++) {
        int32_t b = POR_CH_B[k];
        if (p->mark[b] == p->epoch || ((POR_CH_FLAGS[k] & 1) && POR_CH_PIN[k] != x))
            continue;
        int skip = 0;
        for (int32_t e = 0; e < POR_CH_EX[2 * k + 1] && !skip; e++)
            skip = POR_CH_POOL[POR_CH_EX[2 * k] + e] == x;
        if (skip)
            continue;
        if (POR_CH_FLAGS[k] & 2) {
            int can = 0;
            for (int32_t e = 0; e < POR_CH_VALS[2 * k + 1] && !can; e++) {
                int64_t val = POR_CH_POOL[POR_CH_VALS[2 * k] + e];
                can = val != x && (!to_known || val == to);
            }
            if (!can)
                continue;
        }
        por_add(p, b);
    }
}

/* A necessary enabling set of guard conjunct j (global index), false at p->s: the changers
 * of the slots it reads (for `slot == c`, those that can write c). */
static void por_add_enablers(struct por *p, int32_t j)
{
    for (int32_t k = POR_CR_START[j]; k < POR_CR_START[j + 1]; k++) {
        int32_t v = POR_CR[k];
        por_add_changers(p, v, p->s[v], (int)POR_CTGT[2 * j], POR_CTGT[2 * j + 1]);
    }
}

static void por_close(struct por *p)
{
    while (p->top) {
        int32_t b = p->stack[--p->top];
        if (p->ff[b] < 0)
            por_add_span(p, POR_DEP[2 * b], POR_DEP[2 * b + 1]);
        else
            por_add_enablers(p, POR_CONJ_BASE[b] + p->nes[b]);
    }
}

static void por_new_epoch(struct por *p)
{
    if (++p->epoch == 0) {
        memset(p->mark, 0, sizeof(p->mark));
        p->epoch = 1;
    }
    p->top = 0;
    p->enabled_in = 0;
}

/* The goal set, closed, then the cheapest seed. Returns the enabled members' count. */
static int por_build(const int64_t *s, struct por *p)
{
    por_new_epoch(p);
    p->s = s;
    p->nmem = 0;
    por_goals(s, p, run.wit_unreached);
    for (int b = 0; b < NBINDINGS; b++) {
        /* An enabled binding that may fail later is not ignored for ever: the proviso. */
        if (POR_FAIL[2 * b + 1] < 0 || p->ff[b] < 0)
            continue;
        {
            /* Its guard stays false while conjunct nes[b] does; evaluating it can fail only
             * at a fallible conjunct before that, reached only after conjuncts 0..ff[b] change. */
            int32_t k = POR_CONJ_BASE[b] + p->nes[b];
            por_add_enablers(p, k);
            if (POR_FALLIBLE_BEFORE[k]) {
                int32_t j = POR_CONJ_BASE[b] + p->ff[b];
                por_add_span(p, POR_PRE[2 * j], POR_PRE[2 * j + 1]);
            }
        }
    }
    por_close(p);
    if (p->enabled_in > 0)
        return p->enabled_in;
    int n0 = p->nmem, best = -1, best_count = NBINDINGS + 1;
    int32_t goal[NBINDINGS > 0 ? NBINDINGS : 1];
    memcpy(goal, p->base, sizeof(int32_t) * n0);
    for (int e = 0; e < NBINDINGS && best_count > 1; e++) {
        if (p->ff[e] >= 0 || p->mark[e] == p->epoch)
            continue;
        por_new_epoch(p);
        for (int k = 0; k < n0; k++)
            p->mark[goal[k]] = p->epoch;
        p->nmem = n0;
        por_add(p, e);
        por_close(p);
        if (p->enabled_in < best_count)
            best_count = p->enabled_in, best = e;
    }
    por_new_epoch(p);
    for (int k = 0; k < n0; k++)
        p->mark[goal[k]] = p->epoch;
    p->nmem = n0;
    if (best >= 0) {
        por_add(p, best);
        por_close(p);
    }
    return p->enabled_in;
}

static int por_expand(const int64_t *s, struct worker *w)
{
    struct por *p = &w->por;
    pg_err_site = -1;
    guard_states(s, p->ff, p->nes);
    if (pg_err_site >= 0)
        return -1;
    int enabled = 0;
    for (int b = 0; b < NBINDINGS; b++)
        enabled += p->ff[b] < 0;
    w->por_enabled += enabled;
    int fired = enabled <= 1 ? enabled : por_build(s, p);
    if (fired >= enabled) {
        w->por_full++;
        return expand(s, w);
    }
    w->por_old = 0;
    for (int b = 0; b < NBINDINGS; b++)
        if (p->mark[b] == p->epoch && p->ff[b] < 0 && POR_BODY[b](s, w) < 0)
            return -1;
    if (w->por_old) {
        /* The proviso: a reduced successor was visited before (at this level or an earlier
         * one), so it may close a cycle of reduced states; expand the rest too. */
        for (int b = 0; b < NBINDINGS; b++)
            if (p->mark[b] != p->epoch && p->ff[b] < 0 && POR_BODY[b](s, w) < 0)
                return -1;
        w->por_full++;
    } else {
        w->por_reduced++;
        w->por_skipped += enabled - fired;
    }
    return pg_err_site >= 0 ? -1 : 0;
}

/* At a level boundary: once POR_TRIAL states are expanded, stop building stubborn sets if
 * they left out fewer than 1 in POR_MIN_SHARE of the enabled bindings' firings: a stubborn
 * set costs several times a plain expansion, so a small cut makes the search slower, not
 * smaller (docs/reduction.md). Each state may use any valid stubborn set, the full one
 * included, so switching is sound; at a boundary it is the same for any number of workers.
 * run.por == 2 (--keep-por) keeps it on. */
#define POR_TRIAL 20000
#define POR_MIN_SHARE 5
static void por_review(void)
{
    if (run.por != 1)
        return;
    int64_t reduced = 0, full = 0, enabled = 0, skipped = 0;
    for (int k = 0; k < run.workers; k++) {
        reduced += run.w[k]->por_reduced, full += run.w[k]->por_full;
        enabled += run.w[k]->por_enabled, skipped += run.w[k]->por_skipped;
    }
    if (reduced + full >= POR_TRIAL && skipped * POR_MIN_SHARE < enabled) {
        run.por = 0;
        run.por_dropped_at = reduced + full;
    }
}

static void expand_one(struct worker *w, int64_t id, const uint8_t *entry)
{
    int64_t s[NSLOTS];
    w->cur_id = id;
    unpack(entry + 8, s);
    w->nsucc = 0;
    w->pend_verdict = V_OK;
    pg_err_site = -1;
    if ((run.por ? por_expand(s, w) : expand(s, w)) < 0) {
        finish(V_MODEL_ERROR, w->cur_id, pg_err_site);
        return;
    }
    if (w->pend_verdict != V_OK) {
        finish(w->pend_verdict, w->pend_id, w->pend_detail);
        return;
    }
    if (w->nsucc == 0) {
        if (is_quiescent(s))
            w->quiescent++;
        else if (run.check_deadlock)
            finish(V_DEADLOCK, w->cur_id, 0);
    }
}

static const uint8_t *level_entry(int64_t i)
{
    for (int k = 0; k < run.workers; k++) {
        if (i < run.level[k].count)
            return run.level[k].data + (size_t)i * ENTRY_BYTES;
        i -= run.level[k].count;
    }
    return NULL;
}

static int64_t total_generated(void)
{
    int64_t g = 1;
    for (int k = 0; k < run.workers; k++)
        g += run.w[k]->generated;
    return g;
}

static int64_t total_stored(void)
{
    int64_t n = next_id;
    for (int k = 0; k < run.workers; k++)
        n += __atomic_load_n(&run.w[k]->next.count, __ATOMIC_RELAXED);
    return n;
}

static int64_t resolve_ref(int64_t ref, const int64_t *offset)
{
    if (!IS_NEXT_REF(ref))
        return ref;
    int64_t x = ref - INT64_MIN;
    return next_id + offset[x >> 40] + (x & (((int64_t)1 << 40) - 1));
}

/* The next level is complete (or the search stopped inside it): give its states their
 * ids, in worker order, write their parent records, and turn the references to them into
 * ids. The caller holds every worker at a barrier. */
static int commit_next(void)
{
    int64_t offset[MAX_WORKERS], total = 0;
    for (int k = 0; k < run.workers; k++) {
        offset[k] = total;
        total += run.w[k]->next.count;
    }
    if (next_id + total > MAX_IDS)
        return -1;
    for (int k = 0; k < run.workers; k++)
        if (parents_of_entries(next_id + offset[k], run.w[k]->next.data, run.w[k]->next.count) < 0)
            return -1;
    for (int i = 0; i < NWIT; i++)
        if (run.wit_depth[i] >= 0)
            run.wit_id[i] = resolve_ref(run.wit_id[i], offset);
    run.bad_id = resolve_ref(run.bad_id, offset);
    next_id += total;
    return 0;
}

static int64_t queue_size(void)
{
    int64_t q = run.level_total - atomic_load(&run.cursor);
    for (int k = 0; k < run.workers; k++)
        q += run.w[k]->next.count;
    return q > 0 ? q : 0;
}

static void maybe_progress(void)
{
    double t = now_seconds();
    if (t - run.last_progress < run.progress_every)
        return;
    run.last_progress = t;
    if (run.progress && run.progress(total_stored(), total_generated(), run.depth, queue_size()))
        finish(V_STOPPED, -1, 0);
}

static void expand_chunks(struct worker *w)
{
    for (;;) {
        if (atomic_load(&run.stop))
            return;
        int64_t start = atomic_fetch_add(&run.cursor, CHUNK);
        if (start >= run.level_total)
            return;
        int64_t end = start + CHUNK < run.level_total ? start + CHUNK : run.level_total;
        for (int64_t i = start; i < end && !atomic_load(&run.stop); i++) {
            expand_one(w, run.level_base + i, level_entry(i));
            if (run.max_states >= 0 && total_stored() >= run.max_states)
                finish(V_MAX_STATES, -1, 0);
        }
        if (w->index == 0)
            maybe_progress();
    }
}

static void expand_level(struct worker *w)
{
    double t0 = thread_cpu(), g0 = grow_cpu_here;
    expand_chunks(w);
    vt_leave(&w->vt_local);
    w->level_cpu = thread_cpu() - t0;
    w->level_grow = grow_cpu_here - g0;
}

/* CPU seconds of the last pg_explore: [0] used by all threads, [1] on the critical path
 * (per level the busiest worker, growing apart, plus the longest share of growing and the
 * work between levels), [2] between levels, [3] growing the visited set. [0] / [1] is the speed-up the
 * workers would give on idle cores; unlike wall time it holds on a busy machine. */
static double prof[4];

static void profile_level(int workers, double serial)
{
    double most = 0, grow = 0;
    for (int k = 0; k < workers; k++) {
        double own = run.w[k]->level_cpu - run.w[k]->level_grow;
        prof[0] += run.w[k]->level_cpu;
        most = own > most ? own : most;
        grow = run.w[k]->level_grow > grow ? run.w[k]->level_grow : grow; /* workers grow together */
    }
    prof[0] += serial;
    prof[1] += most + grow + serial;
    prof[2] += serial;
    prof[3] += grow;
}

void pg_profile(double *out) { memcpy(out, prof, sizeof(prof)); }

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (;;) {
        pthread_barrier_wait(&run.start);
        if (run.quit)
            return NULL;
        expand_level(w);
        pthread_barrier_wait(&run.end);
    }
}


/* ------------------------------------------------------------------ checkpoints
 *
 * At a level boundary (every worker waiting) the whole search state is written to
 * DIR/search.ckpt.tmp and renamed over DIR/search.ckpt, so a kill at any moment leaves
 * either the previous checkpoint or the new one. The file: a header (magic, the model's
 * key, counters), the visited set, the parent map, the frontier, and a checksum of all
 * of it. Loading refuses a file whose magic, key, size or checksum is wrong.
 */

#define CKPT_MAGIC 0x33544b504b434750ULL /* "PGCKPT3" */

typedef struct {
    FILE *f;
    uint64_t sum;
    int ok;
} ckio;

static void ck_write(ckio *io, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        io->sum = (io->sum ^ b[i]) * 0x100000001b3ULL;
    if (io->ok && fwrite(p, 1, n, io->f) != n)
        io->ok = 0;
}

static void ck_read(ckio *io, void *p, size_t n)
{
    if (!io->ok || fread(p, 1, n, io->f) != n) {
        io->ok = 0;
        memset(p, 0, n);
        return;
    }
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        io->sum = (io->sum ^ b[i]) * 0x100000001b3ULL;
}

static struct {
    char path[4096], tmp[4200];
    double every, last;
    uint64_t key;
    int64_t saves;
    int stopped; /* the save at a stop: 0 none, 1 written, -1 failed */
} ck;

typedef struct {
    uint64_t magic, key;
    int64_t nslots, nbindings, nwit, symmetry;
    int64_t next_id, depth, generated, quiescent, level_total;
    int64_t por, por_reduced, por_full, por_dropped_at; /* the reduction's state (docs/reduction.md) */
    int64_t por_enabled, por_skipped;                   /* its trial's counters (por_review) */
} ck_header;

#define NWIT1 (NWIT > 0 ? NWIT : 1)

/* The counters a checkpoint holds besides the tables. */
typedef struct {
    int64_t generated, quiescent;
    /* The reduction's state with the counters its trial decides on, so a resumed run
     * switches it off at the level a straight run does (and so ends at the same counts). */
    int64_t por, por_dropped_at, por_reduced, por_full, por_enabled, por_skipped;
    int64_t fired[NBINDINGS], fresh[NBINDINGS];
    int64_t wit_depth[NWIT1], wit_id[NWIT1];
} ck_counts;

/* Taken at the start of every level: a run stopped inside a level is saved as that level's
 * start (see save_stopped), so --resume expands the level again, counting each state once. */
static ck_counts level_start;

static void counts_now(ck_counts *c)
{
    memset(c, 0, sizeof(*c));
    c->generated = total_generated();
    c->por = run.por;
    c->por_dropped_at = run.por_dropped_at;
    for (int k = 0; k < run.workers; k++) {
        c->por_reduced += run.w[k]->por_reduced;
        c->por_full += run.w[k]->por_full;
        c->por_enabled += run.w[k]->por_enabled;
        c->por_skipped += run.w[k]->por_skipped;
        c->quiescent += run.w[k]->quiescent;
        for (int b = 0; b < NBINDINGS; b++) {
            c->fired[b] += run.w[k]->fired[b];
            c->fresh[b] += run.w[k]->fresh[b];
        }
    }
    for (int i = 0; i < NWIT; i++) {
        c->wit_depth[i] = run.wit_depth[i];
        c->wit_id[i] = run.wit_id[i];
    }
}

static int save_checkpoint(const ck_counts *c)
{
    ckio io = {fopen(ck.tmp, "wb"), 0xcbf29ce484222325ULL, 1};
    if (!io.f)
        return -1;
    ck_header h = {CKPT_MAGIC, ck.key, NSLOTS, NBINDINGS, NWIT, run.symmetry, next_id, run.depth,
                   c->generated, c->quiescent, run.level_total, c->por, c->por_reduced, c->por_full,
                   c->por_dropped_at, c->por_enabled, c->por_skipped};
    ck_write(&io, &h, sizeof(h));
    ck_write(&io, c->fired, sizeof(c->fired));
    ck_write(&io, c->fresh, sizeof(c->fresh));
    if (NWIT > 0) {
        ck_write(&io, c->wit_depth, sizeof(int64_t) * NWIT);
        ck_write(&io, c->wit_id, sizeof(int64_t) * NWIT);
    }
    uint64_t count = atomic_load(&vt.count);
    ck_write(&io, &vt.cap, 8);
    ck_write(&io, &count, 8);
    ck_write(&io, vt.slots, vt.cap * 8);
    {
        uint8_t *recs = malloc((size_t)WBUF_RECS * PREC);
        if (!recs)
            io.ok = 0;
        for (int64_t id = 0; io.ok && id < h.next_id; id += WBUF_RECS) {
            int64_t n = h.next_id - id < WBUF_RECS ? h.next_id - id : WBUF_RECS;
            if (parents_read(id, recs, n) < 0)
                io.ok = 0;
            ck_write(&io, recs, (size_t)n * PREC);
        }
        free(recs);
    }
    for (int k = 0; k < run.workers; k++)
        ck_write(&io, run.level[k].data, (size_t)run.level[k].count * ENTRY_BYTES);
    uint64_t sum = io.sum;
    ck_write(&io, &sum, 8);
    int ok = io.ok && fflush(io.f) == 0 && fsync(fileno(io.f)) == 0;
    ok = (fclose(io.f) == 0) && ok;
    if (!ok || rename(ck.tmp, ck.path) != 0)
        return -1;
    ck.saves++;
    return 0;
}

/* Linear probing's deletion (Knuth's algorithm R): empty the slot of fp and move later
 * members of its cluster back so every probe still finds them. Alone (no worker runs). */
static void vt_delete(uint64_t fp)
{
    uint64_t cap = vt.cap, i = vt_home(fp, cap);
    while (vt.slots[i] != fp) {
        if (vt.slots[i] == 0)
            return;
        if (++i == cap)
            i = 0;
    }
    vt.slots[i] = 0;
    for (uint64_t j = i;;) {
        if (++j == cap)
            j = 0;
        uint64_t f = vt.slots[j];
        if (f == 0)
            break;
        uint64_t k = vt_home(f, cap);
        /* f may move to i when its home is not cyclically within (i, j] */
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            vt.slots[i] = f;
            vt.slots[j] = 0;
            i = j;
        }
    }
    atomic_fetch_sub(&vt.count, 1);
}

static void vt_insert_alone(uint64_t fp)
{
    uint64_t cap = vt.cap, k = vt_home(fp, cap);
    while (vt.slots[k] != 0 && vt.slots[k] != fp)
        if (++k == cap)
            k = 0;
    if (vt.slots[k] == 0) {
        vt.slots[k] = fp;
        atomic_fetch_add(&vt.count, 1);
    }
}

/* Alone: clear the level tag of fp (visit_tagged). */
static void vt_untag(uint64_t fp)
{
    uint64_t cap = vt.cap, k = vt_home(fp, cap);
    while (vt.slots[k] != 0) {
        if ((vt.slots[k] & ~VT_LEVEL_TAG) == fp) {
            vt.slots[k] = fp;
            return;
        }
        if (++k == cap)
            k = 0;
    }
}

static void next_fingerprints(void (*each)(uint64_t))
{
    for (int k = 0; k < run.workers; k++)
        for (int64_t i = 0; i < run.w[k]->next.count; i++)
            each(fingerprint(run.w[k]->next.data + (size_t)i * ENTRY_BYTES + 8));
}

/* A bound or an interrupt stopped the search inside a level (every worker joined, the
 * level's new states not yet given ids): save the checkpoint of the level's start. Its
 * new states leave the visited set for the save and return after it. 0 saved, -1 not. */
static int save_stopped(void)
{
    next_fingerprints(vt_untag);
    next_fingerprints(vt_delete);
    int rc = save_checkpoint(&level_start);
    next_fingerprints(vt_insert_alone);
    return rc;
}

/* 0 loaded; -1 unreadable or damaged; -2 another model's checkpoint. */
static int load_checkpoint(ck_header *h, int64_t *fired, int64_t *fresh)
{
    ckio io = {fopen(ck.path, "rb"), 0xcbf29ce484222325ULL, 1};
    if (!io.f)
        return -1;
    ck_read(&io, h, sizeof(*h));
    if (!io.ok || h->magic != CKPT_MAGIC) {
        fclose(io.f);
        return -1;
    }
    if (h->key != ck.key || h->nslots != NSLOTS || h->nbindings != NBINDINGS || h->nwit != NWIT) {
        fclose(io.f);
        return -2;
    }
    ck_read(&io, fired, sizeof(int64_t) * NBINDINGS);
    ck_read(&io, fresh, sizeof(int64_t) * NBINDINGS);
    if (NWIT > 0) {
        ck_read(&io, run.wit_depth, sizeof(int64_t) * NWIT);
        ck_read(&io, run.wit_id, sizeof(int64_t) * NWIT);
    }
    uint64_t cap = 0, count = 0;
    ck_read(&io, &cap, 8);
    ck_read(&io, &count, 8);
    if (!io.ok || cap < 2 || cap > (UINT64_C(1) << 40) || count >= cap || vt_alloc(run.workers, cap) < 0)
        io.ok = 0;
    if (io.ok) {
        ck_read(&io, vt.slots, cap * 8);
        atomic_store(&vt.count, count);
        /* More workers than the saving run keep more slots in reserve. */
        while (!vt.failed && (count >= vt.grow_at || vt.cap < vt_min_cap(run.workers)))
            vt_grow();
        if (vt.failed)
            io.ok = 0;
    }
    if (h->next_id < 1 || h->next_id > MAX_IDS || h->level_total < 0 || h->level_total > h->next_id)
        io.ok = 0;
    {
        uint8_t *recs = malloc((size_t)WBUF_RECS * PREC);
        if (!recs)
            io.ok = 0;
        for (int64_t id = 0; io.ok && id < h->next_id; id += WBUF_RECS) {
            int64_t n = h->next_id - id < WBUF_RECS ? h->next_id - id : WBUF_RECS;
            ck_read(&io, recs, (size_t)n * PREC);
            if (io.ok && parents_write(id, recs, n) < 0)
                io.ok = 0;
        }
        free(recs);
    }
    if (io.ok) {
        buf_t *b = &run.level[0];
        b->data = malloc((size_t)(h->level_total ? h->level_total : 1) * ENTRY_BYTES);
        b->cap = h->level_total ? h->level_total : 1;
        b->count = h->level_total;
        if (!b->data)
            io.ok = 0;
        else
            ck_read(&io, b->data, (size_t)h->level_total * ENTRY_BYTES);
    }
    uint64_t expect = io.sum, stored = 0;
    ck_read(&io, &stored, 8);
    int trailing = fgetc(io.f);
    fclose(io.f);
    if (!io.ok || stored != expect || trailing != EOF)
        return -1;
    return 0;
}

/* Set before pg_explore: where to checkpoint (NULL: nowhere), how often, and the key
 * that names this model; resume != 0 starts from the checkpoint there. */
void pg_checkpoint(const char *dir, double every, uint64_t key)
{
    if (!dir) {
        ck.path[0] = 0;
        return;
    }
    snprintf(ck.path, sizeof(ck.path), "%s/search.ckpt", dir);
    snprintf(ck.tmp, sizeof(ck.tmp), "%s/search.ckpt.tmp", dir);
    ck.every = every;
    ck.key = key;
    ck.saves = 0;
    ck.stopped = 0;
}

int64_t pg_checkpoint_saves(void) { return ck.saves; }

/* Whether the last pg_explore, stopped by a bound or an interrupt, saved its checkpoint. */
int pg_checkpoint_stopped(void) { return ck.stopped; }

/* ------------------------------------------------------------------ entry points */

static void free_all(void)
{
    free(vt.slots);
    vt.slots = NULL;
    vt.cap = 0;
    if (parent_file)
        fclose(parent_file);
    parent_file = NULL;
    for (int k = 0; k < MAX_WORKERS; k++) {
        free(run.level[k].data);
        run.level[k] = (buf_t){0};
        if (run.w[k]) {
            free(run.w[k]->next.data);
            free(run.w[k]);
            run.w[k] = NULL;
        }
    }
    next_id = 0;
}

void pg_reset(void) { free_all(); }

/* Partial-order reduction for the next pg_explore (0 off, 1 on). */
static int por_next;
void pg_set_por(int on) { por_next = on; }

/* States of the last run expanded by a proper stubborn set [0] and fully [1], and the
 * states expanded when reduction was switched off for not paying (0: it was not) [2]. */
void pg_por_stats(int64_t *out)
{
    out[0] = out[1] = 0;
    out[2] = run.por_dropped_at;
    for (int k = 0; k < run.workers; k++)
        if (run.w[k]) {
            out[0] += run.w[k]->por_reduced;
            out[1] += run.w[k]->por_full;
        }
}

int pg_nslots(void) { return NSLOTS; }
int pg_nbindings(void) { return NBINDINGS; }

/* Explore from init. fired/fresh: NBINDINGS counters; wit_depth/wit_id: NWIT slots. */
int pg_explore(const int64_t *init, int symmetry, int check_deadlock, int workers, int64_t max_states,
               int64_t max_depth, pg_progress_fn progress, double progress_every, pg_result *res,
               int64_t *fired, int64_t *fresh, int64_t *wit_depth, int64_t *wit_id, int resume)
{
    free_all();
    memset(prof, 0, sizeof(prof));
    if (workers < 1)
        workers = 1;
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    run.workers = workers;
    run.symmetry = symmetry;
    run.por = por_next;
    run.por_dropped_at = 0;
    run.check_deadlock = check_deadlock;
    run.max_states = max_states;
    run.progress = progress;
    run.progress_every = progress_every;
    run.started = run.last_progress = now_seconds();
    run.verdict = V_OK;
    run.bad_id = -1;
    run.detail = 0;
    run.quit = 0;
    run.depth = 0;
    run.level_base = 0;
    atomic_store(&run.stop, 0);
    run.wit_depth = wit_depth;
    run.wit_id = wit_id;
    pthread_mutex_init(&run.verdict_lock, NULL);
    if (vt_init(workers) < 0)
        return -1;
    for (int k = 0; k < workers; k++) {
        /* Cache-line aligned: a worker's counters, written per state, share no line with another's. */
        run.w[k] = aligned_alloc(64, (sizeof(struct worker) + 63) / 64 * 64);
        if (run.w[k])
            memset(run.w[k], 0, sizeof(struct worker));
        if (!run.w[k])
            return -1;
        run.w[k]->index = k;
        run.w[k]->capture = -1;
    }
    int64_t frontier_peak = 0;

    int64_t id0 = 0;
    if (resume) {
        ck_header h;
        int rc = load_checkpoint(&h, run.w[0]->fired, run.w[0]->fresh);
        if (rc < 0)
            return rc == -2 ? -3 : -2;
        next_id = h.next_id;
        run.level_base = h.next_id - h.level_total;
        run.depth = h.depth;
        run.w[0]->generated = h.generated - 1;
        run.w[0]->quiescent = h.quiescent;
        run.level_total = h.level_total;
        run.por = (int)h.por;
        run.por_dropped_at = h.por_dropped_at;
        run.w[0]->por_reduced = h.por_reduced;
        run.w[0]->por_full = h.por_full;
        run.w[0]->por_enabled = h.por_enabled;
        run.w[0]->por_skipped = h.por_skipped;
        goto explore;
    }
    /* The initial state. */
    int64_t c[NSLOTS];
    uint8_t packed[PACKED_BYTES];
    memset(packed, 0, sizeof(packed));
    if (symmetry)
        canon(init, c);
    else
        memcpy(c, init, sizeof(c));
    pack(c, packed);
    visit(fingerprint(packed), &run.w[0]->vt_local);
    uint8_t root[PREC] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}; /* no parent, no binding */
    if (parents_write(0, root, 1) < 0)
        return -1;
    next_id = 1;
    pg_err_site = -1;
    int v = first_violation(c);
    if (pg_err_site >= 0)
        finish(V_MODEL_ERROR, id0, pg_err_site);
    else if (v >= 0)
        finish(V_INVARIANT, id0, v);
    else {
        note_witnesses(c, id0, 0);
        buf_push(&run.level[0], UINT32_MAX, 0xffff, packed);
        run.level_total = 1;
    }

explore:
    ck.last = now_seconds();
    if (workers > 1) {
        pthread_barrier_init(&run.start, NULL, workers);
        pthread_barrier_init(&run.end, NULL, workers);
        for (int k = 1; k < workers; k++)
            pthread_create(&run.w[k]->thread, NULL, worker_main, run.w[k]);
    }
    while (!atomic_load(&run.stop) && run.level_total > 0) {
        if (ck.path[0])
            counts_now(&level_start);
        if (max_depth >= 0 && run.depth >= max_depth) {
            finish(V_MAX_DEPTH, -1, 0);
            break;
        }
        atomic_store(&run.cursor, 0);
        run.wit_unreached = 0;
        for (int i = 0; i < NWIT; i++)
            if (wit_depth[i] < 0)
                run.wit_unreached |= UINT64_C(1) << i;
        vt.active = workers;
        if (workers > 1)
            pthread_barrier_wait(&run.start);
        expand_level(run.w[0]);
        if (workers > 1)
            pthread_barrier_wait(&run.end);
        double serial0 = thread_cpu();
        if (atomic_load(&run.stop)) {
            profile_level(workers, 0);
            break;
        }
        if (commit_next() < 0) {
            finish(V_NO_MEMORY, -1, 0);
            break;
        }
        if (run.por)
            next_fingerprints(vt_untag);
        /* The next level becomes the current one; buffers are swapped, not copied. */
        run.level_base += run.level_total;
        int64_t total = 0, bytes = 0;
        for (int k = 0; k < workers; k++) {
            buf_t old = run.level[k];
            run.level[k] = run.w[k]->next;
            old.count = 0;
            run.w[k]->next = old;
            total += run.level[k].count;
            bytes += run.level[k].cap * ENTRY_BYTES + run.w[k]->next.cap * ENTRY_BYTES;
        }
        if (bytes > frontier_peak)
            frontier_peak = bytes;
        run.level_total = total;
        if (total)
            run.depth++;
        por_review();
        if (ck.path[0] && total && now_seconds() - ck.last >= ck.every) {
            ck_counts c;
            counts_now(&c);
            if (save_checkpoint(&c) < 0)
                finish(V_NO_MEMORY, -1, 1); /* detail 1: the checkpoint could not be written */
            ck.last = now_seconds();
        }
        profile_level(workers, thread_cpu() - serial0);
    }
    if (workers > 1) {
        run.quit = 1;
        pthread_barrier_wait(&run.start);
        for (int k = 1; k < workers; k++)
            pthread_join(run.w[k]->thread, NULL);
        pthread_barrier_destroy(&run.start);
        pthread_barrier_destroy(&run.end);
    }
    /* Stopped by a bound or an interrupt: saved, so --resume continues it. A violation or a failure ends the search: nothing to continue. */
    int bounded = run.verdict == V_STOPPED || run.verdict == V_MAX_STATES || run.verdict == V_MAX_DEPTH;
    if (ck.path[0] && bounded && run.level_total > 0)
        ck.stopped = save_stopped() == 0 ? 1 : -1;
    /* Stopped inside a level: its states found so far get ids, so a trace can reach them. */
    if (commit_next() < 0 && run.verdict == V_OK)
        run.verdict = V_NO_MEMORY;
    for (int k = 0; k < workers; k++)
        run.w[k]->next.count = 0;

    res->verdict = run.verdict;
    res->distinct = total_stored();
    res->generated = total_generated();
    res->depth = run.depth + (run.verdict == V_INVARIANT && run.bad_id != id0 ? 1 : 0);
    res->bad_id = run.bad_id;
    res->detail = run.detail;
    res->quiescent = 0;
    for (int k = 0; k < workers; k++) {
        res->quiescent += run.w[k]->quiescent;
        for (int b = 0; b < NBINDINGS; b++) {
            fired[b] += run.w[k]->fired[b];
            fresh[b] += run.w[k]->fresh[b];
        }
    }
    res->table_bytes = visited_bytes(); /* the parent map is in its file */
    res->frontier_peak_bytes = frontier_peak;
    return 0;
}

/* The bindings along the parent chain from the initial state to `id`, root first. */
int64_t pg_path(int64_t id, int32_t *out, int64_t max)
{
    int64_t n = 0;
    while (id >= 0 && id < next_id) {
        uint32_t p;
        int b;
        parent_of(id, &p, &b);
        if (p == UINT32_MAX)
            break;
        if (n < max)
            out[n] = b;
        n++;
        id = p;
    }
    for (int64_t l = 0, r = (n < max ? n : max) - 1; l < r; l++, r--) {
        int32_t t = out[l]; out[l] = out[r]; out[r] = t;
    }
    return n;
}

void pg_canon(const int64_t *s, int64_t *out) { canon(s, out); }

/* Apply one binding: 1 and the successor in out, 0 if disabled, -1 on a model error. */
int pg_step(int binding, const int64_t *s, int64_t *out)
{
    struct worker w;
    memset(&w, 0, sizeof(w));
    w.capture = binding;
    w.capture_out = out;
    pg_err_site = -1;
    int rc = expand(s, &w);
    /* A later binding may fail on this state (the search stopped at the violation first). */
    if (w.captured)
        return 1;
    return rc < 0 ? -1 : 0;
}

int pg_error_site(void) { return pg_err_site; }


/* ------------------------------------------------------------------ batches (distributed engine)
 *
 * Entry points for the distributed engine, where each process owns the states whose
 * fingerprint is k (mod K). States travel as records: fingerprint (8 bytes), parent
 * fingerprint (8), binding (4), a flag (4), then the canonical packed state. A process
 * expands a batch of its own records into successor records routed by owner, and absorbs
 * the records routed to it: the new ones (its own visited set decides) are checked and
 * kept, in arrival order, as its part of the next level.
 */

#define REC_BYTES (24 + PACKED_BYTES)

static struct {
    uint8_t *out;
    int64_t count;
    int symmetry;
    uint64_t parent_fp;
    int64_t *fired;
} bx;

static void batch_emit(struct worker *w, int binding, const int64_t *next)
{
    int64_t c[NSLOTS];
    const int64_t *s = next;
    if (bx.symmetry) {
        canon(next, c);
        s = c;
    }
    uint8_t *r = bx.out + (size_t)bx.count * REC_BYTES;
    memset(r, 0, REC_BYTES);
    pack(s, r + 24);
    uint64_t fp = fingerprint(r + 24);
    int32_t b = binding;
    memcpy(r, &fp, 8);
    memcpy(r + 8, &bx.parent_fp, 8);
    memcpy(r + 16, &b, 4);
    bx.count++;
    bx.fired[binding]++;
    w->nsucc++;
}

int pg_rec_bytes(void) { return REC_BYTES; }
int pg_packed_bytes(void) { return PACKED_BYTES; }

/* The record of a (concrete) state as a root: canonical if symmetry, no parent. */
uint64_t pg_root_record(const int64_t *s, int symmetry, uint8_t *rec)
{
    int64_t c[NSLOTS];
    if (symmetry)
        canon(s, c);
    else
        memcpy(c, s, sizeof(c));
    memset(rec, 0, REC_BYTES);
    pack(c, rec + 24);
    uint64_t fp = fingerprint(rec + 24);
    int32_t b = -1;
    memcpy(rec, &fp, 8);
    memcpy(rec + 16, &b, 4);
    return fp;
}

/* Expand records in[0..n) into out (room for cap records). Stops before a state whose
 * successors might not fit; *done says how many states were expanded. stats: [0] states
 * without successors that are quiescent, [1] the first deadlocked state's fingerprint
 * (0: none), [2] the first state whose expansion failed (0: none), [3] that error's site.
 * fired: NBINDINGS counters. Returns the number of successor records written. */
int64_t pg_expand_batch(const uint8_t *in, int64_t n, int symmetry, uint8_t *out, int64_t cap, int64_t *done,
                        int64_t *stats, int64_t *fired)
{
    struct worker *w = calloc(1, sizeof(struct worker));
    if (!w)
        return -1;
    w->capture = CAPTURE_BATCH;
    bx.out = out;
    bx.count = 0;
    bx.symmetry = symmetry;
    bx.fired = fired;
    int64_t i = 0;
    for (; i < n && bx.count + NBINDINGS <= cap; i++) {
        const uint8_t *r = in + (size_t)i * REC_BYTES;
        int64_t s[NSLOTS];
        memcpy(&bx.parent_fp, r, 8);
        unpack(r + 24, s);
        w->nsucc = 0;
        pg_err_site = -1;
        if (expand(s, w) < 0) {
            if (!stats[2]) {
                stats[2] = (int64_t)bx.parent_fp;
                stats[3] = pg_err_site;
            }
            continue;
        }
        if (w->nsucc == 0) {
            if (is_quiescent(s))
                stats[0]++;
            else if (!stats[1])
                stats[1] = (int64_t)bx.parent_fp;
        }
    }
    free(w);
    *done = i;
    return bx.count;
}

/* Stable counting sort of n records by owner (fingerprint mod k) into out; counts[j] is
 * how many records go to owner j. */
void pg_route(const uint8_t *in, int64_t n, int k, uint8_t *out, int64_t *counts)
{
    int64_t start[MAX_WORKERS + 1];
    for (int j = 0; j < k; j++)
        counts[j] = 0;
    for (int64_t i = 0; i < n; i++) {
        uint64_t fp;
        memcpy(&fp, in + (size_t)i * REC_BYTES, 8);
        counts[fp % (uint64_t)k]++;
    }
    start[0] = 0;
    for (int j = 0; j < k; j++)
        start[j + 1] = start[j] + counts[j];
    for (int64_t i = 0; i < n; i++) {
        uint64_t fp;
        memcpy(&fp, in + (size_t)i * REC_BYTES, 8);
        memcpy(out + (size_t)(start[fp % (uint64_t)k]++) * REC_BYTES, in + (size_t)i * REC_BYTES, REC_BYTES);
    }
}

/* An empty visited set for this process's share of the states. */
int pg_visit_init(void)
{
    free_all();
    return vt_init(1);
}

int64_t pg_visited_bytes(void) { return visited_bytes(); }

/* Absorb n records: the new ones are copied, in order, to out with their flag set to -1
 * (fine), an invariant index, or -2 - site (the model could not be evaluated); fresh
 * counts them per binding; witnesses gets the union of their witness hits and wit_fp[i]
 * the first new state hitting witness i. Returns the number of new records, -1 when out
 * of memory. *bad is the index in out of the first flagged record (-1: none). */
int64_t pg_absorb(const uint8_t *in, int64_t n, uint8_t *out, int64_t *fresh, uint64_t *witnesses,
                  uint64_t *wit_fp, int64_t *bad)
{
    int64_t m = 0;
    int local = 0;
    *bad = -1;
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *r = in + (size_t)i * REC_BYTES;
        uint64_t fp;
        memcpy(&fp, r, 8);
        int v = visit(fp, &local);
        if (v < 0)
            return -1;
        if (v == 0)
            continue;
        uint8_t *o = out + (size_t)m * REC_BYTES;
        memcpy(o, r, REC_BYTES);
        int64_t s[NSLOTS];
        unpack(o + 24, s);
        pg_err_site = -1;
        int32_t flag = first_violation(s);
        if (pg_err_site >= 0)
            flag = -2 - pg_err_site;
        memcpy(o + 20, &flag, 4);
        if (flag != -1 && *bad < 0)
            *bad = m;
        int32_t b;
        memcpy(&b, o + 16, 4);
        if (b >= 0)
            fresh[b]++;
#if NWIT > 0
        uint64_t hits = witness_hits(s) & ~*witnesses;
        *witnesses |= hits;
        while (hits) {
            int k = __builtin_ctzll(hits);
            hits &= hits - 1;
            wit_fp[k] = fp;
        }
#else
        (void)witnesses; (void)wit_fp;
#endif
        m++;
    }
    return m;
}
