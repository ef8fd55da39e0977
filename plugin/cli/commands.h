#pragma once

#include "plugin/config/options.h"

/* Subcommands. Each returns the process exit status (0 success). */
int cmd_serve(const struct plugin_options *o);    /* plugin/cli/cmd_serve.c */
int cmd_discover(const struct plugin_options *o); /* plugin/cli/cmd_discover.c */
int cmd_cdi(const struct plugin_options *o);      /* plugin/cli/cmd_cdi.c */
int cmd_health(const struct plugin_options *o);   /* plugin/cli/cmd_health.c */
