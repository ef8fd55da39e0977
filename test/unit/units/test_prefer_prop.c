#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/host_builder.h"
#include "test/support/suite.h"
#include "topology/units/inventory.h"

/* Property: on seeded random boards of up to 16 GPUs (PCIe switches,
 * nested switches, conventional PCI bridges, shared IOMMU groups, NUMA
 * known and unknown, with and without a SLIT table, unbound GPUs, GPUs
 * kubelet does not offer, must-include sets) GetPreferredAllocation
 * returns, for every size, the set a brute force over every set of whole
 * groups finds best under the rule in README.md ("Preferred allocation").
 * The brute force works from the board as generated here (which switch,
 * root port, host bridge, group and node each GPU has), not from the
 * snapshot's distance tables. */

#define MAX_DEV 16 /* boards the brute force checks */
#define MAX_GEN 48 /* boards the validity check covers */
#define MAX_FN 200
#define CASES 600
#define REQUESTS 3
#define BIG_CASES 120
#define BIT(i) ((uint64_t)1 << (i))

enum bf_level { BF_GROUP, BF_SWITCH, BF_ROOT, BF_HOSTBRIDGE, BF_NODE, BF_FAR, BF_UNKNOWN, BF_N };

struct gen_dev {
    int hb, rp, sw; /* host bridge, root port, closest switch or PCI bridge (-1: none) */
    int group, numa;
    bool bound;
    const char *bdf;
};

struct gen {
    uint32_t rng;
    struct hb_fn fns[MAX_FN];
    char bdf[MAX_FN][16];
    size_t n_fns, n_dev, want;
    struct gen_dev dev[MAX_GEN];
    int n_hb, hb_numa[3], n_rp, n_sw, next_group;
    bool has_slit;
    uint8_t slit[9];
};

static uint32_t
rnd(struct gen *g, uint32_t n)
{
    /* xorshift32: the same boards with every libc */
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 17;
    g->rng ^= g->rng << 5;
    return g->rng % n;
}

static const char *const hb_names[] = {"pci0000:00", "pci0000:40", "pci0000:80"};

static const char *
add_bridge(struct gen *g, const char *parent, int hb)
{
    size_t i = g->n_fns++;

    snprintf(g->bdf[i], sizeof(g->bdf[i]), "0000:%02zx:00.0", i + 1);
    g->fns[i] = (struct hb_fn)HB_BRIDGE(g->bdf[i], parent, hb_names[hb]);
    return g->bdf[i];
}

static void
add_gpu(struct gen *g, const char *parent, int hb, int sw, int group)
{
    size_t i = g->n_fns++;
    struct gen_dev *d = &g->dev[g->n_dev++];

    snprintf(g->bdf[i], sizeof(g->bdf[i]), "0000:%02zx:00.0", i + 1);
    d->hb = hb;
    d->rp = g->n_rp - 1;
    d->sw = sw;
    d->group = group >= 0 ? group : g->next_group++;
    d->numa = rnd(g, 8) == 0 ? -1 : g->hb_numa[hb];
    d->bound = rnd(g, 10) != 0;
    d->bdf = g->bdf[i];
    g->fns[i] = (struct hb_fn)HB_DEV(g->bdf[i], TOPO_KIND_GPU, 0x2330, "H100 SXM5 80GB",
                                     d->bound ? "vfio-pci" : NULL, d->group, (int)i, d->numa,
                                     parent, hb_names[hb]);
}

/* GPUs behind one bridge: a conventional PCI bridge always shares their
 * group; a switch without ACS does sometimes. */
static void
add_behind(struct gen *g, const char *bridge, int hb, bool pci_bridge, int depth)
{
    int sw = g->n_sw++, k = 1 + (int)rnd(g, 4);
    int shared = pci_bridge || rnd(g, 3) == 0 ? g->next_group++ : -1;

    for (int i = 0; i < k && g->n_dev < g->want; i++) {
        const char *port = pci_bridge ? bridge : add_bridge(g, bridge, hb);

        if (!pci_bridge && depth == 0 && rnd(g, 5) == 0)
            add_behind(g, add_bridge(g, port, hb), hb, rnd(g, 2) == 0, depth + 1);
        else
            add_gpu(g, port, hb, sw, shared);
    }
}

static void
gen_board(struct gen *g, uint32_t seed, size_t max)
{
    memset(g, 0, sizeof(*g));
    g->rng = seed * 2654435761u + 1;
    g->want = 1 + rnd(g, (uint32_t)max);
    if (rnd(g, 2))
        g->want = max - rnd(g, 5);
    g->n_hb = 1 + (int)rnd(g, 3);
    for (int h = 0; h < g->n_hb; h++)
        g->hb_numa[h] = (int)rnd(g, 4) - 1;
    g->has_slit = rnd(g, 4) != 0;
    for (int a = 0; a < 3; a++)
        for (int b = a; b < 3; b++) {
            static const uint8_t remote[] = {11, 12, 16, 20, 21, 32};

            g->slit[a * 3 + b] = g->slit[b * 3 + a] = a == b ? 10 : remote[rnd(g, 6)];
        }
    while (g->n_dev < g->want) {
        int hb = (int)rnd(g, (uint32_t)g->n_hb);
        const char *rp = add_bridge(g, NULL, hb);
        uint32_t shape = rnd(g, 4);

        g->n_rp++;
        if (shape == 0)
            add_gpu(g, rp, hb, -1, -1);
        else
            add_behind(g, add_bridge(g, rp, hb), hb, shape == 2, 0);
    }
}

/* The snapshot of a board: one resource of n_gpus GPUs. */
static struct inventory *
board_inventory(const struct topo_host *h, enum inv_mode mode, size_t n_gpus)
{
    struct inv_policy p = {.mode = mode,
                           .domain = "nvidia.com",
                           .gpu_alias = "pgpu",
                           .nvswitch_alias = "nvswitch",
                           .sysfs_root = "/nonexistent",
                           .dev_root = "/dev"};
    struct topo_error err = TOPO_ERROR_INIT;
    struct inventory *inv = NULL;

    CU_ASSERT_EQUAL_FATAL(inventory_build(h, &p, &inv, &err), 0);
    CU_ASSERT_EQUAL_FATAL(inv->n_resources, 1);
    CU_ASSERT_EQUAL_FATAL(inv->resources[0].n_devices, n_gpus);
    return inv;
}

static struct topo_host *
gen_host(const struct gen *g)
{
    struct topo_host *h = hb_host_new(g->fns, g->n_fns, true);

    if (h && g->has_slit) {
        h->numa_distance = malloc(sizeof(g->slit));
        if (!h->numa_distance) {
            topo_host_free(h);
            return NULL;
        }
        memcpy(h->numa_distance, g->slit, sizeof(g->slit));
        h->n_numa_nodes = 3;
    }
    return h;
}

/* The contract, stated once more: group, switch, root port, host bridge,
 * NUMA node; then far pairs, an unknown node never nearer than a known. */
static enum bf_level
bf_level(const struct gen *g, const struct gen_dev *a, const struct gen_dev *b, int *slit)
{
    *slit = 0;
    if (a->group == b->group)
        return BF_GROUP;
    if (a->sw >= 0 && a->sw == b->sw)
        return BF_SWITCH;
    if (a->rp == b->rp)
        return BF_ROOT;
    if (a->hb == b->hb)
        return BF_HOSTBRIDGE;
    if (a->numa < 0 || b->numa < 0)
        return BF_UNKNOWN;
    if (a->numa == b->numa)
        return BF_NODE;
    *slit = g->has_slit ? g->slit[a->numa * 3 + b->numa] : 255;
    return BF_FAR;
}

/* A request on the board: candidate GPUs (listed, healthy, offered, whole
 * groups) in ID order, and the must-include ones among them. */
struct req {
    size_t n;
    const struct gen_dev *c[MAX_GEN];
    bool must[MAX_GEN];
    size_t n_units;
    uint64_t unit_mask[MAX_GEN]; /* candidates of each group */
};

/* Sort key of a set, smaller is better: closer pairs first, fewer unknown,
 * smaller SLIT sum, then fewer close pairs cut off from what is left. */
struct bf_key {
    long k[BF_N + BF_FAR];
};

static void
bf_key(const struct gen *g, const struct req *q, uint64_t set, struct bf_key *ret)
{
    long pairs[BF_N] = {0}, cut[BF_FAR] = {0}, slit_sum = 0;
    size_t n = 0;

    for (size_t i = 0; i < q->n; i++)
        for (size_t j = i + 1; j < q->n; j++) {
            bool si = set & BIT(i), sj = set & BIT(j);
            int s;
            enum bf_level l = bf_level(g, q->c[i], q->c[j], &s);

            if (si && sj) {
                pairs[l]++;
                slit_sum += s;
            } else if ((si || sj) && l < BF_FAR) {
                cut[l]++;
            }
        }
    for (int l = BF_GROUP; l < BF_FAR; l++)
        ret->k[n++] = -pairs[l];
    ret->k[n++] = pairs[BF_UNKNOWN];
    ret->k[n++] = slit_sum;
    for (int l = BF_GROUP; l < BF_FAR; l++)
        ret->k[n++] = cut[l];
}

static int
key_cmp(const struct bf_key *a, const struct bf_key *b)
{
    for (size_t i = 0; i < sizeof(a->k) / sizeof(a->k[0]); i++)
        if (a->k[i] != b->k[i])
            return a->k[i] < b->k[i] ? -1 : 1;
    return 0;
}

/* Same size: the set holding the first candidate they differ in has the
 * lower IDs. */
static bool
lower_ids(uint64_t a, uint64_t b)
{
    uint64_t d = a ^ b;

    return d && (a & (d & -d));
}

/* best[k]: the best set of k candidates (0: none). */
static void
brute_force(const struct gen *g, const struct req *q, uint64_t *best)
{
    struct bf_key bk[MAX_DEV + 1], k;
    uint64_t must = 0;

    for (size_t i = 0; i < q->n; i++)
        must |= q->must[i] ? BIT(i) : 0;
    memset(best, 0, (MAX_DEV + 1) * sizeof(*best));
    for (uint64_t m = 0; m < BIT(q->n_units); m++) {
        uint64_t set = 0;
        size_t size;

        for (size_t u = 0; u < q->n_units; u++)
            set |= m & BIT(u) ? q->unit_mask[u] : 0;
        if ((set & must) != must || set == 0)
            continue;
        size = (size_t)__builtin_popcountll(set);
        bf_key(g, q, set, &k);
        if (!best[size] || key_cmp(&k, &bk[size]) < 0 ||
            (key_cmp(&k, &bk[size]) == 0 && lower_ids(set, best[size]))) {
            best[size] = set;
            bk[size] = k;
        }
    }
}

static const struct gen_dev *
gen_find(const struct gen *g, const char *id)
{
    for (size_t i = 0; i < g->n_dev; i++)
        if (strcmp(g->dev[i].bdf, id) == 0)
            return &g->dev[i];
    return NULL;
}

/* A GPU can be proposed when every GPU of its group is bound and offered. */
static bool
whole_group(const struct gen *g, const struct gen_dev *d, const bool *offered)
{
    for (size_t i = 0; i < g->n_dev; i++)
        if (g->dev[i].group == d->group && (!g->dev[i].bound || !offered[i]))
            return false;
    return true;
}

/* Offer every listed GPU, or each with probability 4/5 (unhealthy ones too: the op
 * must skip them), pick up to two must-include candidates. */
static void
make_req(struct gen *g, const struct inv_resource *res, bool offer_all, struct req *q,
         const char **avail, size_t *n_avail, const char **must, size_t *n_must)
{
    bool offered[MAX_GEN] = {false};
    int group_unit[256];

    memset(q, 0, sizeof(*q));
    memset(group_unit, -1, sizeof(group_unit));
    *n_avail = *n_must = 0;
    for (size_t i = 0; i < g->n_dev; i++)
        offered[i] = offer_all || rnd(g, 5) != 0;
    for (size_t d = 0; d < res->n_devices; d++) {
        const struct gen_dev *x = gen_find(g, res->devices[d].id);

        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        if (offered[x - g->dev])
            avail[(*n_avail)++] = res->devices[d].id;
        if (!offered[x - g->dev] || !whole_group(g, x, offered))
            continue;
        if (group_unit[x->group] < 0)
            group_unit[x->group] = (int)q->n_units++;
        q->unit_mask[group_unit[x->group]] |= BIT(q->n);
        q->c[q->n++] = x;
    }
    for (int k = rnd(g, 2) ? (int)rnd(g, 3) : 0; k > 0 && q->n > 0; k--) {
        size_t i = rnd(g, (uint32_t)q->n);

        if (!q->must[i])
            must[(*n_must)++] = q->c[i]->bdf;
        q->must[i] = true;
    }
}

static size_t
forced_size(const struct req *q)
{
    uint64_t set = 0;

    for (size_t u = 0; u < q->n_units; u++)
        for (size_t i = 0; i < q->n; i++)
            if (q->must[i] && (q->unit_mask[u] & BIT(i)))
                set |= q->unit_mask[u];
    return (size_t)__builtin_popcountll(set);
}

static void
show(const struct req *q, uint64_t set, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < q->n; i++)
        if (set & BIT(i))
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? "," : "", q->c[i]->bdf);
}

/* The answer to one size against the brute force; false on a mismatch. */
static bool
check_size(const struct inventory *inv, const struct req *q, const char **avail, size_t n_avail,
           const char **must, size_t n_must, size_t size, uint64_t want, enum inv_mode mode)
{
    struct topo_error err = TOPO_ERROR_INIT;
    char **ids = NULL, a[512], b[512];
    size_t n = 0, n_res = inv->resources[0].n_devices;
    uint64_t got = 0;
    int code = mode == INV_MODE_MULTI && size != 1 && size != n_res ? -EPERM
               : forced_size(q) > size                              ? -EINVAL
               : want == 0                                          ? -EPERM
                                                                    : 0;
    int r = inventory_preferred(inv, 0, avail, n_avail, must, n_must, size, &ids, &n, &err);

    for (size_t i = 0; r == 0 && i < n; i++) {
        size_t c = 0;

        while (c < q->n && strcmp(q->c[c]->bdf, ids[i]) != 0)
            c++;
        got |= c < q->n ? BIT(c) : BIT(63); /* bit 63: not a candidate */
    }
    if (r == 0)
        inventory_free_strv(ids, n);
    if (r == code && (r < 0 || (got == want && n == size)))
        return true;
    show(q, got, a, sizeof(a));
    show(q, want, b, sizeof(b));
    fprintf(stderr, "\nsize %zu (%zu must): got %d [%s] %s, want %d [%s]\n", size, n_must, r, a,
            r < 0 ? err.msg : "", code, b);
    return false;
}

static bool
check_board(uint32_t seed)
{
    struct gen g;
    struct topo_host *h;
    struct inventory *inv = NULL;
    bool ok = true;

    gen_board(&g, seed, MAX_DEV);
    h = gen_host(&g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    for (int k = 0; k < REQUESTS && ok; k++) {
        enum inv_mode mode = k == REQUESTS - 1 ? INV_MODE_MULTI : INV_MODE_PASSTHROUGH;
        const char *avail[MAX_GEN], *must[MAX_GEN];
        size_t n_avail, n_must;
        uint64_t best[MAX_DEV + 1];
        struct req q;

        inv = board_inventory(h, mode, g.n_dev);
        make_req(&g, &inv->resources[0], k == 0, &q, avail, &n_avail, must, &n_must);
        brute_force(&g, &q, best);
        for (size_t size = 1; size <= g.n_dev && ok; size++)
            ok = check_size(inv, &q, avail, n_avail, must, n_must, size, best[size], mode);
        if (!ok)
            fprintf(stderr, "board seed %u, request %d (%zu GPUs, %zu candidates)\n", seed, k,
                    g.n_dev, q.n);
        inventory_unref(inv);
    }
    topo_host_free(h);
    return ok;
}

/* Can whole units, the forced ones included, make exactly size devices? */
static bool
reachable(const struct req *q, size_t size)
{
    bool reach[MAX_GEN + 1] = {true};
    size_t forced = forced_size(q);

    for (size_t u = 0; u < q->n_units; u++) {
        size_t len = (size_t)__builtin_popcountll(q->unit_mask[u]);
        bool is_forced = false;

        for (size_t i = 0; i < q->n; i++)
            is_forced |= q->must[i] && (q->unit_mask[u] & BIT(i));
        for (size_t t = MAX_GEN; !is_forced && t >= len; t--)
            reach[t] |= reach[t - len];
    }
    return size >= forced && reach[size - forced];
}

/* Beyond the brute force: a valid set (candidates only, whole groups,
 * must-include kept, the size asked) exactly when one exists. */
static bool
check_valid(const struct inventory *inv, const struct req *q, const char **avail, size_t n_avail,
            const char **must, size_t n_must, size_t size)
{
    struct topo_error err = TOPO_ERROR_INIT;
    char **ids = NULL;
    size_t n = 0;
    uint64_t got = 0;
    int code = forced_size(q) > size ? -EINVAL : reachable(q, size) ? 0 : -EPERM;
    int r = inventory_preferred(inv, 0, avail, n_avail, must, n_must, size, &ids, &n, &err);
    bool ok = r == code;

    for (size_t i = 0; r == 0 && i < n; i++) {
        size_t c = 0;

        while (c < q->n && strcmp(q->c[c]->bdf, ids[i]) != 0)
            c++;
        ok &= c < q->n && !(got & BIT(c));
        got |= c < q->n ? BIT(c) : 0;
    }
    if (r == 0)
        inventory_free_strv(ids, n);
    for (size_t u = 0; r == 0 && u < q->n_units; u++)
        ok &= (got & q->unit_mask[u]) == 0 || (got & q->unit_mask[u]) == q->unit_mask[u];
    for (size_t i = 0; r == 0 && i < q->n; i++)
        ok &= !q->must[i] || (got & BIT(i));
    ok &= r < 0 || n == size;
    if (!ok)
        fprintf(stderr, "\nsize %zu (%zu must, %zu candidates): got %d (%zu) %s, want %d\n", size,
                n_must, q->n, r, n, r < 0 ? err.msg : "", code);
    return ok;
}

static bool
check_big_board(uint32_t seed)
{
    const char *avail[MAX_GEN], *must[MAX_GEN];
    size_t n_avail, n_must;
    struct inventory *inv;
    struct topo_host *h;
    struct req q;
    struct gen g;
    bool ok = true;

    gen_board(&g, seed, MAX_GEN);
    h = gen_host(&g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    inv = board_inventory(h, INV_MODE_PASSTHROUGH, g.n_dev);
    make_req(&g, &inv->resources[0], seed % 2, &q, avail, &n_avail, must, &n_must);
    for (size_t size = 1; size <= g.n_dev && ok; size++)
        ok = check_valid(inv, &q, avail, n_avail, must, n_must, size);
    if (!ok)
        fprintf(stderr, "big board seed %u (%zu GPUs)\n", seed, g.n_dev);
    inventory_unref(inv);
    topo_host_free(h);
    return ok;
}

static void
test_valid_beyond(void)
{
    size_t failed = 0;

    for (uint32_t seed = 1; seed <= BIG_CASES; seed++)
        failed += !check_big_board(seed);
    CU_ASSERT_EQUAL(failed, 0);
}

static void
test_brute_force(void)
{
    size_t failed = 0;

    for (uint32_t seed = 1; seed <= CASES; seed++)
        failed += !check_board(seed);
    CU_ASSERT_EQUAL(failed, 0);
}

TEST_SUITE(alloc_prefer_prop, NULL, NULL,
           {"equals a brute force on random boards of up to 16 GPUs", test_brute_force},
           {"a valid set or a clear error on boards of up to 48 GPUs", test_valid_beyond})
