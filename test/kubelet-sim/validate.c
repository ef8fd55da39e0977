#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "test/kubelet-sim/ksim.h"

/* The kubelet's checks (v1helper.IsExtendedResourceName and the endpoint
 * rules of the device manager), written from their documented behaviour. */

static bool
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* DNS-1123 subdomain: lower-case labels of [a-z0-9-], alphanumeric ends,
 * joined by '.', at most 253 characters. */
static bool
is_dns_subdomain(const char *s, size_t len)
{
    size_t label = 0;

    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            if (label == 0 && c == '-')
                return false;
            label++;
        } else {
            return false;
        }
    }
    return label > 0 && s[len - 1] != '-';
}

/* Qualified-name part: <= 63 of [A-Za-z0-9_.-], alphanumeric at both ends. */
static bool
is_qualified_name(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > 63 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

int
ksim_validate_resource_name(const char *name, char *msg, size_t msg_len)
{
    const char *slash = strchr(name, '/');

    if (!slash || strchr(slash + 1, '/')) {
        snprintf(msg, msg_len, "invalid resource name \"%s\": want domain/name", name);
        return -EINVAL;
    }
    if (strstr(name, "kubernetes.io/")) {
        snprintf(msg, msg_len, "invalid resource name \"%s\": kubernetes.io is reserved", name);
        return -EINVAL;
    }
    if (strncmp(name, "requests.", strlen("requests.")) == 0 ||
        !is_dns_subdomain(name, (size_t)(slash - name)) || !is_qualified_name(slash + 1)) {
        snprintf(msg, msg_len, "invalid resource name \"%s\": not an extended resource name",
                 name);
        return -EINVAL;
    }
    return 0;
}

int
ksim_validate_endpoint(const char *dir, const char *endpoint, char *msg, size_t msg_len)
{
    char path[4096];
    struct stat st;

    if (!*endpoint || strchr(endpoint, '/') || strcmp(endpoint, ".") == 0 ||
        strcmp(endpoint, "..") == 0) {
        snprintf(msg, msg_len, "invalid endpoint \"%s\": want a file name in %s", endpoint, dir);
        return -EINVAL;
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, endpoint) >= sizeof(path)) {
        snprintf(msg, msg_len, "endpoint path too long");
        return -EINVAL;
    }
    if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        snprintf(msg, msg_len, "endpoint %s is not a socket", path);
        return -EINVAL;
    }
    return 0;
}
