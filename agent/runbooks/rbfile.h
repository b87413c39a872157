/*
 * rbfile.h: the small durable file writes the runbooks make in data
 * directories (postgresql.conf, postgresql.auto.conf, pg_hba.conf, signal
 * files) and beside the journal; reading a whole file is files.h's
 * file_read.
 *
 * A file is never rewritten in place: the new content goes to a temporary
 * file in the same directory, which is fsynced and renamed over the old
 * one, and then the directory is fsynced.  A crash or a full disk leaves
 * either the old file whole or the new one whole.
 */
#ifndef ORGUARD_RB_FILE_H
#define ORGUARD_RB_FILE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Replaces path with text, or with its old content followed by text
 * (append).  The file keeps its permission bits (new: 0600).  False with
 * errno set when anything failed; path is then as it was.
 */
bool		rb_file_write(const char *path, const char *text, bool append);
/* an empty file, fsynced with its directory (recovery.signal) */
bool		rb_file_touch(const char *path);
/* fsyncs the directory that holds path (after a rename or unlink there) */
bool		rb_fsync_parent(const char *path);
/* bytes in the regular files under path (0 when it does not exist); for progress */
uint64_t	rb_tree_bytes(const char *path);

#endif
