/*
 * pitr_owner.h: the proof that a directory is this run's restore.  A
 * resumed point-in-time recovery must never delete, or take for its own,
 * a data directory it did not create: the operator may have moved the
 * kept data directory back and started it between the two runs.
 *
 * A restore is built in a staging directory beside its destination,
 * DEST.pitr-RUN.partial, that the run creates and marks first (a file
 * PITR_MARKER holding the run id); the backup goes into its data/
 * subdirectory.  Once complete, data/ is marked too and renamed to DEST
 * (never over an existing one).  The run deletes only a staging directory
 * that holds its marker and whose data, as far as copied, has the
 * backup's system identifier and PG_VERSION; it takes DEST for its own
 * only when DEST holds its marker, the backup's system identifier and its
 * PG_VERSION.  The marker in DEST is removed when the run is done.
 */
#ifndef ORGUARD_RB_PITR_OWNER_H
#define ORGUARD_RB_PITR_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PITR_MARKER "orguard-pitr.run"

/* what this run's restore is */
typedef struct pitr_identity
{
	const char *run;
	uint64_t	sysid;			/* the backup's system identifier; 0 unknown */
	const char *pg_version;		/* the backup's PG_VERSION ("15"); "" or NULL unknown */
} pitr_identity;

/* what a directory holds, as read from disk */
typedef struct pitr_dir_facts
{
	bool		exists;
	bool		has_marker;
	char		marker_run[64]; /* the run id in the marker */
	bool		has_pg_version;
	char		pg_version[16];
	bool		has_control;	/* global/pg_control, whole */
	uint64_t	sysid;			/* from pg_control */
} pitr_dir_facts;

typedef enum pitr_dir_owner
{
	PITR_DIR_ABSENT,
	PITR_DIR_OURS,
	PITR_DIR_FOREIGN
} pitr_dir_owner;

/*
 * Pure.  Ours: the marker names id->run and the data is the backup's
 * (system identifier and PG_VERSION).  With partial (a staging copy that
 * may have been cut short), a missing PG_VERSION or pg_control is allowed,
 * but one that is there must match.  why says what was missing or wrong.
 */
pitr_dir_owner pitr_dir_owner_decide(const pitr_dir_facts *f, const pitr_identity *id, bool partial,
									 char *why, size_t len);

/*
 * Reads the facts: the marker in marker_dir, PG_VERSION and
 * global/pg_control (the system identifier is its first field) in
 * data_dir.  exists: marker_dir exists.
 */
void		pitr_dir_facts_read(const char *marker_dir, const char *data_dir, pitr_dir_facts *f);
/* facts and decision in one: for DEST (complete) */
pitr_dir_owner pitr_dest_owner(const char *dest, const pitr_identity *id, char *why, size_t len);
/* ... and for the staging directory of dest (partial) */
pitr_dir_owner pitr_staging_owner(const char *dest, const pitr_identity *id, char *why, size_t len);

/* DEST.pitr-RUN.partial, and its data/ subdirectory */
char	   *pitr_staging_path(const char *dest, const char *run);
char	   *pitr_staging_data(const char *dest, const char *run);

/*
 * Before the copy: removes this run's staging directory left by an
 * interrupted copy (only once proven ours), then creates it and writes
 * its marker, durably.  False with err when the staging directory is not
 * ours or anything fails; nothing that is not ours is touched.
 */
bool		pitr_staging_begin(const char *dest, const pitr_identity *id, char *err, size_t errlen);
/* removes dest's staging directory of this run once proven ours; absent is fine */
bool		pitr_staging_remove(const char *dest, const pitr_identity *id, char *err, size_t errlen);
/*
 * After the copy: marks the data, renames it to dest (refusing to
 * replace anything there) and removes the staging directory.
 */
bool		pitr_staging_commit(const char *dest, const pitr_identity *id, char *err, size_t errlen);
/* the run is done: dest's marker goes (a failure is harmless: no other run matches it) */
void		pitr_marker_remove(const char *dest);

/* rename that never replaces an existing target (renameat2 RENAME_NOREPLACE) */
bool		pitr_rename_noreplace(const char *from, const char *to, char *err, size_t errlen);

#endif
