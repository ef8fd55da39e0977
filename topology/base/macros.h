#pragma once

/* Number of elements of an array (not a pointer: that fails to compile). */
#define ARRAY_SIZE(a)                                                                              \
    (sizeof(a) / sizeof((a)[0]) +                                                                  \
     sizeof(struct { int _not_an_array : 1 - 2 * __builtin_types_compatible_p(__typeof__(a),       \
                                                                         __typeof__(&(a)[0])); }) * 0)
