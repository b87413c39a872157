/*
 * msg_compact.h: a decoded protobuf-c message copied into one block.
 *
 * protobuf-c's unpack allocates every string and repeated field of a
 * message on its own: a kept model aggregate is seven allocations, a kept
 * autovacuum table five.  An agent keeping 2,000 entries for each of
 * hundreds of nodes pays the allocator's overhead on every one of them.
 * A compact copy is the message struct followed by its strings and arrays,
 * one allocation, released with free().  Arrays equal to one already seen
 * (the histogram bounds every model carries) can be shared from a pool
 * that outlives the copies.
 *
 * Pure: no I/O.
 */
#ifndef ORGUARD_MSG_COMPACT_H
#define ORGUARD_MSG_COMPACT_H

#include <protobuf-c/protobuf-c.h>

#include <stdbool.h>

/* repeated scalar arrays shared between compact copies; freed after them */
typedef struct msg_array_pool msg_array_pool;

msg_array_pool *msg_array_pool_new(void);
void		msg_array_pool_free(msg_array_pool *pool);

/*
 * Whether msg_compact can copy messages of this type: scalars, strings,
 * bytes and repeated scalars, no nested message, repeated string or oneof.
 */
bool		msg_compactable(const ProtobufCMessageDescriptor *d);

/*
 * One block holding a copy of msg (a compactable type), released with
 * free().  With a pool, a repeated scalar array equal to one in it is not
 * copied but points into the pool.  Unknown fields are not kept.
 */
ProtobufCMessage *msg_compact(const ProtobufCMessage *msg, msg_array_pool *pool);

/*
 * The same copy with prefix bytes (a multiple of 8) for the caller before
 * the message, in the same block: returns the block, the message starts
 * prefix bytes in.  Released with free() of the block.
 */
void	   *msg_compact_after(const ProtobufCMessage *msg, msg_array_pool *pool, size_t prefix);

#endif
