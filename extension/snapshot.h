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

/* encode one snapshot into a palloc'd bytea */
extern bytea *org_snapshot_encode(uint64 cursor, bool show_text);

#endif							/* ORG_SNAPSHOT_H */
