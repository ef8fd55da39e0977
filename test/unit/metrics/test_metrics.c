#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/metrics/metrics.h"
#include "test/support/promtool.h"
#include "test/support/suite.h"
#include "test/support/text.h"
#include "test/support/topo_fixture.h"
#include "topology/units/inventory.h"

/* The Prometheus exposition of plugin/metrics: counters, the rescan
 * histogram and the device gauges, checked line by line and by
 * Prometheus' own `promtool check metrics`. */

static char *
render(struct plugin_metrics *m)
{
    char *text = NULL;
    size_t len = 0;

    CU_ASSERT_EQUAL_FATAL(plugin_metrics_render(m, &text, &len), 0);
    CU_ASSERT_EQUAL(strlen(text), len);
    return text;
}

static void
test_exposition(void)
{
    struct plugin_metrics *m = plugin_metrics_new();
    struct inventory *inv = topo_fixture_inventory("pcie-faults", INV_MODE_PASSTHROUGH);
    char *text;

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    plugin_metrics_allocation(m, "nvidia.com/pgpu", 0);
    plugin_metrics_allocation(m, "nvidia.com/pgpu", 0);
    plugin_metrics_allocation(m, "nvidia.com/pgpu", -ENODEV);
    plugin_metrics_allocation(m, "nvidia.com/pgpu", -EPERM);
    plugin_metrics_allocation(m, "nvidia.com/nvswitch", -EINVAL);
    plugin_metrics_inc(m, PLUGIN_CTR_PREFERRED, "nvidia.com/pgpu", "ok");
    plugin_metrics_inc(m, PLUGIN_CTR_REGISTRATIONS, "nvidia.com/pgpu", "ok");
    plugin_metrics_inc(m, PLUGIN_CTR_KUBELET_RESTARTS, NULL, NULL);
    plugin_metrics_inc(m, PLUGIN_CTR_CDI_SYNCS, NULL, "failed");
    plugin_metrics_rescan(m, 0.003, true);
    plugin_metrics_rescan(m, 0.2, true);
    plugin_metrics_rescan(m, 40, false);
    plugin_metrics_set_inventory(m, inv);
    inventory_unref(inv); /* the metrics keep their own reference */
    text = render(m);
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_allocations_total{resource=\"nvidia.com/pgpu\"} 2"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_allocation_refusals_total{resource=\"nvidia.com/pgpu\","
                                  "reason=\"unhealthy\"} 1"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_allocation_refusals_total{resource=\"nvidia.com/pgpu\","
                                  "reason=\"rule\"} 1"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_allocation_refusals_total{resource=\"nvidia.com/"
                                  "nvswitch\",reason=\"invalid_request\"} 1"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_preferred_allocation_calls_total{resource=\"nvidia.com/"
                                  "pgpu\",result=\"ok\"} 1"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_kubelet_restarts_total 1"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_cdi_syncs_total{result=\"failed\"} 1"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_rescans_total{result=\"ok\"} 2"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_rescans_total{result=\"failed\"} 1"));
    /* buckets are cumulative; 40 s falls only in +Inf */
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_rescan_duration_seconds_bucket{le=\"0.005\"} 1"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_rescan_duration_seconds_bucket{le=\"0.25\"} 2"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_rescan_duration_seconds_bucket{le=\"30\"} 2"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_rescan_duration_seconds_bucket{le=\"+Inf\"} 3"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_rescan_duration_seconds_count 3"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_rescan_duration_seconds_sum 40.203000"));
    /* fixture pcie-faults: 1b:00.0 no longer answers */
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_devices{resource=\"nvidia.com/pgpu\","
                                  "health=\"unhealthy\"} 1"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_devices{resource=\"nvidia.com/pgpu\","
                                  "health=\"healthy\"} 5"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_devices{resource=\"nvidia.com/nvswitch\","
                                  "health=\"healthy\"} 2"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_device_healthy{device=\"0000:1b:00.0\"} 0"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_pcie_aer_errors_total{device=\"0000:1a:00.0\","
                                  "severity=\"fatal\"} 3"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_pcie_link_degraded{device=\"0000:19:00.0\"} 1"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_pcie_link_degraded{device=\"0000:18:00.0\"} 0"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_pcie_power_state{device=\"0000:1c:00.0\","
                                  "state=\"D3cold\"} 1"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_pcie_reset_available{device=\"0000:1c:00.0\"} 0"));
    /* unknown facts (an older kernel) give no sample at all */
    CU_ASSERT_PTR_NULL(strstr(text, "{device=\"0000:1d:00.0\",severity"));
    CU_ASSERT_PTR_NULL(strstr(text, "link_degraded{device=\"0000:1d:00.0\"}"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_build_info{version=\"" KGDP_VERSION "\"} 1"));
    CU_ASSERT_EQUAL(tprom_check_metrics(text, "/dev/stderr"), 0);
    free(text);
    plugin_metrics_free(m);
}

static void
test_empty_and_escaping(void)
{
    struct plugin_metrics *m = plugin_metrics_new();
    char *text;

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    text = render(m); /* before the first scan */
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_kubelet_restarts_total 0"));
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_rescan_duration_seconds_count 0"));
    CU_ASSERT_EQUAL(tprom_check_metrics(text, "/dev/stderr"), 0);
    free(text);
    plugin_metrics_inc(m, PLUGIN_CTR_REGISTRATIONS, "a\"b\\c\nd", "ok");
    text = render(m);
    CU_ASSERT_TRUE(ttext_has_line(text, "kata_gpu_registrations_total{resource=\"a\\\"b\\\\c\\nd\","
                                  "result=\"ok\"} 1"));
    CU_ASSERT_EQUAL(tprom_check_metrics(text, "/dev/stderr"), 0);
    free(text);
    plugin_metrics_free(m);
    /* the checker does fail on a broken exposition */
    CU_ASSERT_NOT_EQUAL(tprom_check_metrics("# TYPE x counter\nx{a=\"1} 1\n", "/dev/null"), 0);
    /* metrics off: every call is a no-op */
    plugin_metrics_inc(NULL, PLUGIN_CTR_RESCANS, NULL, "ok");
    plugin_metrics_rescan(NULL, 1, true);
    plugin_metrics_set_inventory(NULL, NULL);
}

#define THREADS 4
#define PER_THREAD 20000

static void *
bump(void *arg)
{
    for (int i = 0; i < PER_THREAD; i++)
        plugin_metrics_allocation(arg, "nvidia.com/pgpu", i % 2 ? 0 : -ENODEV);
    return NULL;
}

static void
test_threads(void)
{
    struct plugin_metrics *m = plugin_metrics_new();
    pthread_t t[THREADS];
    char *text, line[200];

    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    for (int i = 0; i < THREADS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, bump, m), 0);
    for (int i = 0; i < 50; i++) /* scrapes while the counters move */
        free(render(m));
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    text = render(m);
    snprintf(line, sizeof(line), "kata_gpu_allocations_total{resource=\"nvidia.com/pgpu\"} %d",
             THREADS * PER_THREAD / 2);
    CU_ASSERT_TRUE(ttext_has_line(text, line));
    free(text);
    plugin_metrics_free(m);
}

TEST_SUITE(metrics_render, NULL, NULL,
           {"counters, histogram and device gauges; promtool check metrics passes",
            test_exposition},
           {"before the first scan, label escaping, metrics off", test_empty_and_escaping},
           {"counters bumped from several threads while scraping", test_threads})
