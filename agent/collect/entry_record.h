/*
 * entry_record.h: a node's kept entry (a model aggregate, an autovacuum
 * table, ...) as a few bytes, read back into protobuf-c's struct only while
 * a poll's readers look at it.
 *
 * A decoded entry is protobuf-c's struct, about 170 bytes for a model
 * before its names and histogram, and an agent keeps 2,000 of them for each
 * of hundreds of nodes between polls.  A record holds the same fields: a
 * bitmap of the fields that are not zero, integers as varints (histogram
 * counts as differences from the bucket before), names as ids of the
 * shared name pool, repeated doubles equal to an array seen before (the
 * histogram bounds every model carries) as that array's index.  A model
 * takes about 100 bytes, a table about 45 (no vacuum yet) to 90.
 *
 * The record starts with its key: the ids of the names the extension tells
 * its entries apart by, and a statement's queryid and level.  Equal keys
 * are equal bytes, found by hash and memcmp.
 *
 * Pure: no I/O.
 */
#ifndef ORGUARD_ENTRY_RECORD_H
#define ORGUARD_ENTRY_RECORD_H

#include "collect/name_pool.h"

#include <protobuf-c/protobuf-c.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* an entry's identity: up to four names, and for a statement its queryid and level */
typedef struct entry_key
{
	const char *name[4];
	int			n;
	uint64_t	id;
	bool		toplevel;
} entry_key;

/* most bytes a key takes: four ids and an id as varints, and the level */
#define ENTRY_KEY_MAX 32

/* repeated doubles and floats shared between records (at most 16 arrays) */
typedef struct entry_arrays entry_arrays;

entry_arrays *entry_arrays_new(void);
void		entry_arrays_free(entry_arrays *a);

/*
 * Whether records can hold messages of this type: scalars, strings, bytes
 * and repeated scalars, no nested message or oneof, no proto2 presence.
 */
bool		entry_record_encodable(const ProtobufCMessageDescriptor *d);

/*
 * The bytes of k from the pool's ids, and its hash.  Returns the length, or
 * -1 when a name of k is not in the pool (no kept entry can have that key).
 */
int			entry_key_bytes(const name_pool *names, const entry_key *k,
							uint8_t out[ENTRY_KEY_MAX], uint32_t *hash);

typedef struct entry_record entry_record;

/* a record of msg (an encodable type) under key k; its names referenced in the pool */
entry_record *entry_record_new(const ProtobufCMessage *msg, const entry_key *k,
							   name_pool *names, entry_arrays *arrays);
/* frees r and drops its references to the pool's names */
void		entry_record_free(entry_record *r, const ProtobufCMessageDescriptor *d,
							  name_pool *names);
/*
 * Only drops r's references.  A record copied elsewhere (see
 * entry_record_size) takes its references along: the original is then
 * released with free() alone, the copy with this.
 */
void		entry_record_drop_names(const entry_record *r, const ProtobufCMessageDescriptor *d,
									name_pool *names);
/* bytes r takes: a record may be copied (memcpy) to any address and read there */
size_t		entry_record_size(const entry_record *r);

/* r's key bytes, as entry_key_bytes gives them, and their hash */
const uint8_t *entry_record_key(const entry_record *r, size_t *len);
uint32_t	entry_record_hash(const entry_record *r);
bool		entry_record_has_key(const entry_record *r, const uint8_t *key, size_t len);
/* bytes (multiples of 8) its repeated fields need when read back */
size_t		entry_record_extra(const entry_record *r);

/*
 * Reads r back into msg, d's struct of d->sizeof_message bytes: as
 * protobuf-c would have unpacked it, except that its names point into the
 * pool, shared arrays into entry_arrays and the others at *extra (advanced
 * by entry_record_extra(r)).  Nothing in msg is to be freed.
 */
void		entry_record_read(const entry_record *r, const ProtobufCMessageDescriptor *d,
							  const name_pool *names, const entry_arrays *arrays,
							  ProtobufCMessage *msg, uint8_t **extra);

#endif
