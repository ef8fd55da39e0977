#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/events/uevent.h"
#include "test/support/suite.h"

/* Random and mutated datagrams through uevent_parse(). Each input sits in a
 * malloc of exactly its length so valgrind/ASan flag any over-read; the
 * seed is fixed so a failure reproduces. */

#define FUZZ_SEED 0x5eedfaceu
#define FUZZ_RANDOM_ROUNDS 4000u
#define FUZZ_MUTATE_ROUNDS 4000u

static uint64_t
xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Bytes that steer the parser into its branches more often than uniform noise. */
static char
fuzz_byte(uint64_t *s)
{
    static const char interesting[] = {'\0', '@', '=', '/', 'a', 'd', 'A', '0', '9'};
    uint64_t v = xorshift(s);

    if (v % 3 == 0)
        return (char)(v >> 8);
    return interesting[(v >> 8) % sizeof(interesting)];
}

/* Parse buf[0..len) from an exact-size copy; check the result contract. */
static void
fuzz_one(const char *src, size_t len, unsigned *ok)
{
    char *buf = malloc(len ? len : 1);
    struct uevent ev;
    int r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    memcpy(buf, src, len);
    r = uevent_parse(buf, len, &ev);
    CU_ASSERT(r == 0 || r == -EBADMSG || r == -ENOMSG);
    if (r == 0) {
        (*ok)++;
        CU_ASSERT(ev.devpath > buf && ev.devpath < buf + len && ev.devpath[0] == '/');
        CU_ASSERT(ev.devpath + strlen(ev.devpath) < buf + len);
        if (ev.subsystem)
            CU_ASSERT(ev.subsystem > buf && ev.subsystem + strlen(ev.subsystem) < buf + len);
        CU_ASSERT(strlen(ev.action_name) > 0 && strlen(ev.action_name) <= UEVENT_ACTION_NAME_MAX);
        (void)uevent_relevant(&ev);
    }
    free(buf);
}

static void
test_fuzz_random(void)
{
    uint64_t s = FUZZ_SEED;
    static char buf[UEVENT_MSG_MAX + 64];
    unsigned ok = 0;

    for (unsigned i = 0; i < FUZZ_RANDOM_ROUNDS; i++) {
        /* Mostly short inputs, sometimes around and over the size limit. */
        size_t len = (i % 64 == 0) ? UEVENT_MSG_MAX - 32 + xorshift(&s) % 64 : xorshift(&s) % 256;
        size_t start = 0;

        if (i % 2 == 0) { /* half start with a plausible header */
            memcpy(buf, "add@/", 5);
            start = 5;
            len += 5;
        }
        for (size_t j = start; j < len; j++)
            buf[j] = fuzz_byte(&s);
        if (len && i % 4 == 0)
            buf[len - 1] = '\0';
        fuzz_one(buf, len, &ok);
    }
    fprintf(stderr, " (%u of %u parsed)", ok, FUZZ_RANDOM_ROUNDS);
}

static const char seed_msg[] =
    "bind@/devices/pci0000:17/0000:17:00.0/0000:18:00.0\0ACTION=bind\0"
    "DEVPATH=/devices/pci0000:17/0000:17:00.0/0000:18:00.0\0SUBSYSTEM=pci\0DRIVER=vfio-pci\0"
    "PCI_CLASS=30200\0PCI_ID=10DE:2330\0PCI_SLOT_NAME=0000:18:00.0\0MAJOR=1\0MINOR=2\0"
    "SEQNUM=4714\0";

static void
test_fuzz_truncate_and_mutate(void)
{
    uint64_t s = FUZZ_SEED ^ 0xabcdef;
    char buf[sizeof(seed_msg)];
    const size_t len = sizeof(seed_msg) - 1;
    unsigned ok = 0, ok_prefix = 0, entries = 0;

    /* Every prefix: only those ending on an entry boundary may parse. */
    for (size_t n = 0; n <= len; n++)
        fuzz_one(seed_msg, n, &ok_prefix);
    for (size_t n = 0; n < len; n++)
        entries += seed_msg[n] == '\0';
    CU_ASSERT_EQUAL(ok_prefix, entries);
    for (unsigned i = 0; i < FUZZ_MUTATE_ROUNDS; i++) {
        unsigned flips = 1 + (unsigned)(xorshift(&s) % 4);

        memcpy(buf, seed_msg, len);
        for (unsigned f = 0; f < flips; f++)
            buf[xorshift(&s) % len] = fuzz_byte(&s);
        fuzz_one(buf, len - (size_t)(xorshift(&s) % 3), &ok);
    }
    fprintf(stderr, " (%u prefixes, %u of %u mutants parsed)", ok_prefix, ok, FUZZ_MUTATE_ROUNDS);
}

TEST_SUITE(uevent_fuzz, NULL, NULL, {"random buffers", test_fuzz_random},
           {"truncated and mutated", test_fuzz_truncate_and_mutate})
