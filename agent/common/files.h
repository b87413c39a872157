/*
 * files.h: whole files read into memory, and directories made with their
 * missing parents (spools, journals, data directories).
 */
#ifndef ORGUARD_FILES_H
#define ORGUARD_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* the whole file, NULL when unreadable */
char	   *file_read(const char *path);
/* the same, with its length (the text may hold NUL bytes) */
char	   *file_read_len(const char *path, size_t *len);
/* creates path and its missing parents (mode 0700); true when it exists */
bool		mkdir_p(const char *path);

#endif
