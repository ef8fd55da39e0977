#pragma once

#include <CUnit/CUnit.h>

/* Suites register themselves from a constructor; test/support/runner.c adds
 * them to the CUnit registry in main(). */
void test_suite_add(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
                    CU_TestInfo *tests);

#define TEST_SUITE(ident, init, cleanup, ...)                                                      \
    static CU_TestInfo ident##_tests[] = {__VA_ARGS__, CU_TEST_INFO_NULL};                         \
    __attribute__((constructor)) static void ident##_register(void)                               \
    {                                                                                              \
        test_suite_add(#ident, init, cleanup, ident##_tests);                                      \
    }
