#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/support/proc.h"
#include "test/support/suite.h"
#include "test/support/topo_fixture.h"
#include "topology/host/host.h"

/* PCIe facts as topo_scan reads them (fixture pcie-faults, described in
 * scripts/fixtures/layouts.py), and topo_pcie_read on odd attribute
 * contents in a temp directory. */

static const struct topo_pcie *
pcie_of(const struct topo_host *h, const char *bdf)
{
    int i = topo_fixture_index(h, bdf);

    CU_ASSERT_FATAL(i >= 0);
    return &h->functions[i].pcie;
}

static void
test_fixture_facts(void)
{
    struct topo_host *h = topo_fixture_scan("pcie-faults", TOPO_IOMMU_AUTO);
    const struct topo_pcie *p;

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    p = pcie_of(h, "0000:18:00.0");
    CU_ASSERT_TRUE(p->aer_fatal_known && p->aer_nonfatal_known);
    CU_ASSERT_EQUAL(p->aer_fatal, 0);
    CU_ASSERT_EQUAL(p->power, TOPO_POWER_D0);
    CU_ASSERT_EQUAL(p->reset, TOPO_RESET_SOME);
    CU_ASSERT_STRING_EQUAL(p->reset_method, "flr bus");
    CU_ASSERT_EQUAL(p->link_speed, 320);
    CU_ASSERT_EQUAL(p->link_max_speed, 320);
    CU_ASSERT_EQUAL(p->link_width, 16);
    CU_ASSERT_EQUAL(p->config, TOPO_CONFIG_OK);
    CU_ASSERT_FALSE(topo_pcie_link_degraded(p));
    p = pcie_of(h, "0000:19:00.0");
    CU_ASSERT_EQUAL(p->link_speed, 160);
    CU_ASSERT_EQUAL(p->link_width, 8);
    CU_ASSERT_EQUAL(p->link_max_width, 16);
    CU_ASSERT_TRUE(topo_pcie_link_degraded(p));
    p = pcie_of(h, "0000:1a:00.0");
    CU_ASSERT_EQUAL(p->aer_fatal, 3);
    CU_ASSERT_EQUAL(p->aer_nonfatal, 5);
    CU_ASSERT_EQUAL(pcie_of(h, "0000:1b:00.0")->config, TOPO_CONFIG_ALL_ONES);
    p = pcie_of(h, "0000:1c:00.0");
    CU_ASSERT_EQUAL(p->power, TOPO_POWER_D3COLD);
    CU_ASSERT_EQUAL(p->reset, TOPO_RESET_NONE);
    /* asleep in D3cold: config space is not read (a read would wake it) */
    CU_ASSERT_EQUAL(p->config, TOPO_CONFIG_UNKNOWN);
    p = pcie_of(h, "0000:1d:00.0");
    CU_ASSERT_FALSE(p->aer_fatal_known || p->aer_nonfatal_known);
    CU_ASSERT_EQUAL(p->power, TOPO_POWER_UNKNOWN);
    CU_ASSERT_EQUAL(p->reset, TOPO_RESET_UNKNOWN);
    CU_ASSERT_EQUAL(p->link_speed, 0);
    CU_ASSERT_FALSE(topo_pcie_link_degraded(p));
    CU_ASSERT_EQUAL(pcie_of(h, "0000:1e:00.0")->power, TOPO_POWER_D0);
    /* bridges are not read */
    CU_ASSERT_EQUAL(pcie_of(h, "0000:00:01.0")->power, TOPO_POWER_UNKNOWN);
    topo_host_free(h);
}

struct tmpdev {
    char dir[64];
    int fd;
};

static void
tmp_open(struct tmpdev *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/kgdp-pcie-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(t->dir));
    t->fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_FATAL(t->fd >= 0);
}

static void
tmp_put(struct tmpdev *t, const char *name, const void *data, size_t len)
{
    int fd = openat(t->fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void
tmp_close(struct tmpdev *t)
{
    close(t->fd);
    tproc_rm_tree(t->dir);
}

static void
test_link_speeds(void)
{
    static const struct {
        const char *text;
        int want;
    } cases[] = {
        {"2.5 GT/s PCIe\n", 25}, {"8 GT/s\n", 80},         {"64.0 GT/s PCIe\n", 640},
        {"Unknown\n", 0},        {"Unknown speed\n", 0},   {"16.0GT/s\n", 0},
        {".5 GT/s\n", 0},        {"5. GT/s\n", 0},         {"99999999 GT/s\n", 0},
    };
    struct tmpdev t = {.fd = -1};

    tmp_open(&t);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct topo_pcie p;

        tmp_put(&t, "current_link_speed", cases[i].text, strlen(cases[i].text));
        topo_pcie_read(t.fd, &p);
        if (p.link_speed != cases[i].want)
            fprintf(stderr, "[%s -> %d, want %d] ", cases[i].text, p.link_speed, cases[i].want);
        CU_ASSERT_EQUAL(p.link_speed, cases[i].want);
    }
    tmp_close(&t);
}

static void
test_odd_attributes(void)
{
    static const char no_total[] = "Undefined 0\nDLP 1\n";
    static const char bad_total[] = "DLP 0\nTOTAL_ERR_FATAL -1\n";
    static const char big_total[] = "TOTAL_ERR_NONFATAL 99999999999999999999\n";
    static const unsigned char vf_config[8] = {0xff, 0xff, 0xff, 0xff, 0x06, 0x04, 0x10, 0x00};
    static const unsigned char short_config[4] = {0xff, 0xff, 0xff, 0xff};
    struct topo_pcie p;
    struct tmpdev t = {.fd = -1};

    tmp_open(&t);
    tmp_put(&t, "aer_dev_fatal", no_total, strlen(no_total));
    tmp_put(&t, "aer_dev_nonfatal", big_total, strlen(big_total));
    tmp_put(&t, "power_state", "D3hot\n", 6);
    tmp_put(&t, "current_link_width", "x16\n", 4);
    tmp_put(&t, "config", vf_config, sizeof(vf_config));
    topo_pcie_read(t.fd, &p);
    CU_ASSERT_FALSE(p.aer_fatal_known);
    CU_ASSERT_FALSE(p.aer_nonfatal_known);
    CU_ASSERT_EQUAL(p.power, TOPO_POWER_D3HOT);
    /* power_state shown, reset_method hidden: the kernel knows no reset */
    CU_ASSERT_EQUAL(p.reset, TOPO_RESET_NONE);
    CU_ASSERT_EQUAL(p.link_width, 0);
    /* all-ones IDs with a real command/status word: a VF, not a dead device */
    CU_ASSERT_EQUAL(p.config, TOPO_CONFIG_OK);
    tmp_put(&t, "aer_dev_fatal", bad_total, strlen(bad_total));
    tmp_put(&t, "power_state", "error\n", 6);
    tmp_put(&t, "config", short_config, sizeof(short_config));
    topo_pcie_read(t.fd, &p);
    CU_ASSERT_FALSE(p.aer_fatal_known);
    CU_ASSERT_EQUAL(p.power, TOPO_POWER_UNKNOWN);
    CU_ASSERT_EQUAL(p.reset, TOPO_RESET_UNKNOWN);
    CU_ASSERT_EQUAL(p.config, TOPO_CONFIG_UNKNOWN);
    tmp_put(&t, "reset_method", "\n", 1);
    topo_pcie_read(t.fd, &p);
    CU_ASSERT_EQUAL(p.reset, TOPO_RESET_NONE);
    tmp_close(&t);
}

/* The first line of dir/attr into buf ("" when unreadable). */
static void
first_line(int dir, const char *attr, char *buf, size_t len)
{
    int fd = openat(dir, attr, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    if (fd >= 0)
        close(fd);
}

/* This machine's kernel: every PCI function of the real /sys (given as
 * the root, as the daemon would be) reads as the kernel words it. */
static void
test_real_sys(void)
{
    DIR *d = opendir("/sys/bus/pci/devices");
    struct dirent *e;
    size_t n = 0;

    if (!d) {
        fprintf(stderr, "[no /sys/bus/pci here] ");
        return;
    }
    while ((e = readdir(d))) {
        int fd = e->d_name[0] == '.' ? -1 : openat(dirfd(d), e->d_name, O_PATH | O_DIRECTORY);
        char power[32], width[16], reset[128];
        struct topo_pcie p;

        if (fd < 0)
            continue;
        topo_pcie_read(fd, &p);
        first_line(fd, "power_state", power, sizeof(power));
        first_line(fd, "current_link_width", width, sizeof(width));
        first_line(fd, "reset_method", reset, sizeof(reset));
        CU_ASSERT_STRING_EQUAL(topo_power_name(p.power),
                               power[0] && strcmp(power, "error") != 0 ? power : "unknown");
        if (reset[0]) {
            CU_ASSERT_STRING_EQUAL(p.reset_method, reset);
        } else if (power[0]) { /* with power_state shown, reset_method is hidden only if none */
            CU_ASSERT_EQUAL(p.reset, TOPO_RESET_NONE);
        }
        CU_ASSERT_EQUAL(p.link_width, width[0] ? (int)strtol(width, NULL, 10) : 0);
        if (p.power != TOPO_POWER_D3COLD) /* a live function answers */
            CU_ASSERT_NOT_EQUAL(p.config, TOPO_CONFIG_ALL_ONES);
        close(fd);
        n++;
    }
    closedir(d);
    fprintf(stderr, "[%zu functions of the real /sys] ", n);
}

TEST_SUITE(host_pcie_state, NULL, NULL,
           {"this machine's /sys: power state, link width, reset methods, config answers",
            test_real_sys},
           {"fixture pcie-faults: AER, power, reset, link, config all-ones, old kernel",
            test_fixture_facts},
           {"link speeds: kernel spellings parse, anything else is unknown", test_link_speeds},
           {"odd attribute contents are unknown, never faults; a VF is not all-ones",
            test_odd_attributes})
