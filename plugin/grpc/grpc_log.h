#pragma once

/* Route libgrpc's own log lines (gpr_log) through the daemon's key=value
 * log: event=grpc with the source file, line and message. Call before
 * grpc_init(); libgrpc's verbosity (GRPC_VERBOSITY) still decides what it
 * emits. */
void plugin_grpc_log_init(void);
