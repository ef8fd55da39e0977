#pragma once

/* Run Prometheus' own linter, `promtool check metrics`, on an exposition
 * text; its output is appended to out_path. Returns promtool's exit code
 * (0: clean), or -errno when it could not be run. */
int tprom_check_metrics(const char *text, const char *out_path);
