/*
 * rbfile.h: the small whole-file operations the runbooks need on data
 * directories, logs and backup catalogues.
 */
#ifndef ORGUARD_RB_FILE_H
#define ORGUARD_RB_FILE_H

#include <stdbool.h>

/* the whole file, NULL when unreadable */
char	   *rb_file_read(const char *path);
/* appends text and fsyncs */
bool		rb_file_append(const char *path, const char *text);
/* an empty file, fsynced (recovery.signal) */
bool		rb_file_touch(const char *path);

#endif
