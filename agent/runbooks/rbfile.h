/*
 * rbfile.h: the small fsynced file writes the runbooks make in data
 * directories (configuration, signal files); reading a whole file is
 * util.h's file_read.
 */
#ifndef ORGUARD_RB_FILE_H
#define ORGUARD_RB_FILE_H

#include <stdbool.h>

/* writes text (appended, or replacing the file) and fsyncs */
bool		rb_file_write(const char *path, const char *text, bool append);
/* an empty file, fsynced (recovery.signal) */
bool		rb_file_touch(const char *path);

#endif
