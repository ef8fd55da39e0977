#include <string.h>

#include <grpc/support/log.h>

#include "plugin/grpc/grpc_log.h"
#include "plugin/log/log.h"

static void
grpc_log_line(gpr_log_func_args *args)
{
    const char *file = args->file ? strrchr(args->file, '/') : NULL;
    enum log_level level;

    switch (args->severity) {
    case GPR_LOG_SEVERITY_DEBUG:
        level = LOG_LEVEL_DEBUG;
        break;
    case GPR_LOG_SEVERITY_INFO:
        level = LOG_LEVEL_INFO;
        break;
    case GPR_LOG_SEVERITY_ERROR:
    default:
        level = LOG_LEVEL_ERROR;
        break;
    }
    file = file ? file + 1 : args->file;
    log_event(level, "grpc", "file=%s line=%d msg=%s",
              log_quote(file ? file : "?", (char[128]){0}, 128), args->line,
              log_quote(args->message, (char[1600]){0}, 1600));
}

void
plugin_grpc_log_init(void)
{
    gpr_set_log_function(grpc_log_line);
}
