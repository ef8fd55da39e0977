#pragma once

#include <stdbool.h>

/* Whole-file reads and line matches for tests. libc only. */

/* The whole file at path as a new string (caller frees), or NULL. */
char *ttext_read_file(const char *path);

/* Does text hold line as one whole line (between line starts/ends)? */
bool ttext_has_line(const char *text, const char *line);

/* How often needle occurs in the file at path; -errno when unreadable. */
int ttext_count_in_file(const char *path, const char *needle);
