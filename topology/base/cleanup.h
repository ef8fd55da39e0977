#pragma once

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Scope-bound cleanup helpers (GCC/Clang cleanup attribute). Ownership is
 * moved out of a guarded variable with TAKE_PTR / TAKE_FD. */

static inline void
cleanup_freep(void *p)
{
    free(*(void **)p);
}

static inline void
cleanup_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

static inline void
cleanup_closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}

static inline void
cleanup_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_dir_ __attribute__((cleanup(cleanup_closedirp)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))

#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _p = (p);                                                                    \
        (p) = NULL;                                                                                \
        _p;                                                                                        \
    })

#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int _fd = (fd);                                                                            \
        (fd) = -1;                                                                                 \
        _fd;                                                                                       \
    })
