#pragma once

#include <json-c/json.h>

/* _cleanup_json_ for the layers that may use json-c (cdi/, plugin/config,
 * plugin/discover); elsewhere the include stops at the layer's poison
 * header. json_object_put accepts NULL. */

static inline void
cleanup_jsonp(json_object **o)
{
    json_object_put(*o);
}

#define _cleanup_json_ __attribute__((cleanup(cleanup_jsonp)))
