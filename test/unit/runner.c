#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "test/unit/suite.h"

#define MAX_SUITES 128

static struct {
    const char *name;
    CU_InitializeFunc init;
    CU_CleanupFunc cleanup;
    CU_TestInfo *tests;
} suites[MAX_SUITES];
static size_t n_suites;

void
test_suite_add(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
               CU_TestInfo *tests)
{
    if (n_suites == MAX_SUITES) {
        fprintf(stderr, "too many test suites (max %d)\n", MAX_SUITES);
        abort();
    }
    suites[n_suites].name = name;
    suites[n_suites].init = init;
    suites[n_suites].cleanup = cleanup;
    suites[n_suites].tests = tests;
    n_suites++;
}

/* Usage: runner [SUITE-SUBSTRING]: run every suite, or those whose name
 * contains the argument. Exit status 1 when anything failed. */
int
main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (size_t i = 0; i < n_suites; i++) {
        CU_pSuite s;

        if (filter && !strstr(suites[i].name, filter))
            continue;
        s = CU_add_suite(suites[i].name, suites[i].init, suites[i].cleanup);
        if (!s)
            return 2;
        for (CU_TestInfo *t = suites[i].tests; t->pName; t++)
            if (!CU_add_test(s, t->pName, t->pTestFunc))
                return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed() +
             CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
