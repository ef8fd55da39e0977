#pragma once

#include <stdbool.h>

#include "plugin/config/options.h"
#include "plugin/grpc/loop.h"

/* A real gRPC loop (completion queue, wake-up, one grpc_server per
 * resource on a socket in a temp kubelet dir) driven step by step by the
 * test, with no kubelet and no client unless the test makes one. */
struct loop_fixture {
    char *dir;          /* the kubelet dir (temp) */
    char *kubelet_sock; /* <dir>/kubelet.sock, absent until lf_kubelet_appears */
    struct plugin_options opts;
    struct plugin_loop *loop;
};

/* A snapshot from fake_inventory text (see test/support/fake_inventory.h). */
struct inventory *lf_inventory(const char *text);

/* Start the runtime on a new temp dir serving inv's resources (inv's
 * reference stays the caller's). CUnit-fatal on failure. */
void lf_start(struct loop_fixture *f, const char *inventory_text);

/* Close and destroy the runtime (every tag comes home), remove the dir. */
void lf_stop(struct loop_fixture *f);

/* Dispatch completion-queue events until done(f, ctx) holds or timeout_ms
 * passes (scaled under valgrind), then act on the mailbox as the run loop
 * does. Returns whether done held. */
bool lf_drive(struct loop_fixture *f, bool (*done)(struct loop_fixture *f, const void *ctx),
              const void *ctx, int timeout_ms);

/* Post events (and a snapshot, whose reference moves) as an event source
 * would, and let the loop take them: dispatch the wake, handle events. */
void lf_post(struct loop_fixture *f, unsigned events, struct inventory *inv);

/* Put a file where kubelet.sock belongs: not a socket, so a registration
 * attempt fails as against a kubelet that is not listening. */
void lf_kubelet_appears(struct loop_fixture *f);

/* The server of resource name in the loop's list (NULL when none). */
struct plugin_server *lf_server(struct loop_fixture *f, const char *name);
