/*-------------------------------------------------------------------------
 *
 * snapshot.h
 *		The agent's snapshot: every tracker's state as one protobuf message.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_SNAPSHOT_H
#define ORG_SNAPSHOT_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* microseconds since the Unix epoch, as the snapshot carries times; 0 stays 0 */
extern int64 org_unix_us(TimestampTz ts);

/*
 * encode one snapshot into a palloc'd bytea; since_generation 0 asks for
 * the full picture, else for what changed after it (see generation.h);
 * without with_statements it carries the model sums but no statement
 */
extern bytea *org_snapshot_encode(uint64 cursor, uint64 since_generation,
								  bool show_text, bool with_statements);

#endif							/* ORG_SNAPSHOT_H */
