#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi.h"

/* CDI name and version validation: the input is split at its first newline
 * into two strings; each goes through every validator, the pair through
 * the version comparison (which must be antisymmetric). */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
validate(const char *s)
{
    struct topo_error err = TOPO_ERROR_INIT;

    if (cdi_validate_vendor(s, &err) < 0 && !err.msg[0])
        abort();
    (void)cdi_validate_class(s, &err);
    (void)cdi_validate_kind(s, &err);
    (void)cdi_validate_device_name(s, &err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = malloc(size + 1), *b;
    int ab, ba;

    if (!a)
        abort();
    memcpy(a, data, size);
    a[size] = '\0';
    b = strchr(a, '\n');
    if (b)
        *b++ = '\0';
    else
        b = a + strlen(a);
    validate(a);
    validate(b);
    ab = cdi_version_compare(a, b);
    ba = cdi_version_compare(b, a);
    if ((ab < 0) != (ba > 0) || (ab == 0) != (ba == 0))
        abort();
    free(a);
    return 0;
}
