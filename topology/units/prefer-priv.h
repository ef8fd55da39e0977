#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The preferred-allocation problem as prefer.c hands it to the search
 * (prefer_search.c): the candidates (devices of whole available units),
 * how close each pair is, and the rule that orders candidate sets. The
 * rule is written down in README.md, "Preferred allocation". */

/* How close two candidate devices are, closest first. */
enum prefer_level {
    PREFER_GROUP = 0, /* one IOMMU group: they can only be handed out together */
    PREFER_PIX,       /* one PCIe switch or bridge between them at most */
    PREFER_PXB,       /* several switches, one root port */
    PREFER_PHB,       /* one host bridge */
    PREFER_NODE,      /* different host bridges, one known NUMA node */
    PREFER_FAR,       /* different known NUMA nodes, ranked by SLIT distance */
    PREFER_UNKNOWN,   /* a NUMA node is unknown and nothing else ties them */
    PREFER_LEVELS,
};

/* Levels GROUP..NODE are "close": the remainder should keep such pairs. */
#define PREFER_CLOSE PREFER_FAR

/* Cost of a candidate set S; prefer_search.c orders sets by it. */
struct prefer_cost {
    uint32_t pairs[PREFER_LEVELS]; /* pairs of S at each level */
    uint32_t slit;                 /* sum of SLIT distances of the FAR pairs of S */
    uint32_t cut[PREFER_CLOSE];    /* pairs (in S, candidate left over) at each close level */
};

/* Per candidate: how many other candidates are at each level from it, then
 * the sum of its SLIT distances to them. */
#define PREFER_DEG_W (PREFER_LEVELS + 1)

struct prefer_unit {
    size_t n;
    const size_t *members; /* candidate indices, ascending */
};

struct prefer_problem {
    size_t n;             /* candidates, in device ID order */
    const uint8_t *level; /* n * n enum prefer_level */
    const uint8_t *slit;  /* n * n SLIT distance for FAR pairs, else 0 */
    const uint32_t *deg;  /* n * PREFER_DEG_W: other candidates at each level, SLIT sum */
    size_t n_units;
    const struct prefer_unit *units;
    const bool *forced; /* per unit: holds a must-include device */
    size_t size;        /* devices wanted */
};

/* The best set of whole units, `size` devices, forced units included:
 * exact when at most PREFER_EXACT_SETS sets qualify (always with 16 free
 * units or fewer), else the best of a greedy growth from each free unit.
 * Ties go to the set with the lowest device IDs. Fills ret_chosen[0..n).
 * 0, -ENOENT (no set of whole units has that size) or -ENOMEM. */
int prefer_search(const struct prefer_problem *p, bool *ret_chosen);

#define PREFER_EXACT_SETS 65536
