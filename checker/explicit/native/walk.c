/* pgcheck native engine, part 4 of 4 (random walks only): one seeded random walk per call.
 *
 * Used by checker/explicit/simulate.py. It reuses the generated successor function through
 * the batch mode of part 3 (expand() with CAPTURE_BATCH writes every successor of a state as
 * a record), so a step means exactly what a breadth-first step means: the same guards, the
 * same run-time checks, the same invariants. Symmetry is off: a walk follows concrete states.
 *
 * The walk checks the initial state, then repeatedly expands the current state (a model
 * error in any binding stops it, as in the explorer), picks one successor among those whose
 * binding `allowed` admits, in proportion to its weight there (uniformly among all of them if
 * none is admitted: the mask steers, it never invents a deadlock), and checks the invariants
 * of the state it moves to.
 */

#define W_DEPTH 0       /* the depth bound ended the walk */
#define W_STOP 1        /* no action enabled in a quiescent state (or deadlocks not checked) */
#define W_INVARIANT 2   /* detail: the invariant's index */
#define W_DEADLOCK 3    /* no action enabled outside quiescence */
#define W_MODEL_ERROR 4 /* detail: the error site */

static uint8_t *walk_records;
static struct worker *walk_worker;

static inline uint64_t walk_next(uint64_t *x)
{
    /* splitmix64: a fixed, well-mixed sequence per seed on every platform */
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static int walk_check(const int64_t *s, int64_t *out, int64_t steps)
{
    pg_err_site = -1;
    int v = first_violation(s);
    if (pg_err_site >= 0) {
        out[0] = W_MODEL_ERROR, out[1] = steps, out[2] = pg_err_site;
        pg_err_site = -1;
        return 1;
    }
    if (v >= 0) {
        out[0] = W_INVARIANT, out[1] = steps, out[2] = v;
        return 1;
    }
    return 0;
}

/* One walk of at most max_depth steps from init. path[0..steps) receives the bindings
 * taken; out = {outcome, steps, detail}; fired[b] counts successors generated per binding.
 * Returns 0, or -1 when the buffers cannot be allocated. */
int pg_walk(const int64_t *init, uint64_t seed, int64_t max_depth, int check_deadlock, const uint8_t *allowed,
            const int32_t *actor, int stick, int32_t *path, int64_t *out, int64_t *fired)
{
    if (!walk_records) {
        walk_records = malloc((size_t)NBINDINGS * REC_BYTES + REC_BYTES);
        walk_worker = calloc(1, sizeof(struct worker));
        if (!walk_records || !walk_worker)
            return -1;
    }
    struct worker *w = walk_worker;
    w->capture = CAPTURE_BATCH;
    bx.out = walk_records;
    bx.symmetry = 0;
    bx.fired = fired;
    bx.parent_fp = 0;
    int64_t s[NSLOTS];
    memcpy(s, init, sizeof(s));
    uint64_t x = seed;
    int32_t last = -1; /* the actor of the previous step */
    out[2] = 0;
    if (walk_check(s, out, 0))
        return 0;
    for (int64_t d = 0; d < max_depth; d++) {
        bx.count = 0;
        w->nsucc = 0;
        pg_err_site = -1;
        if (expand(s, w) < 0) {
            out[0] = W_MODEL_ERROR, out[1] = d, out[2] = pg_err_site;
            pg_err_site = -1;
            return 0;
        }
        if (bx.count == 0) {
            out[0] = (check_deadlock && !is_quiescent(s)) ? W_DEADLOCK : W_STOP;
            out[1] = d;
            return 0;
        }
        /* allowed[b] is binding b's weight: 0 (left out), 1 (a swarm's kept action) or a
         * weighted swarm's heavier weights (simulate.py: WEIGHTS). A successor is picked with
         * probability proportional to its weight, all weights 1 if none is admitted. With
         * weights 0 and 1 only this is the uniform pick among the admitted ones. */
        int64_t admitted = 0;
        if (allowed) {
            for (int64_t k = 0; k < bx.count; k++) {
                int32_t b;
                memcpy(&b, walk_records + (size_t)k * REC_BYTES + 16, 4);
                admitted += allowed[b];
            }
        }
        int use_mask = allowed && admitted > 0;
        int64_t pool = use_mask ? admitted : bx.count;
        int same_actor = 0;
        if (stick && last >= 0 && (int)(walk_next(&x) & 1023) < stick) {
            /* stay with the last step's actor if it has an admitted step (simulate.py: STICKS) */
            int64_t same = 0;
            for (int64_t k = 0; k < bx.count; k++) {
                int32_t b;
                memcpy(&b, walk_records + (size_t)k * REC_BYTES + 16, 4);
                if (actor[b] == last)
                    same += use_mask ? allowed[b] : 1;
            }
            if (same > 0)
                pool = same, same_actor = 1;
        }
        int64_t pick = (int64_t)(walk_next(&x) % (uint64_t)pool);
        const uint8_t *chosen = NULL;
        for (int64_t k = 0; k < bx.count; k++) {
            const uint8_t *r = walk_records + (size_t)k * REC_BYTES;
            int32_t b;
            memcpy(&b, r + 16, 4);
            int64_t weight = use_mask ? allowed[b] : 1;
            if (weight == 0)
                continue;
            if (same_actor && actor[b] != last)
                continue;
            pick -= weight;
            if (pick < 0) {
                chosen = r;
                path[d] = b;
                last = actor[b];
                break;
            }
        }
        unpack(chosen + 24, s);
        if (walk_check(s, out, d + 1))
            return 0;
    }
    out[0] = W_DEPTH, out[1] = max_depth;
    return 0;
}
