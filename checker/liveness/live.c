/* pgcheck native liveness, part 4 of 4 (after the engine): the explored graph stored
 * compactly, and the fair-cycle search of checker/liveness/fair_cycles.py in C.
 *
 * Needs from part 2: NPRED, NPB and live_preds() (the temporal properties' P and Q per
 * instance, checker/liveness/cgen_live.py) besides what engine.c needs; from part 3:
 * struct worker, expand(), pack(), fingerprint(), first_violation(), witness_hits(),
 * is_quiescent().
 *
 * The graph: states numbered in breadth-first order (0 is the initial state), canonical
 * representatives with symmetry (each edge then keeps its permutation, 2 bytes more),
 * no partial-order reduction. Per state: its first edge's position (4 bytes) and the
 * predicate bits (NPB bytes); per edge (binding, target): 6 bytes; the first state of each
 * level. Self-loops are not stored (a step that changes nothing is stuttering, as in
 * checker/liveness/graph.py); a binding is enabled in a state when it has an edge there,
 * so the fair bindings' enabled bits are read off the edges. The BFS tree is not stored
 * either: a path is found again level by level (lv_tree_path). The fingerprint -> number
 * table and the frontier's packed states are freed once the graph is built.
 *
 * Built in batches, expanded by one or more threads and merged in order by the caller
 * (below, "building, in batches"): the graph is the same for any number of threads.
 */

#define LV_CHUNK 65536 /* packed frontier states per block, freed once expanded */
#define LV_MAX_BLOCKS ((int64_t)UINT32_MAX / LV_CHUNK + 1) /* state numbers are 32-bit */

enum { LV_OK, LV_INVARIANT, LV_DEADLOCK, LV_MODEL_ERROR, LV_MAX_STATES, LV_MAX_DEPTH, LV_STOPPED, LV_NO_MEMORY };

static struct {
    /* fingerprint -> state number, while building */
    uint64_t *fps;
    uint32_t *ids;
    uint64_t cap, count;
    /* per state */
    int64_t n, ncap;
    uint32_t *estart; /* n + 1 entries once built */
    uint8_t *preds;
    /* edges */
    int64_t ne, ecap;
    uint32_t *etgt;
    uint16_t *ebind;
    /* levels: the first state number of each depth, and one past the last */
    int64_t *level;
    int64_t nlevels, lcap;
    /* the frontier: packed states [head, n) in blocks of LV_CHUNK */
    uint8_t **blocks;
    int64_t nblocks;
    /* while expanding one state */
    int64_t cur;
    int failed;
    /* the first safety violation found (the search goes on after an invariant or a deadlock) */
    int64_t verdict, bad_id, detail;
    int64_t stop; /* a bound or an interrupt ended the search early (LV_OK: it did not) */
    int64_t quiescent, generated;
    int64_t fired[NBINDINGS > 0 ? NBINDINGS : 1], fresh[NBINDINGS > 0 ? NBINDINGS : 1];
    int64_t wit_depth[NWIT > 0 ? NWIT : 1], wit_id[NWIT > 0 ? NWIT : 1];
    int64_t peak_bytes;
    /* symmetry (sym): states are canonical representatives, of the pair (state, tracked
     * instance) when track_g >= 0; each edge keeps the permutation that made its target
     * canonical; the fingerprint table is kept for lifting lassos (pg_live_node_of). */
    int sym, track_g, track_i, asym;
    uint16_t *eperm;
    int check_deadlock;
} lv;

static void fc_free(void);
static int64_t lv_records_bytes(void);

static int64_t lv_bytes(void)
{
    return lv_records_bytes() + lv.cap * 12 + lv.ncap * (4 + NPB) + lv.ecap * (lv.sym ? 8 : 6) + (lv.blocks ? LV_MAX_BLOCKS * 8 : 0) +
           (lv.n - (lv.cur > 0 ? lv.cur : 0)) * PACKED_BYTES;
}

static void *lv_grow(void *p, int64_t *cap, int64_t need, size_t each)
{
    if (need <= *cap)
        return p;
    int64_t c = *cap ? *cap + *cap / 2 : 1024;
    if (c < need)
        c = need;
    void *q = realloc(p, (size_t)c * each);
    if (!q) {
        lv.failed = 1;
        return p;
    }
    *cap = c;
    return q;
}

static void lv_table_grow(void)
{
    uint64_t cap = lv.cap ? lv.cap + lv.cap / 2 : 1024;
    uint64_t *fps = calloc(cap, 8);
    uint32_t *ids = malloc(cap * 4);
    if (!fps || !ids) {
        free(fps);
        free(ids);
        lv.failed = 1;
        return;
    }
    for (uint64_t i = 0; i < lv.cap; i++) {
        uint64_t fp = lv.fps[i];
        if (!fp)
            continue;
        uint64_t k = vt_home(fp, cap);
        while (fps[k])
            if (++k == cap)
                k = 0;
        fps[k] = fp;
        ids[k] = lv.ids[i];
    }
    free(lv.fps);
    free(lv.ids);
    lv.fps = fps;
    lv.ids = ids;
    lv.cap = cap;
}

/* The number of the state with this fingerprint; a new one gets `fresh` (and 1 in *is_new). */
static int64_t lv_lookup(uint64_t fp, int64_t fresh, int *is_new)
{
    if ((lv.count + 1) * 8 >= lv.cap * 7)
        lv_table_grow();
    if (lv.failed)
        return -1;
    uint64_t k = vt_home(fp, lv.cap);
    while (lv.fps[k]) {
        if (lv.fps[k] == fp) {
            *is_new = 0;
            return lv.ids[k];
        }
        if (++k == lv.cap)
            k = 0;
    }
    lv.fps[k] = fp;
    lv.ids[k] = (uint32_t)fresh;
    lv.count++;
    *is_new = 1;
    return fresh;
}

/* ------------------------------------------------------------------ permutations
 *
 * A permutation of the symmetry groups' instances, as canon_tracked() returns it: pm
 * entry [g * MAXN + i] is the new index of instance i of group g. Interned (16-bit ids, 0
 * the identity) so an edge keeps its permutation in two bytes. */

#define PM_W (NGROUPS > 0 ? NGROUPS * MAXN : 1)
#define PM_MAX 65535

static struct {
    uint8_t *p;
    int64_t n, cap;
    uint32_t *slot; /* open addressing: id + 1, 0 empty */
    int64_t scap;
    int32_t *inv;   /* the inverse's id, -1 not yet known */
} pm;

static uint64_t pm_hash(const uint8_t *p)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (int k = 0; k < PM_W; k++)
        h = (h ^ p[k]) * UINT64_C(1099511628211);
    return h;
}

static void pm_free(void)
{
    free(pm.p);
    free(pm.slot);
    free(pm.inv);
    memset(&pm, 0, sizeof(pm));
}

/* The id of permutation p, added if new; -1 when the table is full or memory is out. */
static int32_t pm_intern(const uint8_t *p)
{
    if ((pm.n + 1) * 2 >= pm.scap) {
        int64_t cap = pm.scap ? pm.scap * 2 : 1024;
        uint32_t *slot = calloc((size_t)cap, 4);
        if (!slot)
            return -1;
        for (int64_t i = 0; i < pm.n; i++) {
            uint64_t k = pm_hash(pm.p + i * PM_W) % (uint64_t)cap;
            while (slot[k])
                k = (k + 1) % (uint64_t)cap;
            slot[k] = (uint32_t)i + 1;
        }
        free(pm.slot);
        pm.slot = slot;
        pm.scap = cap;
    }
    uint64_t k = pm_hash(p) % (uint64_t)pm.scap;
    while (pm.slot[k]) {
        if (!memcmp(pm.p + (int64_t)(pm.slot[k] - 1) * PM_W, p, PM_W))
            return (int32_t)pm.slot[k] - 1;
        k = (k + 1) % (uint64_t)pm.scap;
    }
    if (pm.n >= PM_MAX)
        return -1;
    if (pm.n + 1 > pm.cap) {
        int64_t cap = pm.cap ? pm.cap * 2 : 256;
        uint8_t *q = realloc(pm.p, (size_t)cap * PM_W);
        int32_t *inv = realloc(pm.inv, (size_t)cap * 4);
        if (q)
            pm.p = q;
        if (inv)
            pm.inv = inv;
        if (!q || !inv)
            return -1;
        pm.cap = cap;
    }
    memcpy(pm.p + pm.n * PM_W, p, PM_W);
    pm.inv[pm.n] = -1;
    pm.slot[k] = (uint32_t)pm.n + 1;
    return (int32_t)pm.n++;
}

/* The bytes of the permutation canon_tracked() returned in P. */
static void pm_bytes(int P[][MAXN], uint8_t *p)
{
    memset(p, 0, PM_W);
#if NGROUPS > 0
    for (int g = 0; g < NGROUPS; g++)
        for (int i = 0; i < MAXN; i++)
            p[g * MAXN + i] = (uint8_t)(i < G_N[g] ? P[g][i] : i);
#else
    (void)P;
#endif
}

static int32_t pm_from(int P[][MAXN])
{
    uint8_t p[PM_W];
    pm_bytes(P, p);
    return pm_intern(p);
}

/* a after b: instance i goes to a(b(i)). */
static int32_t pm_compose(int32_t a, int32_t b)
{
    if (a < 0 || b < 0)
        return -1;
    if (a == 0 || b == 0)
        return a == 0 ? b : a;
    uint8_t r[PM_W];
    const uint8_t *pa = pm.p + (int64_t)a * PM_W, *pb = pm.p + (int64_t)b * PM_W;
    for (int g = 0; g < NGROUPS; g++)
        for (int i = 0; i < MAXN; i++)
            r[g * MAXN + i] = pa[g * MAXN + pb[g * MAXN + i]];
    return pm_intern(r);
}

static int32_t pm_inverse(int32_t a)
{
    if (a <= 0)
        return a;
    if (pm.inv[a] >= 0)
        return pm.inv[a];
    uint8_t r[PM_W];
    const uint8_t *pa = pm.p + (int64_t)a * PM_W;
    for (int g = 0; g < NGROUPS; g++)
        for (int i = 0; i < MAXN; i++)
            r[g * MAXN + pa[g * MAXN + i]] = (uint8_t)i;
    int32_t id = pm_intern(r);
    if (id >= 0) {
        pm.inv[a] = id;
        pm.inv[id] = a;
    }
    return id;
}

/* The binding permutation a makes of binding b (cgen_live.binding_permutations); -1 when
 * the model has no such binding (it is not symmetric). */
static int perm_binding(int32_t a, int b)
{
    if (a == 0)
        return b;
    const uint8_t *pa = pm.p + (int64_t)a * PM_W;
    int64_t idx = BP_BASE[b];
    for (int k = 0; k < BP_MAXP; k++) {
        int v = BP_VAL[b][k];
        if (BP_GROUP[b][k] >= 0)
            v = pa[BP_GROUP[b][k] * MAXN + v];
        idx += (int64_t)v * BP_STRIDE[b][k];
    }
    return BP_TABLE[idx];
}

static void lv_violation(int64_t verdict, int64_t id, int64_t detail)
{
    if (lv.verdict == LV_OK) {
        lv.verdict = verdict;
        lv.bad_id = id;
        lv.detail = detail;
    }
}

/* A new state: number, predicate bits, packed copy for the frontier, checks. */
static int lv_add(const int64_t *s, const uint8_t *packed, int64_t depth)
{
    int64_t id = lv.n;
    if (id >= (int64_t)UINT32_MAX - 1) {
        lv.failed = 1;
        return -1;
    }
    if (id + 2 > lv.ncap) {
        int64_t cap = lv.ncap;
        lv.preds = lv_grow(lv.preds, &(int64_t){cap}, id + 2, NPB);
        lv.estart = lv_grow(lv.estart, &lv.ncap, id + 2, 4);
        if (lv.failed)
            return -1;
    }
    int64_t blk = id / LV_CHUNK;
    if (blk >= lv.nblocks) {
        /* The block table is allocated once, whole: threads expanding the next batch read
         * it while this one adds states (building, in batches). */
        if (!lv.blocks && !(lv.blocks = calloc(LV_MAX_BLOCKS, sizeof(uint8_t *)))) {
            lv.failed = 1;
            return -1;
        }
        lv.blocks[blk] = malloc((size_t)LV_CHUNK * PACKED_BYTES);
        lv.nblocks = blk + 1;
        if (!lv.blocks[blk]) {
            lv.failed = 1;
            return -1;
        }
    }
    memcpy(lv.blocks[blk] + (size_t)(id % LV_CHUNK) * PACKED_BYTES, packed, PACKED_BYTES);
    lv.n = id + 1;
    pg_err_site = -1;
    live_preds(s, lv.preds + (size_t)id * NPB);
    int v = first_violation(s);
    if (pg_err_site >= 0) {
        lv_violation(LV_MODEL_ERROR, id, pg_err_site);
        return -1;
    }
    if (v >= 0)
        lv_violation(LV_INVARIANT, id, v);
#if NWIT > 0
    uint64_t hits = witness_hits(s);
    while (hits) {
        int i = __builtin_ctzll(hits);
        hits &= hits - 1;
        if (lv.wit_depth[i] < 0) {
            lv.wit_depth[i] = depth;
            lv.wit_id[i] = id;
        }
    }
#else
    (void)depth;
#endif
    return 0;
}

static int64_t lv_depth_now;

/* ------------------------------------------------------------------ building, in batches
 *
 * The frontier is expanded in batches of 256 to LV_BATCH states of one level, by `workers`
 * threads (the caller is one of them) taking LV_PIECE states at a time: each successor is
 * made canonical, packed and fingerprinted by the thread that expands its state, into that
 * thread's records. The caller then merges the batch in state order, as one thread would
 * have: it numbers new states, stores the edges and checks the new states. So the graph,
 * its numbering, the verdicts and the lassos are the same for any number of workers; what
 * runs in parallel is the expansion and the canonical form, where the search spends most of
 * its time with symmetry. While the caller merges a batch, the other threads already
 * expand the next batch of the same level (its states are all numbered: the level is), in
 * the second of two slots; the caller joins them once its merge is done. */

#define LV_BATCH 8192   /* states a batch holds at most */
#define LV_MIN_BATCH 256 /* and at least, unless the level is smaller */
#define LV_PIECE 64

enum { LVK_STEPS, LVK_QUIESCENT, LVK_STUCK, LVK_ERROR };

struct lv_rec {
    uint64_t fp;
    uint16_t binding;
    uint8_t stutter; /* a step that changes nothing: counted as fired, not an edge */
    uint8_t perm[PM_W];
    uint8_t packed[PACKED_BYTES];
};

struct lv_thread {
    struct worker w; /* first: the sink is handed &w */
    struct lv_rec *rec[2]; /* per slot */
    int64_t nrec[2], rcap[2];
    int slot;              /* the slot being expanded */
    const int64_t *cur_state;
    int succ, failed;
    pthread_t thread;
};

/* A batch being expanded or merged: two, so the next batch of a level is expanded by the
 * other threads while the caller merges this one. */
struct lv_slot {
    int64_t lo, hi; /* states [lo, hi) */
    _Atomic int64_t next_piece;
    uint8_t owner[LV_BATCH / LV_PIECE];
    int64_t piece_start[LV_BATCH / LV_PIECE];
    int64_t end_of[LV_BATCH]; /* per state: one past its last record, in its owner's records */
    int8_t kind[LV_BATCH];
    int32_t site[LV_BATCH];
};

static struct {
    int workers;
    struct lv_thread *t[MAX_WORKERS];
    pthread_mutex_t m;
    pthread_cond_t go, done;
    int64_t batch; /* batches handed out so far */
    int hand;      /* the slot of the last one */
    int busy, quit; /* threads besides the caller still expanding it */
    struct lv_slot slot[2];
} lb;

static void lv_sink(struct worker *w, int binding, const int64_t *next)
{
    struct lv_thread *t = (struct lv_thread *)w;
    if (t->failed)
        return;
    t->succ++;
    int sl = t->slot;
    if (t->nrec[sl] + 1 > t->rcap[sl]) {
        int64_t cap = t->rcap[sl] ? t->rcap[sl] * 2 : 4096;
        struct lv_rec *r = realloc(t->rec[sl], (size_t)cap * sizeof(struct lv_rec));
        if (!r) {
            t->failed = 1;
            return;
        }
        t->rec[sl] = r;
        t->rcap[sl] = cap;
    }
    struct lv_rec *r = &t->rec[sl][t->nrec[sl]++];
    r->binding = (uint16_t)binding;
    /* a step that changes nothing is stuttering; one that leads to another state of the
     * same orbit is an edge (to this same representative, with its permutation) */
    r->stutter = !memcmp(next, t->cur_state, sizeof(int64_t) * NSLOTS);
    if (r->stutter)
        return;
    int64_t canonical[NSLOTS];
    if (lv.sym) {
        int P[NGROUPS > 0 ? NGROUPS : 1][MAXN];
        canon_tracked(next, canonical, lv.track_g, 0, P);
        pm_bytes(P, r->perm);
        next = canonical;
    }
    memset(r->packed, 0, PACKED_BYTES);
    pack(next, r->packed);
    r->fp = fingerprint(r->packed);
}

/* One thread's part of the batch in slot sl: pieces of LV_PIECE states until none is left. */
static void lv_expand_batch(struct lv_thread *t, int sl)
{
    struct lv_slot *q = &lb.slot[sl];
    t->slot = sl;
    t->nrec[sl] = 0;
    for (;;) {
        int64_t piece = atomic_fetch_add(&q->next_piece, 1);
        int64_t a = q->lo + piece * LV_PIECE;
        if (a >= q->hi)
            return;
        int64_t b = a + LV_PIECE < q->hi ? a + LV_PIECE : q->hi;
        q->owner[piece] = (uint8_t)t->w.index;
        q->piece_start[piece] = t->nrec[sl];
        for (int64_t id = a; id < b; id++) {
            int64_t k = id - q->lo, s[NSLOTS];
            unpack(lv.blocks[id / LV_CHUNK] + (size_t)(id % LV_CHUNK) * PACKED_BYTES, s);
            t->cur_state = s;
            t->succ = 0;
            pg_err_site = -1;
            if (expand(s, &t->w) < 0 || pg_err_site >= 0) {
                q->kind[k] = LVK_ERROR;
                q->site[k] = pg_err_site;
            } else if (t->succ == 0) {
                q->kind[k] = is_quiescent(s) ? LVK_QUIESCENT : LVK_STUCK;
            } else {
                q->kind[k] = LVK_STEPS;
            }
            q->end_of[k] = t->nrec[sl];
        }
    }
}

static void *lv_thread_main(void *arg)
{
    struct lv_thread *t = arg;
    int64_t seen = 0;
    pthread_mutex_lock(&lb.m);
    for (;;) {
        while (lb.batch == seen && !lb.quit)
            pthread_cond_wait(&lb.go, &lb.m);
        if (lb.quit)
            break;
        seen = lb.batch;
        int sl = lb.hand;
        pthread_mutex_unlock(&lb.m);
        lv_expand_batch(t, sl);
        pthread_mutex_lock(&lb.m);
        if (--lb.busy == 0)
            pthread_cond_signal(&lb.done);
    }
    pthread_mutex_unlock(&lb.m);
    return NULL;
}

/* Hand states [lo, hi) to the other threads, in slot sl (the previous batch is finished). */
static void lv_hand(int sl, int64_t lo, int64_t hi)
{
    struct lv_slot *q = &lb.slot[sl];
    q->lo = lo;
    q->hi = hi;
    atomic_store(&q->next_piece, 0);
    if (lb.workers > 1) {
        pthread_mutex_lock(&lb.m);
        lb.batch++;
        lb.hand = sl;
        lb.busy = lb.workers - 1;
        pthread_cond_broadcast(&lb.go);
        pthread_mutex_unlock(&lb.m);
    }
}

/* Until the other threads are done with the batch handed last. */
static void lv_wait(void)
{
    if (lb.workers > 1) {
        pthread_mutex_lock(&lb.m);
        while (lb.busy > 0)
            pthread_cond_wait(&lb.done, &lb.m);
        pthread_mutex_unlock(&lb.m);
    }
}

/* The caller takes the pieces of slot sl that are left, then waits for the others. */
static void lv_finish(int sl)
{
    lv_expand_batch(lb.t[0], sl);
    lv_wait();
}

/* The caller's thread and up to workers - 1 more (those that can be started). */
static int lv_threads_start(int workers)
{
    if (workers < 1)
        workers = 1;
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    lb.quit = 0;
    lb.batch = 0;
    lb.workers = 0;
    pthread_mutex_init(&lb.m, NULL);
    pthread_cond_init(&lb.go, NULL);
    pthread_cond_init(&lb.done, NULL);
    for (int k = 0; k < workers; k++) {
        struct lv_thread *t = calloc(1, sizeof(struct lv_thread));
        if (!t)
            break;
        t->w.index = k;
        t->w.capture = -1;
        t->w.sink = lv_sink;
        if (k > 0 && pthread_create(&t->thread, NULL, lv_thread_main, t) != 0) {
            free(t);
            break;
        }
        lb.t[k] = t;
        lb.workers = k + 1;
    }
    return lb.workers > 0 ? 0 : -1;
}

static void lv_threads_stop(void)
{
    pthread_mutex_lock(&lb.m);
    lb.quit = 1;
    pthread_cond_broadcast(&lb.go);
    pthread_mutex_unlock(&lb.m);
    for (int k = 0; k < lb.workers; k++) {
        if (k > 0)
            pthread_join(lb.t[k]->thread, NULL);
        free(lb.t[k]->rec[0]);
        free(lb.t[k]->rec[1]);
        free(lb.t[k]);
        lb.t[k] = NULL;
    }
    lb.workers = 0;
    pthread_mutex_destroy(&lb.m);
    pthread_cond_destroy(&lb.go);
    pthread_cond_destroy(&lb.done);
}

static int64_t lv_records_bytes(void)
{
    int64_t b = 0;
    for (int k = 0; k < lb.workers; k++)
        b += (lb.t[k]->rcap[0] + lb.t[k]->rcap[1]) * (int64_t)sizeof(struct lv_rec);
    return b;
}

/* One successor of state lv.cur, in the order one thread would have found it. */
static void lv_merge_step(const struct lv_rec *r)
{
    int binding = r->binding;
    lv.generated++;
    lv.fired[binding]++;
    if (r->stutter)
        return;
    int32_t perm = 0;
    if (lv.sym && (perm = pm_intern(r->perm)) < 0) {
        lv.failed = 1;
        return;
    }
    int fresh;
    int64_t id = lv_lookup(r->fp, lv.n, &fresh);
    if (id < 0)
        return;
    if (fresh) {
        lv.fresh[binding]++;
        int64_t s[NSLOTS];
        unpack(r->packed, s);
        if (lv_add(s, r->packed, lv_depth_now + 1) < 0)
            return;
    }
    if (id == lv.cur && !lv.sym)
        return; /* stuttering (a fingerprint equal to the state's own): not an edge */
    if (lv.ne + 1 >= (int64_t)UINT32_MAX) { /* edge positions are 32-bit */
        lv.failed = 1;
        return;
    }
    if (lv.ne + 1 > lv.ecap) {
        int64_t cap = lv.ecap;
        lv.etgt = lv_grow(lv.etgt, &(int64_t){cap}, lv.ne + 1, 4);
        if (lv.sym)
            lv.eperm = lv_grow(lv.eperm, &(int64_t){cap}, lv.ne + 1, 2);
        lv.ebind = lv_grow(lv.ebind, &lv.ecap, lv.ne + 1, 2);
        if (lv.failed)
            return;
    }
    lv.etgt[lv.ne] = (uint32_t)id;
    lv.ebind[lv.ne] = (uint16_t)binding;
    if (lv.sym)
        lv.eperm[lv.ne] = (uint16_t)perm;
    lv.ne++;
}

/* Merge state lv.cur (its place k in the batch of slot sl); 0 go on, -1 stop here (a model
 * error, or out of memory). */
static int lv_merge_state(int sl, int64_t k)
{
    struct lv_slot *q = &lb.slot[sl];
    int64_t cur = lv.cur;
    struct lv_thread *t = lb.t[q->owner[k / LV_PIECE]];
    if (t->failed) {
        lv.failed = 1;
        return -1;
    }
    lv.estart[cur] = (uint32_t)lv.ne;
    int64_t from = k % LV_PIECE ? q->end_of[k - 1] : q->piece_start[k / LV_PIECE];
    for (int64_t r = from; r < q->end_of[k] && !lv.failed; r++)
        lv_merge_step(&t->rec[sl][r]);
    if (q->kind[k] == LVK_ERROR || lv.verdict == LV_MODEL_ERROR) {
        lv_violation(LV_MODEL_ERROR, cur, q->site[k]);
        return -1;
    }
    if (q->kind[k] == LVK_QUIESCENT)
        lv.quiescent++;
    else if (q->kind[k] == LVK_STUCK && lv.check_deadlock)
        lv_violation(LV_DEADLOCK, cur, 0);
    return 0;
}

static void lv_free_all(void)
{
    free(lv.fps);
    free(lv.ids);
    free(lv.estart);
    free(lv.preds);
    free(lv.etgt);
    free(lv.ebind);
    free(lv.eperm);
    free(lv.level);
    for (int64_t b = 0; b < lv.nblocks; b++)
        free(lv.blocks[b]);
    free(lv.blocks);
    memset(&lv, 0, sizeof(lv));
    pm_free();
}

static void lv_free_building(void)
{
    if (!lv.sym) { /* with symmetry the table stays: lassos are lifted through it */
        free(lv.fps);
        free(lv.ids);
        lv.fps = NULL;
        lv.ids = NULL;
        lv.cap = lv.count = 0;
    }
    for (int64_t b = 0; b < lv.nblocks; b++) {
        free(lv.blocks[b]);
        lv.blocks[b] = NULL;
    }
}

/* Build the graph from init. stats out: [0] verdict (the first safety violation, or a model
 * error, which stops the search), [1] states, [2] edges, [3] depth, [4] bad id, [5] detail,
 * [6] quiescent, [7] generated, [8] peak bytes of the tables, [9] the bound or interrupt
 * that stopped the search (LV_OK: the graph is whole, unless [0] is a model error).
 * fired/fresh: NBINDINGS; wit_depth/wit_id: NWIT. Returns 0, -1 out of memory. */
int pg_live_build(const int64_t *init, int check_deadlock, int64_t max_states, int64_t max_depth,
                  pg_progress_fn progress, double every, int64_t *stats, int64_t *fired, int64_t *fresh,
                  int64_t *wit_depth, int64_t *wit_id, int sym, int track_g, int track_i, int workers)
{
    fc_free();
    lv_free_all();
    lv.sym = sym && NGROUPS > 0;
    lv.track_g = lv.sym ? track_g : -1;
    lv.track_i = track_i;
    lv.check_deadlock = check_deadlock;
    int64_t init_canon[NSLOTS];
    if (lv.sym) {
        uint8_t id[PM_W];
        for (int k = 0; k < PM_W; k++)
            id[k] = (uint8_t)(k % MAXN);
        pm_intern(id); /* id 0: the identity */
        canon_tracked(init, init_canon, lv.track_g, track_i, NULL);
        init = init_canon;
    }
    lv.verdict = LV_OK;
    lv.bad_id = -1;
    for (int i = 0; i < NWIT; i++)
        lv.wit_depth[i] = -1;
    if (lv_threads_start(workers) < 0) {
        lv_threads_stop();
        return -1;
    }
    uint8_t packed[PACKED_BYTES];
    memset(packed, 0, sizeof(packed));
    pack(init, packed);
    int fresh0;
    lv_lookup(fingerprint(packed), 0, &fresh0);
    lv.level = lv_grow(lv.level, &lv.lcap, 2, 8);
    lv.generated = 1;
    if (!lv.failed && lv_add(init, packed, 0) == 0) {
        lv.level[0] = 0;
        lv.nlevels = 1; /* level[d]: the first state of depth d */
        int64_t level_end = 1;
        double last = now_seconds();
        int done = 0;
        /* Slot sl holds the batch [lo, hi): handed out when `pending`, else handed here. */
        int sl = 0, pending = 0;
        int64_t lo = 0, hi = 0, batch = LV_MIN_BATCH;
        for (lv.cur = 0; lv.cur < lv.n && !lv.failed && !done;) {
            if (!pending) {
                if (lv.cur == level_end) {
                    if (max_depth >= 0 && lv.nlevels - 1 >= max_depth) {
                        lv.stop = LV_MAX_DEPTH;
                        break;
                    }
                    lv.level = lv_grow(lv.level, &lv.lcap, lv.nlevels + 2, 8);
                    if (lv.failed)
                        break;
                    lv.level[lv.nlevels++] = lv.cur;
                    level_end = lv.n;
                    /* about eight batches a level, so the next one is there to expand while
                     * this one is merged, also on small levels */
                    batch = (level_end - lv.cur) / 8;
                    batch = batch < LV_MIN_BATCH ? LV_MIN_BATCH : batch > LV_BATCH ? LV_BATCH : batch;
                }
                lv_depth_now = lv.nlevels - 1;
                lo = lv.cur;
                hi = lo + batch < level_end ? lo + batch : level_end;
                lv_hand(sl, lo, hi);
            }
            lv_finish(sl);
            /* the next batch of this level, expanded by the other threads while this one is merged */
            int next = 1 - sl;
            int64_t next_hi = hi + batch < level_end ? hi + batch : level_end;
            pending = lb.workers > 1 && hi < level_end;
            if (pending)
                lv_hand(next, hi, next_hi);
            for (; lv.cur < hi && !lv.failed; lv.cur++) {
                int64_t cur = lv.cur;
                if (lv_merge_state(sl, cur - lo) < 0) {
                    lv.cur++;
                    done = 1;
                    break;
                }
                if ((cur + 1) % LV_CHUNK == 0) { /* the frontier block this state closes */
                    free(lv.blocks[cur / LV_CHUNK]);
                    lv.blocks[cur / LV_CHUNK] = NULL;
                }
                if (max_states >= 0 && lv.n >= max_states && lv.cur + 1 < lv.n) {
                    lv.stop = LV_MAX_STATES;
                    lv.cur++;
                    done = 1;
                    break;
                }
                if ((cur & 1023) == 0) {
                    int64_t b = lv_bytes();
                    if (b > lv.peak_bytes)
                        lv.peak_bytes = b;
                    double t = now_seconds();
                    if (t - last >= every) {
                        last = t;
                        if (progress && progress(lv.n, lv.ne, lv_depth_now, lv.n - cur - 1)) {
                            lv.stop = LV_STOPPED;
                            lv.cur++;
                            done = 1;
                            break;
                        }
                    }
                }
            }
            sl = next;
            lo = hi;
            hi = next_hi;
        }
        if (pending)
            lv_wait();
    }
    int64_t b = lv_bytes();
    if (b > lv.peak_bytes)
        lv.peak_bytes = b;
    lv_threads_stop();
    if (!lv.failed) /* states left unexpanded by a bound have no edges */
        for (int64_t k = lv.cur; k <= lv.n; k++)
            lv.estart[k] = (uint32_t)lv.ne;
    lv_free_building();
    stats[0] = lv.failed ? LV_NO_MEMORY : lv.verdict;
    stats[9] = lv.stop;
    stats[1] = lv.n;
    stats[2] = lv.ne;
    stats[3] = lv.nlevels - 1;
    stats[4] = lv.bad_id;
    stats[5] = lv.detail;
    stats[6] = lv.quiescent;
    stats[7] = lv.generated;
    stats[8] = lv.peak_bytes;
    for (int k = 0; k < NBINDINGS; k++) {
        fired[k] = lv.fired[k];
        fresh[k] = lv.fresh[k];
    }
    for (int i = 0; i < NWIT; i++) {
        wit_depth[i] = lv.wit_depth[i];
        wit_id[i] = lv.wit_id[i];
    }
    return lv.failed ? -1 : 0;
}

/* ------------------------------------------------------------------ fair cycles
 *
 * One obligation (an instance of a temporal property) at a time, as fair_cycles.py:
 * `allowed` states the violating tail may stay in, `start` states where it becomes
 * pending, `must` states the cycle must visit (for <>[]). Forms: 0 leads-to (allowed
 * not Q, start P and not Q), 1 always-eventually (allowed and start not Q),
 * 2 eventually-always (allowed and start everywhere, must not Q).
 *
 * Single-threaded: Tarjan's algorithm is depth-first, and the search runs once per
 * instance over a graph already in memory, where its cost is a few passes over the edges.
 */

#define FAIR_NONE 0
#define FAIR_WEAK 1
#define FAIR_STRONG 2

static struct {
    int form, p, q;
    const int8_t *fair;
    int32_t *dist; /* stem length to a state through pending states; -1: none */
    uint32_t *via; /* predecessor on the pending part; UINT32_MAX at its start */
    uint32_t *lab; /* component label; 0: out of the region or dropped */
    uint32_t *tidx, *low;
    uint64_t *onstk; /* bit per state */
    uint64_t *active, *next_active; /* bit per state: in this round of Tarjan, in the next */
    uint32_t *tstack, *cs_node;
    uint32_t *cs_pos;
    uint32_t labels;
    /* per binding scratch */
    int64_t cnt[NBINDINGS > 0 ? NBINDINGS : 1];
    uint8_t taken[NBINDINGS > 0 ? NBINDINGS : 1];
    uint32_t stamp[NBINDINGS > 0 ? NBINDINGS : 1];
    uint32_t stamp_now;
    /* the lasso found: (binding into it, state) pairs, loop index, closing binding */
    int32_t *lb;
    uint32_t *ln;
    int64_t llen, lcap, loop, closing;
    uint64_t *pending; /* bit per state: some instance of the current property is pending */
    /* symmetry: per state of the component being judged, the permutation that lifts it
     * (alpha); a queue; the component's generators (distinct gap permutations); the
     * orbit of one binding; the strongly fair bindings that refute the component */
    uint16_t *alpha;
    uint32_t *bq;
    int32_t *gens;
    int64_t ngens, gcap;
    uint32_t *gmark, gstamp;
    int64_t gmark_cap;
    int32_t orb[NBINDINGS > 0 ? NBINDINGS : 1];
    uint32_t ostamp[NBINDINGS > 0 ? NBINDINGS : 1], ostamp_now;
    uint8_t refuting[NBINDINGS > 0 ? NBINDINGS : 1];
    int failed; /* out of memory or of permutation ids (-1), or the model is not symmetric (-2) */
} fc;

static inline int pbit(int64_t n, int k) { return k >= 0 && ((lv.preds[(size_t)n * NPB + k / 8] >> (k % 8)) & 1); }
#define BIT(m, v) (((m)[(v) / 64] >> ((v) % 64)) & 1)
#define BIT_SET(m, v) ((m)[(v) / 64] |= UINT64_C(1) << ((v) % 64))
#define ONSTK(v) ((fc.onstk[(v) / 64] >> ((v) % 64)) & 1)
#define ONSTK_SET(v) (fc.onstk[(v) / 64] |= UINT64_C(1) << ((v) % 64))
#define ONSTK_CLEAR(v) (fc.onstk[(v) / 64] &= ~(UINT64_C(1) << ((v) % 64)))
static inline int fc_allowed(int64_t n) { return fc.form == 2 ? 1 : !pbit(n, fc.q); }
static inline int fc_start(int64_t n) { return fc.form == 0 ? pbit(n, fc.p) && !pbit(n, fc.q) : fc.form == 1 ? !pbit(n, fc.q) : 1; }
static inline int fc_must(int64_t n) { return fc.form == 2 ? !pbit(n, fc.q) : 1; }

static int fc_alloc(void)
{
    if (fc.dist)
        return 0;
    size_t n = (size_t)(lv.n > 0 ? lv.n : 1);
    fc.dist = malloc(n * 4);
    fc.via = malloc(n * 4);
    fc.lab = malloc(n * 4);
    fc.tidx = malloc(n * 4);
    fc.low = malloc(n * 4);
    fc.onstk = calloc((n + 63) / 64, 8);
    fc.active = calloc((n + 63) / 64, 8);
    fc.next_active = calloc((n + 63) / 64, 8);
    fc.tstack = malloc(n * 4);
    fc.cs_node = malloc(n * 4);
    fc.cs_pos = malloc(n * 4);
    fc.pending = calloc((n + 63) / 64, 8);
    if (lv.sym) {
        fc.alpha = malloc(n * 2);
        fc.bq = malloc(n * 4);
        if (!fc.alpha || !fc.bq)
            return -1;
    }
    return fc.dist && fc.via && fc.lab && fc.tidx && fc.low && fc.onstk && fc.active && fc.next_active && fc.tstack &&
                   fc.cs_node && fc.cs_pos && fc.pending
               ? 0
               : -1;
}

static void fc_free(void)
{
    free(fc.dist); free(fc.via); free(fc.lab); free(fc.tidx); free(fc.low); free(fc.onstk);
    free(fc.active); free(fc.next_active); free(fc.tstack); free(fc.cs_node); free(fc.cs_pos);
    free(fc.pending); free(fc.lb); free(fc.ln);
    free(fc.alpha); free(fc.bq); free(fc.gens); free(fc.gmark);
    memset(&fc, 0, sizeof(fc));
}

/* Bytes the search's arrays take (reported with the graph's). */
int64_t pg_live_search_bytes(void) { return lv.n * 4 * 8 + lv.n / 2; }

static inline int fair_enabled_none(int64_t n)
{
    for (uint32_t e = lv.estart[n]; e < lv.estart[n + 1]; e++)
        if (fc.fair[lv.ebind[e]] != FAIR_NONE)
            return 0;
    return 1;
}

/* fair_cycles._reach: shortest stems through pending states, in rounds of equal length. */
static void fc_reach(void)
{
    int64_t n = lv.n;
    for (int64_t i = 0; i < n; i++)
        fc.dist[i] = -1;
    int64_t ncur = 0;
    uint32_t *cur = fc.tstack, *nxt = fc.cs_node; /* free until Tarjan runs */
    for (int64_t d = 0;; d++) {
        if (d < lv.nlevels) { /* the start states at BFS depth d */
            int64_t a = lv.level[d], b = d + 1 < lv.nlevels ? lv.level[d + 1] : n;
            for (int64_t i = a; i < b; i++)
                if (fc.dist[i] < 0 && fc_allowed(i) && fc_start(i)) {
                    fc.dist[i] = (int32_t)d;
                    fc.via[i] = UINT32_MAX;
                    cur[ncur++] = (uint32_t)i;
                }
        } else if (ncur == 0)
            break;
        int64_t nn = 0;
        for (int64_t k = 0; k < ncur; k++) {
            uint32_t u = cur[k];
            for (uint32_t e = lv.estart[u]; e < lv.estart[u + 1]; e++) {
                uint32_t v = lv.etgt[e];
                if (fc.dist[v] < 0 && fc_allowed(v)) {
                    fc.dist[v] = (int32_t)(d + 1);
                    fc.via[v] = u;
                    nxt[nn++] = v;
                }
            }
        }
        uint32_t *t = cur;
        cur = nxt;
        nxt = t;
        ncur = nn;
    }
}

/* best candidate: (dist, entry, label); label 0 = stuttering */
static int64_t best_d, best_n;
static uint32_t best_lab;

static void fc_offer(int64_t node, uint32_t label)
{
    int64_t d = fc.dist[node];
    if (best_n < 0 || d < best_d || (d == best_d && node < best_n)) {
        best_d = d;
        best_n = node;
        best_lab = label;
    }
}

/* ---- fair components of the quotient (symmetry)
 *
 * A component C of the quotient graph stands for the concrete states of its orbits. Lift
 * C from its first state r along a spanning tree: alpha(x) maps representative x to the
 * concrete state of r's concrete component S that the tree path reaches (an edge
 * x -b-> y whose target was made canonical by tau lifts to alpha(y) = alpha(x) tau^-1).
 * Every edge x -> y of C then lifts to an edge of S from alpha(x)(x) to
 * g alpha(y)(y), g = alpha(x) tau^-1 alpha(y)^-1 (its gap), and S is exactly the images
 * of the lifted states under the group K the gaps generate; the other concrete components
 * over C are images of S under the symmetry, with the same verdict. So, with bindings
 * renamed by alpha(x) at x: a binding is taken in S iff its K-orbit meets the lifted
 * taken bindings, enabled in every state of S iff its whole orbit is enabled in every
 * lifted state, and enabled somewhere iff its orbit meets the lifted enabled ones. Orbits
 * are closures under the gaps (a finite group is generated by them). docs/liveness.md. */

static int fc_gen_add(int32_t g)
{
    if (g == 0)
        return 0;
    if (g < 0)
        return -1;
    if (g >= fc.gmark_cap) {
        int64_t cap = PM_MAX + 1;
        uint32_t *m = calloc((size_t)cap, 4);
        if (!m)
            return -1;
        free(fc.gmark);
        fc.gmark = m;
        fc.gmark_cap = cap;
    }
    if (fc.gmark[g] == fc.gstamp)
        return 0;
    fc.gmark[g] = fc.gstamp;
    if (fc.ngens + 1 > fc.gcap) {
        int64_t cap = fc.gcap ? fc.gcap * 2 : 64;
        int32_t *q = realloc(fc.gens, (size_t)cap * 4);
        if (!q)
            return -1;
        fc.gens = q;
        fc.gcap = cap;
    }
    fc.gens[fc.ngens++] = g;
    return 0;
}

/* alpha for every state of component c (comp[0] is the root), and its generators. */
static int fc_lift(const uint32_t *comp, int64_t size, uint32_t c)
{
    for (int64_t k = 0; k < size; k++)
        fc.alpha[comp[k]] = UINT16_MAX;
    fc.ngens = 0;
    if (++fc.gstamp == 0) {
        if (fc.gmark)
            memset(fc.gmark, 0, (size_t)fc.gmark_cap * 4);
        fc.gstamp = 1;
    }
    int64_t head = 0, tail = 0;
    fc.alpha[comp[0]] = 0;
    fc.bq[tail++] = comp[0];
    while (head < tail) {
        uint32_t u = fc.bq[head++];
        for (uint32_t e = lv.estart[u]; e < lv.estart[u + 1]; e++) {
            uint32_t v = lv.etgt[e];
            if (fc.lab[v] != c || fc.alpha[v] != UINT16_MAX)
                continue;
            int32_t a = pm_compose(fc.alpha[u], pm_inverse(lv.eperm[e]));
            if (a < 0 || a >= UINT16_MAX)
                return -1;
            fc.alpha[v] = (uint16_t)a;
            fc.bq[tail++] = v;
        }
    }
    for (int64_t k = 0; k < size; k++) {
        uint32_t u = comp[k];
        for (uint32_t e = lv.estart[u]; e < lv.estart[u + 1]; e++) {
            uint32_t v = lv.etgt[e];
            if (fc.lab[v] != c)
                continue;
            int32_t g = pm_compose(pm_compose(fc.alpha[u], pm_inverse(lv.eperm[e])), pm_inverse(fc.alpha[v]));
            if (fc_gen_add(g) < 0)
                return -1;
        }
    }
    return 0;
}

/* The orbit of binding b under the component's generators, in fc.orb; its size, or -1
 * when a renamed binding does not exist (the model is not symmetric). */
static int64_t fc_orbit(int b)
{
    if (++fc.ostamp_now == 0) {
        memset(fc.ostamp, 0, sizeof(fc.ostamp));
        fc.ostamp_now = 1;
    }
    int64_t n = 0;
    fc.orb[n++] = b;
    fc.ostamp[b] = fc.ostamp_now;
    for (int64_t k = 0; k < n; k++)
        for (int64_t g = 0; g < fc.ngens; g++) {
            int x = perm_binding(fc.gens[g], fc.orb[k]);
            if (x < 0)
                return -1;
            if (fc.ostamp[x] != fc.ostamp_now) {
                fc.ostamp[x] = fc.ostamp_now;
                fc.orb[n++] = x;
            }
        }
    return n;
}

/* Lifted counts: cnt[b] = lifted states where b is enabled, taken[b] = b lifted on an edge
 * inside c; the fair bindings touched are listed. -1: not symmetric. */
static int64_t fc_lifted(const uint32_t *comp, int64_t size, uint32_t c, int32_t *touched)
{
    int64_t touched_n = 0;
    for (int64_t k = 0; k < size; k++) {
        uint32_t u = comp[k];
        for (uint32_t e = lv.estart[u]; e < lv.estart[u + 1]; e++) {
            if (fc.fair[lv.ebind[e]] == FAIR_NONE)
                continue;
            int b = perm_binding(fc.alpha[u], lv.ebind[e]);
            if (b < 0)
                return -1;
            if (fc.cnt[b] == 0 && !fc.taken[b])
                touched[touched_n++] = b;
            fc.cnt[b]++;
            if (fc.lab[lv.etgt[e]] == c)
                fc.taken[b] = 1;
        }
    }
    return touched_n;
}

/* Whether b's orbit meets the taken set; with every_of (the component's size), whether the
 * whole orbit is enabled in every lifted state. -1: not symmetric. */
static int fc_orbit_taken(int b, int64_t *every_of)
{
    int64_t n = fc_orbit(b);
    if (n < 0)
        return -1;
    int taken = 0, every = 1;
    for (int64_t k = 0; k < n; k++) {
        taken |= fc.taken[fc.orb[k]];
        every &= fc.cnt[fc.orb[k]] == *every_of;
    }
    *every_of = every;
    return taken;
}

static void fc_offer_component(const uint32_t *comp, int64_t size, uint32_t c);

/* Whether a strongly fair binding the component never takes is enabled in state u (with
 * symmetry: in its lifted state, among the refuting orbits). */
static int fc_refuted_at(uint32_t u)
{
    for (uint32_t e = lv.estart[u]; e < lv.estart[u + 1]; e++) {
        int b = lv.ebind[e];
        if (lv.sym) {
            b = perm_binding(fc.alpha[u], b);
            if (b >= 0 && fc.refuting[b])
                return 1;
        } else if (fc.fair[b] == FAIR_STRONG && !fc.taken[b])
            return 1;
    }
    return 0;
}

/* The verdict on a component: dropped (weak fairness refutes it), split (the states where a
 * refuting strongly fair binding is enabled leave, the rest is searched again next round),
 * or offered as a fair component. */
static void fc_judge(const uint32_t *comp, int64_t size, uint32_t c, int weak_refutes, int strong_refutes, int64_t *nnext)
{
    if (weak_refutes) {
        for (int64_t k = 0; k < size; k++)
            fc.lab[comp[k]] = 0;
    } else if (strong_refutes) {
        uint32_t rest = ++fc.labels;
        for (int64_t k = 0; k < size; k++) {
            uint32_t u = comp[k];
            if (fc_refuted_at(u))
                fc.lab[u] = 0;
            else {
                fc.lab[u] = rest;
                BIT_SET(fc.next_active, u);
                (*nnext)++;
            }
        }
    } else
        fc_offer_component(comp, size, c);
}

static void fc_component_sym(const uint32_t *comp, int64_t size, uint32_t c, int64_t *nnext)
{
    int loop = size > 1;
    for (uint32_t e = lv.estart[comp[0]]; e < lv.estart[comp[0] + 1] && !loop; e++)
        loop = lv.etgt[e] == comp[0]; /* one representative: a cycle only through its own orbit */
    if (!loop || fc.failed) {
        for (int64_t k = 0; k < size; k++)
            fc.lab[comp[k]] = 0;
        return;
    }
    static int32_t touched[NBINDINGS > 0 ? NBINDINGS : 1];
    int64_t touched_n = fc_lift(comp, size, c) < 0 ? -2 : fc_lifted(comp, size, c, touched);
    int weak_refutes = 0, strong_refutes = 0;
    for (int64_t t = 0; t < touched_n && !weak_refutes; t++) {
        int b = touched[t];
        if (fc.taken[b] || fc.fair[b] != FAIR_WEAK || fc.cnt[b] != size)
            continue;
        int64_t every = size;
        int tk = fc_orbit_taken(b, &every);
        if (tk < 0)
            touched_n = -1;
        else if (!tk && every)
            weak_refutes = 1;
    }
    if (!weak_refutes)
        for (int64_t t = 0; t < touched_n; t++) {
            int b = touched[t];
            if (fc.fair[b] != FAIR_STRONG || fc.taken[b] || fc.refuting[b])
                continue;
            int64_t every = size;
            int tk = fc_orbit_taken(b, &every);
            if (tk < 0) {
                touched_n = -1;
                break;
            }
            if (!tk) {
                strong_refutes = 1;
                int64_t n = fc_orbit(b);
                for (int64_t k = 0; k < n; k++)
                    fc.refuting[fc.orb[k]] = 1;
            }
        }
    if (touched_n < 0) {
        fc.failed = touched_n == -1 ? -2 : -1;
        for (int64_t k = 0; k < size; k++)
            fc.lab[comp[k]] = 0;
        return;
    }
    fc_judge(comp, size, c, weak_refutes, strong_refutes, nnext);
    for (int64_t t = 0; t < touched_n; t++) {
        fc.cnt[touched[t]] = 0;
        fc.taken[touched[t]] = 0;
    }
    /* refuting marks whole orbits, some of them untouched here */
    memset(fc.refuting, 0, sizeof(fc.refuting));
}

/* Judge one strongly connected component (its states carry label c). */
static void fc_component(const uint32_t *comp, int64_t size, uint32_t c, int64_t *nnext)
{
    if (lv.sym) {
        fc_component_sym(comp, size, c, nnext);
        return;
    }
    if (size == 1) {
        fc.lab[comp[0]] = 0; /* no self-loops are stored: one state has no cycle */
        return;
    }
    int64_t touched_n = 0;
    static int32_t touched[NBINDINGS > 0 ? NBINDINGS : 1];
    for (int64_t k = 0; k < size; k++) {
        uint32_t u = comp[k];
        for (uint32_t e = lv.estart[u]; e < lv.estart[u + 1]; e++) {
            int b = lv.ebind[e];
            if (fc.fair[b] == FAIR_NONE)
                continue;
            if (fc.cnt[b] == 0 && !fc.taken[b])
                touched[touched_n++] = b;
            fc.cnt[b]++;
            if (fc.lab[lv.etgt[e]] == c)
                fc.taken[b] = 1;
        }
    }
    int weak_refutes = 0, strong_refutes = 0;
    for (int64_t t = 0; t < touched_n; t++) {
        int b = touched[t];
        if (fc.taken[b])
            continue;
        if (fc.fair[b] == FAIR_WEAK && fc.cnt[b] == size)
            weak_refutes = 1;
        if (fc.fair[b] == FAIR_STRONG)
            strong_refutes = 1;
    }
    fc_judge(comp, size, c, weak_refutes, strong_refutes, nnext);
    for (int64_t t = 0; t < touched_n; t++) {
        fc.cnt[touched[t]] = 0;
        fc.taken[touched[t]] = 0;
    }
}

/* A fair component: a candidate when its cycle can visit a `must` state. */
static void fc_offer_component(const uint32_t *comp, int64_t size, uint32_t c)
{
    int64_t entry = -1;
    int has_must = 0;
    for (int64_t k = 0; k < size; k++) {
        uint32_t u = comp[k];
        has_must |= fc_must(u);
        if (entry < 0 || fc.dist[u] < fc.dist[entry] || (fc.dist[u] == fc.dist[entry] && u < entry))
            entry = u;
    }
    if (has_must)
        fc_offer(entry, c);
    else
        for (int64_t k = 0; k < size; k++)
            fc.lab[comp[k]] = 0;
}

/* One round of Tarjan's algorithm over the active states (each with its label); the rests
 * of split components become the next round's active states. Returns how many. */
static int64_t fc_tarjan_round(void)
{
    int64_t words = (lv.n + 63) / 64;
    for (int64_t k = 0; k < lv.n; k++)
        if (BIT(fc.active, k))
            fc.tidx[k] = 0;
    memset(fc.next_active, 0, (size_t)words * 8);
    uint32_t counter = 0;
    int64_t ts = 0, nnext = 0;
    for (int64_t r = 0; r < lv.n; r++) {
        uint32_t root = (uint32_t)r;
        if (!BIT(fc.active, r) || fc.tidx[root] != 0 || fc.lab[root] == 0)
            continue;
        int64_t cs = 0;
        fc.tidx[root] = fc.low[root] = ++counter;
        fc.tstack[ts++] = root;
        ONSTK_SET(root);
        fc.cs_node[cs] = root;
        fc.cs_pos[cs++] = lv.estart[root];
        while (cs > 0) {
            uint32_t u = fc.cs_node[cs - 1];
            uint32_t pos = fc.cs_pos[cs - 1];
            if (pos < lv.estart[u + 1]) {
                fc.cs_pos[cs - 1] = pos + 1;
                uint32_t v = lv.etgt[pos];
                if (fc.lab[v] != fc.lab[u])
                    continue;
                if (fc.tidx[v] == 0) {
                    fc.tidx[v] = fc.low[v] = ++counter;
                    fc.tstack[ts++] = v;
                    ONSTK_SET(v);
                    fc.cs_node[cs] = v;
                    fc.cs_pos[cs++] = lv.estart[v];
                } else if (ONSTK(v) && fc.tidx[v] < fc.low[u])
                    fc.low[u] = fc.tidx[v];
                continue;
            }
            cs--;
            if (cs > 0) {
                uint32_t p = fc.cs_node[cs - 1];
                if (fc.low[u] < fc.low[p])
                    fc.low[p] = fc.low[u];
            }
            if (fc.low[u] == fc.tidx[u]) {
                int64_t a = ts;
                do
                    a--;
                while (fc.tstack[a] != u);
                uint32_t c = ++fc.labels;
                for (int64_t k = a; k < ts; k++) {
                    ONSTK_CLEAR(fc.tstack[k]);
                    fc.lab[fc.tstack[k]] = c;
                }
                fc_component(fc.tstack + a, ts - a, c, &nnext);
                ts = a;
            }
        }
    }
    uint64_t *t = fc.active;
    fc.active = fc.next_active;
    fc.next_active = t;
    return nnext;
}

/* ---- the lasso */

/* The path of the BFS tree from the initial state to `target`: nodes[k] at depth k, and
 * binds[k] the binding into it (k >= 1). The tree is not stored: a state's parent is the
 * first state of the level before it with an edge to it, by its first (least) binding
 * there, which is the state and step that found it. One pass over the edges of the
 * levels above `target`. Returns the path's length (states), -1 if none. */
static int64_t lv_tree_path(uint32_t target, uint32_t *nodes, uint32_t *binds)
{
    int64_t d = 0;
    while (d + 1 < lv.nlevels && lv.level[d + 1] <= (int64_t)target)
        d++;
    nodes[d] = target;
    binds[0] = 0;
    for (int64_t k = d; k > 0; k--) {
        uint32_t v = nodes[k];
        int64_t found = -1;
        for (int64_t u = lv.level[k - 1]; u < lv.level[k] && found < 0; u++)
            for (uint32_t e = lv.estart[u]; e < lv.estart[u + 1]; e++)
                if (lv.etgt[e] == v) {
                    found = u;
                    binds[k] = lv.ebind[e];
                    break;
                }
        if (found < 0)
            return -1;
        nodes[k - 1] = (uint32_t)found;
    }
    return d + 1;
}

static int fc_push(int32_t b, uint32_t n)
{
    if (fc.llen + 1 > fc.lcap) {
        int64_t cap = fc.lcap ? fc.lcap * 2 : 256;
        int32_t *lb = realloc(fc.lb, (size_t)cap * 4);
        if (lb)
            fc.lb = lb;
        uint32_t *ln = realloc(fc.ln, (size_t)cap * 4);
        if (ln)
            fc.ln = ln;
        if (!lb || !ln)
            return -1;
        fc.lcap = cap;
    }
    fc.lb[fc.llen] = b;
    fc.ln[fc.llen++] = n;
    return 0;
}

static int fc_binding(uint32_t u, uint32_t v)
{
    int best = -1;
    for (uint32_t e = lv.estart[u]; e < lv.estart[u + 1]; e++)
        if (lv.etgt[e] == v && (best < 0 || lv.ebind[e] < best))
            best = lv.ebind[e];
    return best;
}

static int fc_stem(uint32_t entry)
{
    /* the pending part, entry back to its start (in cs_node), then the BFS tree's path to
     * that start (nodes in tstack, bindings in cs_pos) */
    int64_t m = 0;
    for (uint32_t x = entry;; x = fc.via[x]) {
        fc.cs_node[m++] = x;
        if (fc.via[x] == UINT32_MAX)
            break;
    }
    uint32_t start = fc.cs_node[m - 1];
    fc.llen = 0;
    int64_t t = lv_tree_path(start, fc.tstack, fc.cs_pos);
    if (t < 0)
        return -1;
    for (int64_t k = 0; k < t; k++)
        if (fc_push(k == 0 ? -1 : (int32_t)fc.cs_pos[k], fc.tstack[k]) < 0)
            return -1;
    for (int64_t k = m - 2; k >= 0; k--)
        if (fc_push(fc_binding(fc.cs_node[k + 1], fc.cs_node[k]), fc.cs_node[k]) < 0)
            return -1;
    return 0;
}

/* The cycle's open requirements (fair_cycles._cycle). */
static uint8_t need[NBINDINGS > 0 ? NBINDINGS : 1]; /* 1 weak: taken or disabled somewhere; 2 strong: taken */
static int64_t need_n, need_weak_n;
static int need_must;

static void need_enabled_mark(uint32_t n)
{
    if (++fc.stamp_now == 0) {
        memset(fc.stamp, 0, sizeof(fc.stamp));
        fc.stamp_now = 1;
    }
    for (uint32_t e = lv.estart[n]; e < lv.estart[n + 1]; e++)
        fc.stamp[lv.ebind[e]] = fc.stamp_now;
}

static void need_visit(uint32_t n)
{
    need_enabled_mark(n);
    for (int b = 0; b < NBINDINGS; b++)
        if (need[b] == 1 && fc.stamp[b] != fc.stamp_now) {
            need[b] = 0;
            need_n--;
            need_weak_n--;
        }
    if (need_must && fc_must(n))
        need_must = 0;
}

static void need_take(int b)
{
    if (need[b]) {
        need_weak_n -= need[b] == 1;
        need[b] = 0;
        need_n--;
    }
}

/* Whether stepping by b into v meets an open requirement. */
static int need_useful(int b, uint32_t v)
{
    if (need[b])
        return 1;
    if (need_must && fc_must(v))
        return 1;
    if (!need_weak_n)
        return 0;
    int64_t weak_enabled = 0;
    for (uint32_t e = lv.estart[v]; e < lv.estart[v + 1]; e++)
        weak_enabled += need[lv.ebind[e]] == 1;
    return weak_enabled < need_weak_n;
}

/* Shortest non-empty path inside label c from src whose last edge meets the goal (mode 0:
 * need_useful, mode 1: reaches `target`); appended to the lasso. 0 ok, -1 none. */
static int fc_segment(uint32_t c, uint32_t src, int mode, uint32_t target)
{
    /* tidx: seen mark (round stamp), low: predecessor, cs_pos: binding into it, tstack: the
     * queue; the path is gathered backwards in cs_node (states) and via (bindings), free
     * once the stem is built */
    static uint32_t round_stamp;
    if (++round_stamp == 0)
        round_stamp = 1;
    int64_t head = 0, tail = 0;
    fc.tstack[tail++] = src;
    fc.tidx[src] = round_stamp;
    while (head < tail) {
        uint32_t u = fc.tstack[head++];
        for (uint32_t e = lv.estart[u]; e < lv.estart[u + 1]; e++) {
            uint32_t v = lv.etgt[e];
            int b = lv.ebind[e];
            if (fc.lab[v] != c)
                continue;
            int goal = mode == 0 ? need_useful(b, v) : v == target;
            if (goal) {
                int64_t m = 0;
                fc.cs_node[m] = v;
                fc.via[m++] = (uint32_t)b;
                for (uint32_t x = u; x != src; x = fc.low[x]) {
                    fc.cs_node[m] = x;
                    fc.via[m++] = fc.cs_pos[x];
                }
                for (int64_t k = m - 1; k >= 0; k--)
                    if (fc_push((int32_t)fc.via[k], fc.cs_node[k]) < 0)
                        return -1;
                return 0;
            }
            if (fc.tidx[v] != round_stamp) {
                fc.tidx[v] = round_stamp;
                fc.low[v] = u;
                fc.cs_pos[v] = (uint32_t)b;
                fc.tstack[tail++] = v;
            }
        }
    }
    return -1;
}

static int fc_cycle(uint32_t c, uint32_t entry)
{
    memset(need, 0, sizeof(need));
    need_n = need_weak_n = 0;
    need_must = fc.form == 2;
    /* the fair bindings enabled somewhere in the component: every state with label c */
    for (int64_t u = 0; u < lv.n; u++) {
        if (fc.lab[u] != c)
            continue;
        for (uint32_t e = lv.estart[u]; e < lv.estart[u + 1]; e++) {
            int b = lv.ebind[e];
            if (fc.fair[b] != FAIR_NONE && !need[b]) {
                need[b] = fc.fair[b] == FAIR_STRONG ? 2 : 1;
                need_n++;
                need_weak_n += need[b] == 1;
            }
        }
    }
    for (int64_t u = 0; u < lv.n; u++)
        fc.tidx[u] = 0;
    int64_t loop = fc.llen - 1;
    uint32_t cur = entry;
    need_visit(cur);
    while (need_n > 0 || need_must) {
        int64_t from = fc.llen;
        if (fc_segment(c, cur, 0, 0) < 0)
            return -1;
        for (int64_t k = from; k < fc.llen; k++) {
            need_take(fc.lb[k]);
            need_visit(fc.ln[k]);
        }
        cur = fc.ln[fc.llen - 1];
    }
    if (fc_segment(c, cur, 1, entry) < 0)
        return -1;
    /* the last step returns to the entry: it is the closing binding, not a new state */
    fc.closing = fc.lb[fc.llen - 1];
    fc.llen--;
    fc.loop = loop;
    return 0;
}

static int fc_sym_need(uint32_t c, uint32_t root);
static int64_t lv_find(const int64_t *c);

/* Search one obligation. fair: per binding 0 none, 1 weak, 2 strong. Returns 1 and keeps
 * the lasso (pg_live_lasso) when a fair violating behaviour exists, 0 when none, -1 when
 * out of memory. */
int pg_live_find(int form, int p, int q, const int8_t *fair)
{
    if (fc_alloc() < 0)
        return -1;
    fc.form = form;
    fc.p = p;
    fc.q = q;
    fc.fair = fair;
    fc.llen = 0;
    fc.closing = -1;
    fc.loop = -1;
    fc_reach();
    best_n = -1;
    best_lab = 0;
    int64_t n = 0;
    fc.labels = 1;
    memset(fc.active, 0, (size_t)((lv.n + 63) / 64) * 8);
    for (int64_t i = 0; i < lv.n; i++) {
        if (fc.dist[i] < 0) {
            fc.lab[i] = 0;
            continue;
        }
        fc.lab[i] = 1;
        BIT_SET(fc.active, i);
        n++;
        if (fc_must(i) && fair_enabled_none(i)) /* stuttering where no fair binding is enabled */
            fc_offer(i, 0);
    }
    fc.failed = 0;
    while (n > 0 && !fc.failed)
        n = fc_tarjan_round();
    if (fc.failed)
        return fc.failed;
    if (best_n < 0)
        return 0;
    if (lv.sym && best_lab != 0 && fc_sym_need(best_lab, (uint32_t)best_n) < 0)
        return fc.failed ? fc.failed : -1;
    if (fc_stem((uint32_t)best_n) < 0)
        return -1;
    if (best_lab == 0) {
        fc.loop = fc.llen - 1;
        fc.closing = -1;
        return 1;
    }
    if (lv.sym) { /* the cycle is found among concrete states (checker/liveness/native.py) */
        fc.loop = fc.llen - 1;
        fc.closing = -2;
        return 1;
    }
    return fc_cycle(best_lab, (uint32_t)best_n) < 0 ? -1 : 1;
}

/* With symmetry: the open requirements of a concrete cycle through representative `root`
 * itself (need[]): every fair binding enabled somewhere in its concrete component. */
static int fc_sym_need(uint32_t c, uint32_t root)
{
    int64_t size = 0;
    fc.tstack[size++] = root; /* the lift's root: alpha(root) is the identity */
    for (int64_t u = 0; u < lv.n; u++)
        if (fc.lab[u] == c && u != root)
            fc.tstack[size++] = (uint32_t)u;
    memset(need, 0, sizeof(need));
    static int32_t touched[NBINDINGS > 0 ? NBINDINGS : 1];
    if (fc_lift(fc.tstack, size, c) < 0)
        return -1;
    int64_t touched_n = fc_lifted(fc.tstack, size, c, touched);
    if (touched_n < 0) {
        fc.failed = -2;
        return -1;
    }
    for (int64_t t = 0; t < touched_n; t++) {
        int64_t n = fc_orbit(touched[t]);
        if (n < 0) {
            fc.failed = -2;
            return -1;
        }
        for (int64_t k = 0; k < n; k++)
            need[fc.orb[k]] = fc.fair[fc.orb[k]] == FAIR_STRONG ? 2 : 1;
    }
    for (int64_t t = 0; t < touched_n; t++) {
        fc.cnt[touched[t]] = 0;
        fc.taken[touched[t]] = 0;
    }
    return 0;
}

/* The open requirements (0 none, 1 weak, 2 strong) of a concrete cycle through concrete
 * state s, whose representative is the entry of the last pg_live_find's component: the
 * entry's, renamed by the permutation that takes the entry back to s. Returns the
 * component's label (states keep theirs until the next search, pg_live_label); -1 when
 * s is not of the entry's orbit, -2 when the model is not symmetric. */
int64_t pg_live_need(const int64_t *s, int track_i, int8_t *out)
{
    int64_t c[NSLOTS];
    int P[NGROUPS > 0 ? NGROUPS : 1][MAXN];
    canon_tracked(s, c, lv.track_g, track_i, P);
    if (lv_find(c) != best_n)
        return -1;
    int32_t back = pm_inverse(pm_from(P));
    if (back < 0)
        return -1;
    for (int b = 0; b < NBINDINGS; b++)
        out[b] = 0;
    for (int b = 0; b < NBINDINGS; b++) {
        if (!need[b])
            continue;
        int x = perm_binding(back, b);
        if (x < 0)
            return -2;
        out[x] = (int8_t)need[b];
    }
    return best_lab;
}

int64_t pg_live_label(int64_t node) { return node >= 0 && node < lv.n && fc.lab ? fc.lab[node] : 0; }

/* The number of the representative of concrete state s (tracked instance track_i, in
 * the group of the graph's tracking), -1 when it is not in the graph. Symmetry only. */
int64_t pg_live_node_of(const int64_t *s, int track_i)
{
    if (!lv.sym || !lv.fps)
        return -1;
    int64_t c[NSLOTS];
    canon_tracked(s, c, lv.track_g, track_i, NULL);
    return lv_find(c);
}

/* The number of a representative in the kept fingerprint table, -1 when it is not there. */
static int64_t lv_find(const int64_t *c)
{
    if (!lv.fps)
        return -1;
    uint8_t packed[PACKED_BYTES];
    memset(packed, 0, sizeof(packed));
    pack(c, packed);
    uint64_t fp = fingerprint(packed);
    uint64_t k = vt_home(fp, lv.cap);
    while (lv.fps[k]) {
        if (lv.fps[k] == fp)
            return lv.ids[k];
        if (++k == lv.cap)
            k = 0;
    }
    return -1;
}

/* The canonical form of (s, instance i of group g), g -1 for the state alone. */
void pg_canon_tracked(const int64_t *s, int g, int i, int64_t *out) { canon_tracked(s, out, NGROUPS > 0 ? g : -1, i, NULL); }

/* The lasso of the last pg_live_find: its length; fills b/n when not NULL; info [0] loop
 * index, [1] closing binding (-1: stuttering). */
int64_t pg_live_lasso(int32_t *b, int64_t *n, int64_t *info)
{
    if (b && n)
        for (int64_t k = 0; k < fc.llen; k++) {
            b[k] = fc.lb[k];
            n[k] = fc.ln[k];
        }
    if (info) {
        info[0] = fc.loop;
        info[1] = fc.closing;
    }
    return fc.llen;
}

/* Add the states where this obligation is pending to the pending set. 0, -1 out of memory. */
int pg_live_mark_pending(int form, int p, int q)
{
    if (fc_alloc() < 0)
        return -1;
    fc.form = form;
    fc.p = p;
    fc.q = q;
    for (int64_t i = 0; i < lv.n; i++)
        if (fc_start(i) && fc_must(i))
            fc.pending[i / 64] |= UINT64_C(1) << (i % 64);
    return 0;
}

/* States in the pending set, which is then cleared (one property's instances at a time). */
int64_t pg_live_pending_take(void)
{
    int64_t c = 0;
    if (!fc.pending)
        return 0;
    for (int64_t w = 0; w < (lv.n + 63) / 64; w++) {
        c += __builtin_popcountll(fc.pending[w]);
        fc.pending[w] = 0;
    }
    return c;
}

/* The BFS-tree path to a state: bindings from the initial state, root first (with nodes,
 * the states after each binding instead). */
int64_t pg_live_path(int64_t id, int32_t *out, int64_t max, int nodes_out)
{
    if (id < 0 || id >= lv.n)
        return 0;
    uint32_t *nodes = malloc(sizeof(uint32_t) * (size_t)(lv.nlevels + 1));
    uint32_t *binds = malloc(sizeof(uint32_t) * (size_t)(lv.nlevels + 1));
    int64_t len = nodes && binds ? lv_tree_path((uint32_t)id, nodes, binds) : -1;
    int64_t n = len > 0 ? len - 1 : 0;
    for (int64_t k = 0; k < n && k < max; k++)
        out[k] = nodes_out ? (int32_t)nodes[k + 1] : (int32_t)binds[k + 1];
    free(nodes);
    free(binds);
    return n;
}

void pg_live_reset(void)
{
    fc_free();
    lv_free_all();
}
