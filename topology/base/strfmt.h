#pragma once

/* printf into a new string: 0 and *ret (caller frees), or -ENOMEM with
 * *ret set to NULL. One conversion of vasprintf's -1 convention. */
int topo_strfmt(char **ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
