#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "topology/base/cleanup.h"
#include "topology/units/prefer-priv.h"

/* The search for the best set of whole units (README.md, "Preferred
 * allocation"). Exact (depth-first over the free units, pruned by a table
 * of how many unit subsets can still make up the count) when at most
 * PREFER_EXACT_SETS sets qualify; otherwise a greedy growth from up to
 * GROW_SEEDS_MAX free units, each step taking the unit that leaves the set
 * cheapest, and the best grown set wins. Both work on the smaller side:
 * the units to take, or those to leave out. Both are bounded: the exact
 * search visits at most PREFER_EXACT_SETS sets, each growth is
 * O(units * units * levels). */

/* The order of sets: <0 when a is the better set, >0 when b is, 0 when
 * they cost the same. */
static int
cost_cmp(const struct prefer_cost *a, const struct prefer_cost *b)
{
    /* more pairs at the closer levels first */
    for (size_t l = PREFER_GROUP; l < PREFER_CLOSE; l++)
        if (a->pairs[l] != b->pairs[l])
            return a->pairs[l] > b->pairs[l] ? -1 : 1;
    /* the sets have as many far pairs: an unknown node is never nearer */
    if (a->pairs[PREFER_UNKNOWN] != b->pairs[PREFER_UNKNOWN])
        return a->pairs[PREFER_UNKNOWN] < b->pairs[PREFER_UNKNOWN] ? -1 : 1;
    if (a->slit != b->slit)
        return a->slit < b->slit ? -1 : 1;
    /* equally close: break the fewest close pairs of what is left */
    for (size_t l = PREFER_GROUP; l < PREFER_CLOSE; l++)
        if (a->cut[l] != b->cut[l])
            return a->cut[l] < b->cut[l] ? -1 : 1;
    return 0;
}

/* The set being built, with its pair counts kept up to date. */
struct state {
    const struct prefer_problem *p;
    bool *in;       /* per candidate */
    size_t *chosen; /* candidates in the set, in the order added */
    size_t k;
    uint32_t pairs[PREFER_LEVELS];
    uint32_t slit;
    uint32_t dsum[PREFER_DEG_W]; /* sum of deg over the set */
};

static void
state_add(struct state *st, const struct prefer_unit *u)
{
    const struct prefer_problem *p = st->p;

    for (size_t i = 0; i < u->n; i++) {
        size_t m = u->members[i];
        const uint8_t *lv = &p->level[m * p->n], *sl = &p->slit[m * p->n];

        for (size_t j = 0; j < st->k; j++) {
            st->pairs[lv[st->chosen[j]]]++;
            st->slit += sl[st->chosen[j]];
        }
        for (size_t l = 0; l < PREFER_DEG_W; l++)
            st->dsum[l] += p->deg[m * PREFER_DEG_W + l];
        st->in[m] = true;
        st->chosen[st->k++] = m;
    }
}

/* Undo state_add(st, u); u must be the unit added last. */
static void
state_remove(struct state *st, const struct prefer_unit *u)
{
    const struct prefer_problem *p = st->p;

    for (size_t i = 0; i < u->n; i++) {
        size_t m = st->chosen[--st->k];
        const uint8_t *lv = &p->level[m * p->n], *sl = &p->slit[m * p->n];

        for (size_t j = 0; j < st->k; j++) {
            st->pairs[lv[st->chosen[j]]]--;
            st->slit -= sl[st->chosen[j]];
        }
        for (size_t l = 0; l < PREFER_DEG_W; l++)
            st->dsum[l] -= p->deg[m * PREFER_DEG_W + l];
        st->in[m] = false;
    }
}

static void
state_reset(struct state *st)
{
    memset(st->in, 0, st->p->n * sizeof(*st->in));
    memset(st->pairs, 0, sizeof(st->pairs));
    memset(st->dsum, 0, sizeof(st->dsum));
    st->slit = 0;
    st->k = 0;
}

/* The cost of a set from its pairs and dsum: a pair inside the set is
 * counted in the deg of both its ends, a pair cut off in one. */
static void
cost_from(const uint32_t *pairs, uint32_t slit, const uint32_t *dsum, struct prefer_cost *ret)
{
    memcpy(ret->pairs, pairs, sizeof(ret->pairs));
    ret->slit = slit;
    for (size_t l = 0; l < PREFER_CLOSE; l++)
        ret->cut[l] = dsum[l] - 2 * pairs[l];
}

struct search {
    const struct prefer_problem *p;
    struct state st;
    size_t n_free;
    size_t *free_units; /* units that are not forced */
    size_t rem;         /* devices to add to the forced ones */
    /* The exact search picks the free units to take, or when fewer devices
     * stay out than go in, the ones to leave out (inverse): the set is then
     * every candidate not in st, and its cost follows from tot. */
    bool inverse;
    size_t target;   /* devices the exact search picks */
    uint32_t *count; /* (n_free + 1) * (target + 1): subsets of free_units[i..] of t devices */
    uint32_t tot[PREFER_DEG_W]; /* pairs of all candidates at each level, SLIT sum */
    bool found;
    struct prefer_cost best_cost;
    bool *best; /* per candidate */
};

#define COUNT(s, i, t) ((s)->count[(i) * ((s)->target + 1) + (t)])

/* Count the unit subsets (capped just above PREFER_EXACT_SETS). */
static void
count_sets(struct search *s)
{
    memset(s->count, 0, (s->n_free + 1) * (s->target + 1) * sizeof(*s->count));
    COUNT(s, s->n_free, 0) = 1;
    for (size_t i = s->n_free; i-- > 0;) {
        size_t len = s->p->units[s->free_units[i]].n;

        for (size_t t = 0; t <= s->target; t++) {
            uint64_t c = COUNT(s, i + 1, t);

            if (len <= t)
                c += COUNT(s, i + 1, t - len);
            COUNT(s, i, t) = c > PREFER_EXACT_SETS ? PREFER_EXACT_SETS + 1 : (uint32_t)c;
        }
    }
}

/* Lower IDs win a tie: candidates are in ID order, and of two sets of one
 * size the one holding the first candidate they differ in sorts first. */
static bool
lower_ids(const struct search *s)
{
    for (size_t i = 0; i < s->p->n; i++)
        if ((s->st.in[i] != s->inverse) != s->best[i])
            return s->best[i] == false;
    return false;
}

/* The cost of the set from the pairs, SLIT sum and dsum of what the search
 * tracks: the set itself, or (inverse) the free units left out of it, E.
 * Then the pairs of the set are those of all candidates less the ones
 * touching E, and the pairs it cuts off are those between it and E. */
static void
cost_of(const struct search *s, const uint32_t *pairs, uint32_t slit, const uint32_t *dsum,
        struct prefer_cost *ret)
{
    if (!s->inverse) {
        cost_from(pairs, slit, dsum, ret);
        return;
    }
    for (size_t l = 0; l < PREFER_LEVELS; l++)
        ret->pairs[l] = s->tot[l] - dsum[l] + pairs[l];
    ret->slit = s->tot[PREFER_LEVELS] - dsum[PREFER_LEVELS] + slit;
    for (size_t l = 0; l < PREFER_CLOSE; l++)
        ret->cut[l] = dsum[l] - 2 * pairs[l];
}

static void
offer(struct search *s)
{
    struct prefer_cost c;
    int cmp;

    cost_of(s, s->st.pairs, s->st.slit, s->st.dsum, &c);
    cmp = s->found ? cost_cmp(&c, &s->best_cost) : -1;
    if (cmp < 0 || (cmp == 0 && lower_ids(s))) {
        s->best_cost = c;
        for (size_t i = 0; i < s->p->n; i++)
            s->best[i] = s->st.in[i] != s->inverse;
        s->found = true;
    }
}

static void
exact(struct search *s, size_t i, size_t rem)
{
    const struct prefer_unit *u;

    if (rem == 0) {
        offer(s);
        return;
    }
    u = &s->p->units[s->free_units[i]];
    if (u->n <= rem && COUNT(s, i + 1, rem - u->n) > 0) {
        state_add(&s->st, u);
        exact(s, i + 1, rem - u->n);
        state_remove(&s->st, u);
    }
    if (COUNT(s, i + 1, rem) > 0)
        exact(s, i + 1, rem);
}

static void
add_forced(struct state *st)
{
    for (size_t u = 0; u < st->p->n_units; u++)
        if (st->p->forced[u])
            state_add(st, &st->p->units[u]);
}

/* Greedy growth, for requests with too many qualifying sets. */

#define GAIN_W (PREFER_LEVELS + 1) /* pairs at each level, then their SLIT sum */
#define OWN_W (PREFER_LEVELS + 1 + PREFER_DEG_W)
#define GROW_SEEDS_MAX 64

struct grow {
    struct search *s;
    bool *used;         /* per free unit */
    uint32_t *gain;     /* n_free * GAIN_W: pairs of each free unit with the set */
    uint32_t *own;      /* n_free * OWN_W: each free unit's own pairs, SLIT sum, dsum */
    size_t max_len;     /* largest free unit */
    size_t *by_size;    /* max_len + 1: unused free units of each size */
    bool *fits;         /* max_len + 1: a unit of that size can be taken next */
    bool *reach;        /* rem + 1 */
    size_t *reach_used; /* rem + 1 */
};

/* Can the unused free units make up exactly t devices? (Bounded knapsack
 * over unit sizes: O(sizes * t).) */
static bool
sizes_reach(const struct grow *g, size_t t)
{
    memset(g->reach, 0, (t + 1) * sizeof(*g->reach));
    g->reach[0] = true;
    for (size_t len = 1; len <= g->max_len && len <= t; len++) {
        if (!g->by_size[len])
            continue;
        memset(g->reach_used, 0, (t + 1) * sizeof(*g->reach_used));
        for (size_t x = len; x <= t; x++)
            if (!g->reach[x] && g->reach[x - len] && g->reach_used[x - len] < g->by_size[len]) {
                g->reach[x] = true;
                g->reach_used[x] = g->reach_used[x - len] + 1;
            }
    }
    return g->reach[t];
}

/* Which unit sizes can be taken with rem devices still to add, so that the
 * rest can still be made up exactly: growth never walks into a dead end. */
static void
grow_fits(struct grow *g, size_t rem)
{
    for (size_t len = 1; len <= g->max_len; len++) {
        g->fits[len] = false;
        if (!g->by_size[len] || len > rem)
            continue;
        g->by_size[len]--;
        g->fits[len] = sizes_reach(g, rem - len);
        g->by_size[len]++;
    }
}

/* Add unit u to the set and to the gains of the unused free units. */
static void
grow_add(struct grow *g, const struct prefer_unit *u)
{
    const struct prefer_problem *p = g->s->p;

    state_add(&g->s->st, u);
    for (size_t i = 0; i < g->s->n_free; i++) {
        const struct prefer_unit *v = &p->units[g->s->free_units[i]];
        uint32_t *row = &g->gain[i * GAIN_W];

        if (g->used[i])
            continue;
        for (size_t a = 0; a < v->n; a++)
            for (size_t b = 0; b < u->n; b++) {
                size_t x = v->members[a] * p->n + u->members[b];

                row[p->level[x]]++;
                row[PREFER_LEVELS] += p->slit[x];
            }
    }
}

static void
grow_take(struct grow *g, size_t i, size_t *rem)
{
    const struct prefer_unit *u = &g->s->p->units[g->s->free_units[i]];

    g->used[i] = true;
    g->by_size[u->n]--;
    *rem -= u->n;
    grow_add(g, u);
}

/* The cost of the set with free unit i added to what the search tracks. */
static void
cost_with(const struct grow *g, size_t i, struct prefer_cost *ret)
{
    const struct state *st = &g->s->st;
    const uint32_t *row = &g->gain[i * GAIN_W], *own = &g->own[i * OWN_W];
    uint32_t pairs[PREFER_LEVELS], dsum[PREFER_DEG_W];

    for (size_t l = 0; l < PREFER_LEVELS; l++)
        pairs[l] = st->pairs[l] + row[l] + own[l];
    for (size_t l = 0; l < PREFER_DEG_W; l++)
        dsum[l] = st->dsum[l] + own[PREFER_LEVELS + 1 + l];
    cost_of(g->s, pairs, st->slit + row[PREFER_LEVELS] + own[PREFER_LEVELS], dsum, ret);
}

/* What free unit i brings whatever the set: its own pairs and degrees. */
static void
own_terms(const struct grow *g, size_t i)
{
    const struct prefer_problem *p = g->s->p;
    const struct prefer_unit *v = &p->units[g->s->free_units[i]];
    uint32_t *own = &g->own[i * OWN_W];

    for (size_t a = 0; a < v->n; a++) {
        for (size_t b = a + 1; b < v->n; b++) {
            size_t x = v->members[a] * p->n + v->members[b];

            own[p->level[x]]++;
            own[PREFER_LEVELS] += p->slit[x];
        }
        for (size_t l = 0; l < PREFER_DEG_W; l++)
            own[PREFER_LEVELS + 1 + l] += p->deg[v->members[a] * PREFER_DEG_W + l];
    }
}

static void
grow_reset(struct grow *g)
{
    const struct search *s = g->s;

    state_reset(&g->s->st);
    memset(g->used, 0, s->n_free * sizeof(*g->used));
    memset(g->gain, 0, s->n_free * GAIN_W * sizeof(*g->gain));
    memset(g->by_size, 0, (g->max_len + 1) * sizeof(*g->by_size));
    for (size_t i = 0; i < s->n_free; i++)
        g->by_size[s->p->units[s->free_units[i]].n]++;
    for (size_t u = 0; u < s->p->n_units && !s->inverse; u++)
        if (s->p->forced[u])
            grow_add(g, &s->p->units[u]);
}

/* Grow from free unit seed: always the unit that leaves the set cheapest. */
static void
grow_from(struct grow *g, size_t seed)
{
    struct search *s = g->s;
    size_t rem = s->target;

    grow_reset(g);
    grow_take(g, seed, &rem);
    while (rem > 0) {
        size_t best = SIZE_MAX;
        struct prefer_cost bc, c;

        grow_fits(g, rem);
        for (size_t i = 0; i < s->n_free; i++) {
            if (g->used[i] || !g->fits[s->p->units[s->free_units[i]].n])
                continue;
            cost_with(g, i, &c);
            if (best == SIZE_MAX || cost_cmp(&c, &bc) < 0) {
                best = i;
                bc = c;
            }
        }
        if (best == SIZE_MAX)
            return; /* not reached: grow_fits keeps the count reachable */
        grow_take(g, best, &rem);
    }
    offer(s);
}

/* Seeds: every free unit that can start a set (an even spread of at most
 * GROW_SEEDS_MAX of them, which bounds the work on any host), except those
 * an earlier growth already took: growing from inside a set found before
 * mostly finds it again. */
static int
grow_all(struct search *s)
{
    struct grow g = {.s = s};
    _cleanup_free_ bool *used = calloc(s->n_free + 1, sizeof(*used));
    _cleanup_free_ uint32_t *gain = calloc((s->n_free + 1) * GAIN_W, sizeof(*gain));
    _cleanup_free_ uint32_t *own = calloc((s->n_free + 1) * OWN_W, sizeof(*own));
    _cleanup_free_ size_t *by_size = NULL, *reach_used = NULL, *seeds = NULL;
    _cleanup_free_ bool *fits = NULL, *reach = NULL, *covered = NULL;
    size_t n_seeds = 0, step;

    for (size_t i = 0; i < s->n_free; i++)
        if (s->p->units[s->free_units[i]].n > g.max_len)
            g.max_len = s->p->units[s->free_units[i]].n;
    by_size = calloc(g.max_len + 1, sizeof(*by_size));
    fits = calloc(g.max_len + 1, sizeof(*fits));
    reach = calloc(s->target + 1, sizeof(*reach));
    reach_used = calloc(s->target + 1, sizeof(*reach_used));
    seeds = calloc(s->n_free + 1, sizeof(*seeds));
    covered = calloc(s->n_free + 1, sizeof(*covered));
    if (!used || !gain || !own || !by_size || !fits || !reach || !reach_used || !seeds || !covered)
        return -ENOMEM;
    g.used = used;
    g.gain = gain;
    g.own = own;
    for (size_t i = 0; i < s->n_free; i++)
        own_terms(&g, i);
    g.by_size = by_size;
    g.fits = fits;
    g.reach = reach;
    g.reach_used = reach_used;
    grow_reset(&g);
    grow_fits(&g, s->target);
    for (size_t i = 0; i < s->n_free; i++)
        if (fits[s->p->units[s->free_units[i]].n])
            seeds[n_seeds++] = i;
    step = (n_seeds + GROW_SEEDS_MAX - 1) / GROW_SEEDS_MAX;
    for (size_t i = 0; i < n_seeds; i += step) {
        if (covered[seeds[i]])
            continue;
        grow_from(&g, seeds[i]);
        for (size_t k = 0; k < s->n_free; k++)
            covered[k] |= used[k];
    }
    return 0;
}

/* Exact when few sets qualify: counted over the smaller side (the units to
 * take, or the ones to leave out), so the work is that count times the
 * depth, whatever the size. */
static bool
setup_exact(struct search *s, size_t n_free_devices, uint32_t **ret_count)
{
    const struct prefer_problem *p = s->p;

    s->inverse = n_free_devices - s->rem < s->rem;
    s->target = s->inverse ? n_free_devices - s->rem : s->rem;
    *ret_count = calloc((s->n_free + 1) * (s->target + 1), sizeof(**ret_count));
    if (!*ret_count)
        return false;
    s->count = *ret_count;
    count_sets(s);
    for (size_t x = 0; x < p->n; x++)
        for (size_t l = 0; l < PREFER_DEG_W; l++)
            s->tot[l] += p->deg[x * PREFER_DEG_W + l];
    for (size_t l = 0; l < PREFER_DEG_W; l++)
        s->tot[l] /= 2;
    return true;
}

int
prefer_search(const struct prefer_problem *p, bool *ret_chosen)
{
    size_t n = p->n ? p->n : 1, n_forced = 0, n_free_devices = 0;
    _cleanup_free_ bool *in = calloc(n, sizeof(*in));
    _cleanup_free_ bool *best = calloc(n, sizeof(*best));
    _cleanup_free_ size_t *chosen = calloc(n, sizeof(*chosen));
    _cleanup_free_ size_t *free_units = calloc(p->n_units ? p->n_units : 1, sizeof(*free_units));
    _cleanup_free_ uint32_t *count = NULL;
    struct search s = {
        .p = p, .st = {.p = p, .in = in, .chosen = chosen}, .best = best, .free_units = free_units};
    int r = 0;

    if (!in || !best || !chosen || !free_units)
        return -ENOMEM;
    for (size_t u = 0; u < p->n_units; u++) {
        if (p->forced[u]) {
            n_forced += p->units[u].n;
        } else {
            free_units[s.n_free++] = u;
            n_free_devices += p->units[u].n;
        }
    }
    if (n_forced > p->size || p->size - n_forced > n_free_devices)
        return -ENOENT;
    s.rem = p->size - n_forced;
    if (!setup_exact(&s, n_free_devices, &count))
        return -ENOMEM;
    if (COUNT(&s, 0, s.target) == 0)
        return -ENOENT;
    if (COUNT(&s, 0, s.target) <= PREFER_EXACT_SETS) {
        state_reset(&s.st);
        if (!s.inverse)
            add_forced(&s.st);
        exact(&s, 0, s.target);
    } else {
        r = grow_all(&s);
    }
    if (r < 0)
        return r;
    if (!s.found)
        return -ENOENT;
    memcpy(ret_chosen, best, p->n * sizeof(*best));
    return 0;
}
