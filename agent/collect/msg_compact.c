/*
 * msg_compact.c: a decoded protobuf-c message copied into one block (see
 * msg_compact.h).
 *
 * Layout: the message struct, then its repeated arrays (each aligned to 8),
 * then its strings and bytes.  A string or bytes field still pointing at
 * its default (protobuf-c's empty string, or the descriptor's default) keeps
 * that pointer, as protobuf-c's own free does not free it either.
 */
#include "collect/msg_compact.h"
#include "common/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* at most this many shared arrays, of at most POOL_MAX_ELEMS elements each */
#define POOL_MAX_ARRAYS		16
#define POOL_MAX_ELEMS		64

typedef struct pooled_array
{
	size_t		elem_size;
	size_t		n;
	void	   *data;
} pooled_array;

struct msg_array_pool
{
	pooled_array v[POOL_MAX_ARRAYS];
	int			n;
};

msg_array_pool *
msg_array_pool_new(void)
{
	return xcalloc(1, sizeof(msg_array_pool));
}

void
msg_array_pool_free(msg_array_pool *pool)
{
	if (!pool)
		return;
	for (int i = 0; i < pool->n; i++)
		free(pool->v[i].data);
	free(pool);
}

/* the pool's copy of an array equal to data[n], added when there is room; NULL: none */
static void *
pool_share(msg_array_pool *pool, size_t elem_size, size_t n, const void *data)
{
	if (!pool || n == 0 || n > POOL_MAX_ELEMS)
		return NULL;
	for (int i = 0; i < pool->n; i++)
		if (pool->v[i].elem_size == elem_size && pool->v[i].n == n &&
			memcmp(pool->v[i].data, data, elem_size * n) == 0)
			return pool->v[i].data;
	if (pool->n == POOL_MAX_ARRAYS)
		return NULL;
	pool->v[pool->n].elem_size = elem_size;
	pool->v[pool->n].n = n;
	pool->v[pool->n].data = xmalloc(elem_size * n);
	memcpy(pool->v[pool->n].data, data, elem_size * n);
	return pool->v[pool->n++].data;
}

/* bytes of one element of a repeated scalar field; 0: not a scalar */
static size_t
scalar_size(ProtobufCType type)
{
	switch (type)
	{
		case PROTOBUF_C_TYPE_INT32:
		case PROTOBUF_C_TYPE_SINT32:
		case PROTOBUF_C_TYPE_SFIXED32:
		case PROTOBUF_C_TYPE_UINT32:
		case PROTOBUF_C_TYPE_FIXED32:
		case PROTOBUF_C_TYPE_FLOAT:
		case PROTOBUF_C_TYPE_ENUM:
			return 4;
		case PROTOBUF_C_TYPE_INT64:
		case PROTOBUF_C_TYPE_SINT64:
		case PROTOBUF_C_TYPE_SFIXED64:
		case PROTOBUF_C_TYPE_UINT64:
		case PROTOBUF_C_TYPE_FIXED64:
		case PROTOBUF_C_TYPE_DOUBLE:
			return 8;
		case PROTOBUF_C_TYPE_BOOL:
			return sizeof(protobuf_c_boolean);
		default:
			return 0;
	}
}

bool
msg_compactable(const ProtobufCMessageDescriptor *d)
{
	for (unsigned i = 0; i < d->n_fields; i++)
	{
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			return false;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE)
			return false;
		if (f->label == PROTOBUF_C_LABEL_REPEATED && scalar_size(f->type) == 0)
			return false;
	}
	return true;
}

static size_t
align8(size_t n)
{
	return (n + 7) & ~(size_t) 7;
}

/* a string field that protobuf-c would not free: its default */
static bool
is_default_string(const ProtobufCFieldDescriptor *f, const char *s)
{
	return s == NULL || s == protobuf_c_empty_string || s == (const char *) f->default_value;
}

static bool
is_default_bytes(const ProtobufCFieldDescriptor *f, const ProtobufCBinaryData *b)
{
	const ProtobufCBinaryData *def = f->default_value;

	return b->data == NULL || b->len == 0 || (def && b->data == def->data);
}

ProtobufCMessage *
msg_compact(const ProtobufCMessage *msg, msg_array_pool *pool)
{
	return msg_compact_after(msg, pool, 0);
}

void *
msg_compact_after(const ProtobufCMessage *msg, msg_array_pool *pool, size_t prefix)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	const char *src = (const char *) msg;
	size_t		arrays = align8(d->sizeof_message);
	size_t		strings;
	size_t		total;
	char	   *block;
	char	   *dst;
	size_t		at_array;
	size_t		at_string;
	void	   *shared[64];

	if (d->n_fields > sizeof(shared) / sizeof(shared[0]))
		return NULL;
	/* sizes: arrays first (aligned), strings after */
	strings = 0;
	for (unsigned i = 0; i < d->n_fields; i++)
	{
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		shared[i] = NULL;
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
		{
			size_t		n = *(const size_t *) (src + f->quantifier_offset);
			const void *data = *(void *const *) (src + f->offset);
			size_t		es = scalar_size(f->type);

			shared[i] = pool_share(pool, es, n, data);
			if (!shared[i])
				arrays += align8(es * n);
		}
		else if (f->type == PROTOBUF_C_TYPE_STRING)
		{
			const char *s = *(char *const *) (src + f->offset);

			if (!is_default_string(f, s))
				strings += strlen(s) + 1;
		}
		else if (f->type == PROTOBUF_C_TYPE_BYTES)
		{
			const ProtobufCBinaryData *b = (const ProtobufCBinaryData *) (src + f->offset);

			if (!is_default_bytes(f, b))
				strings += b->len;
		}
	}
	total = arrays + strings;
	block = xmalloc(prefix + (total ? total : 1));
	dst = block + prefix;
	memcpy(dst, src, d->sizeof_message);
	((ProtobufCMessage *) dst)->n_unknown_fields = 0;
	((ProtobufCMessage *) dst)->unknown_fields = NULL;
	at_array = align8(d->sizeof_message);
	at_string = arrays;
	for (unsigned i = 0; i < d->n_fields; i++)
	{
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->label == PROTOBUF_C_LABEL_REPEATED)
		{
			size_t		n = *(const size_t *) (src + f->quantifier_offset);
			const void *data = *(void *const *) (src + f->offset);
			size_t		bytes = scalar_size(f->type) * n;
			void	   *to = shared[i];

			if (!to)
			{
				to = n ? dst + at_array : NULL;
				if (n)
					memcpy(to, data, bytes);
				at_array += align8(bytes);
			}
			*(void **) (dst + f->offset) = to;
		}
		else if (f->type == PROTOBUF_C_TYPE_STRING)
		{
			const char *s = *(char *const *) (src + f->offset);

			if (!is_default_string(f, s))
			{
				size_t		len = strlen(s) + 1;

				memcpy(dst + at_string, s, len);
				*(char **) (dst + f->offset) = dst + at_string;
				at_string += len;
			}
		}
		else if (f->type == PROTOBUF_C_TYPE_BYTES)
		{
			const ProtobufCBinaryData *b = (const ProtobufCBinaryData *) (src + f->offset);

			if (!is_default_bytes(f, b))
			{
				memcpy(dst + at_string, b->data, b->len);
				((ProtobufCBinaryData *) (dst + f->offset))->data = (uint8_t *) dst + at_string;
				at_string += b->len;
			}
		}
	}
	return block;
}
