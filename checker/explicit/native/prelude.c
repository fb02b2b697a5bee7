/* pgcheck native engine, part 1 of 3: value helpers shared by the generated model code.
 *
 * A state is an array of NSLOTS int64 cells, one per model slot, in the slot order of the
 * traced model. Enums, bools, ints and references (-1 = null) are stored as they are in
 * the Python engine; sets are the same bit masks. A FIFO is packed into one cell:
 * bits 0..4 hold its length, item k sits in bits 5+4k .. 8+4k and is stored as
 * (instance + 1), so a null reference (-1) fits too. Unused bits are always zero, so two
 * FIFOs are equal exactly when their cells are equal.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FIFO_LEN_BITS 5
#define FIFO_ITEM_BITS 4
#define FIFO_ROOM 14 /* items a packed FIFO can hold: 5 + 14 * 4 = 61 bits */

/* The first evaluation error of this thread: an index into the model's error sites. The
 * default TLS model, not initial-exec: every loaded model would take static TLS space, and a
 * process that loads many models (the test suite) runs out of it. */
static __thread int pg_err_site = -1;

static inline int64_t pg_err(int site)
{
    if (pg_err_site < 0)
        pg_err_site = site;
    return 0;
}

static inline int64_t fifo_len(int64_t v) { return v & 31; }

static inline int64_t fifo_get(int64_t v, int64_t k)
{
    return (int64_t)(((uint64_t)v >> (FIFO_LEN_BITS + FIFO_ITEM_BITS * k)) & 15) - 1;
}

static inline int64_t fifo_head(int64_t v, int site)
{
    return fifo_len(v) ? fifo_get(v, 0) : pg_err(site);
}

static inline int64_t fifo_push(int64_t v, int64_t x, int site)
{
    int64_t n = fifo_len(v);
    if (n >= FIFO_ROOM || x < -1 || x > 14)
        return pg_err(site);
    uint64_t items = ((uint64_t)v >> FIFO_LEN_BITS) | ((uint64_t)(x + 1) << (FIFO_ITEM_BITS * n));
    return (int64_t)((items << FIFO_LEN_BITS) | (uint64_t)(n + 1));
}

/* Like Python's t[1:]: popping an empty FIFO gives an empty FIFO. */
static inline int64_t fifo_pop(int64_t v)
{
    int64_t n = fifo_len(v);
    if (!n)
        return 0;
    uint64_t items = ((uint64_t)v >> FIFO_LEN_BITS) >> FIFO_ITEM_BITS;
    return (int64_t)((items << FIFO_LEN_BITS) | (uint64_t)(n - 1));
}

static inline int fifo_has(int64_t v, int64_t x)
{
    for (int64_t k = 0, n = fifo_len(v); k < n; k++)
        if (fifo_get(v, k) == x)
            return 1;
    return 0;
}

/* Position of x in the FIFO, or -1: a permutation-invariant feature for symmetry. */
static inline int64_t fifo_index(int64_t v, int64_t x)
{
    for (int64_t k = 0, n = fifo_len(v); k < n; k++)
        if (fifo_get(v, k) == x)
            return k;
    return -1;
}

static inline int64_t fifo_remove(int64_t v, int64_t x)
{
    int64_t out = 0;
    for (int64_t k = 0, n = fifo_len(v); k < n; k++) {
        int64_t item = fifo_get(v, k);
        if (item != x)
            out = fifo_push(out, item, 0);
    }
    return out;
}

static inline int64_t fifo_concat(int64_t a, int64_t b, int site)
{
    for (int64_t k = 0, n = fifo_len(b); k < n; k++)
        a = fifo_push(a, fifo_get(b, k), site);
    return a;
}

/* Renaming under a permutation p (old instance -> new instance). */
static inline int64_t rename_ref(int64_t v, const int *p) { return v >= 0 ? p[v] : v; }

static inline int64_t rename_set(int64_t v, const int *p)
{
    int64_t m = 0;
    for (int i = 0; v >> i; i++)
        if ((v >> i) & 1)
            m |= (int64_t)1 << p[i];
    return m;
}

static inline int64_t rename_fifo(int64_t v, const int *p)
{
    int64_t out = 0;
    for (int64_t k = 0, n = fifo_len(v); k < n; k++)
        out = fifo_push(out, rename_ref(fifo_get(v, k), p), 0);
    return out;
}

/* How many of the slots js[0..n) hold instance i (a symmetry feature). */
static inline int64_t count_refs(const int *js, size_t n, const int64_t *s, int64_t i)
{
    int64_t c = 0;
    for (size_t k = 0; k < n; k++)
        c += s[js[k]] == i;
    return c;
}

static inline int64_t popcount64(int64_t v) { return __builtin_popcountll((uint64_t)v); }

/* Set operations check the member index as the Python engine does (a negative shift is
 * an error there, e.g. a null reference used as a member). */
static inline int64_t set_has(int64_t v, int64_t i, int site)
{
    return (i < 0 || i > 62) ? pg_err(site) : ((v >> i) & 1);
}

static inline int64_t set_add(int64_t v, int64_t i, int site)
{
    return (i < 0 || i > 62) ? pg_err(site) : (v | ((int64_t)1 << i));
}

static inline int64_t set_del(int64_t v, int64_t i, int site)
{
    return (i < 0 || i > 62) ? pg_err(site) : (v & ~((int64_t)1 << i));
}

/* The generated successor function hands each successor to the engine. */
struct worker;
static void emit(struct worker *w, int binding, const int64_t *next);
