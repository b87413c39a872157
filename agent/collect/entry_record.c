/*
 * entry_record.c: kept entries as bytes (see entry_record.h).
 *
 * Layout: varint length of what follows, varint key length, the key, varint extra / 8 (room its arrays take when read
 * back), then the body: a bitmap
 * of the fields present (not zero, not empty) in descriptor order, then
 * each present field.  Strings are name ids; booleans are their bit;
 * integers varints (signed ones zigzag); floats and doubles their bytes;
 * repeated fields a count, then for doubles and floats the index + 1 of a
 * shared array (0: the values follow), for integers the differences from
 * the element before, zigzag.
 */
#include "collect/entry_record.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

#define SHARED_MAX_ARRAYS	16
#define SHARED_MAX_ELEMS	64

/* a record is only its bytes, read where it lies: no alignment, no stored hash */
struct entry_record
{
	uint8_t		first;
};

static const uint8_t *
bytes_of(const entry_record *r)
{
	return (const uint8_t *) r;
}

typedef struct shared_array
{
	size_t		elem_size;
	size_t		n;
	void	   *data;
} shared_array;

struct entry_arrays
{
	shared_array v[SHARED_MAX_ARRAYS];
	int			n;
};

entry_arrays *
entry_arrays_new(void)
{
	return xcalloc(1, sizeof(entry_arrays));
}

void
entry_arrays_free(entry_arrays *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->n; i++)
		free(a->v[i].data);
	free(a);
}

/* index + 1 of the shared array equal to data[n], added when there is room; 0: none */
static unsigned
array_share(entry_arrays *a, size_t elem_size, size_t n, const void *data)
{
	if (!a || n == 0 || n > SHARED_MAX_ELEMS)
		return 0;
	for (int i = 0; i < a->n; i++)
		if (a->v[i].elem_size == elem_size && a->v[i].n == n &&
			memcmp(a->v[i].data, data, elem_size * n) == 0)
			return (unsigned) i + 1;
	if (a->n == SHARED_MAX_ARRAYS)
		return 0;
	a->v[a->n].elem_size = elem_size;
	a->v[a->n].n = n;
	a->v[a->n].data = xmalloc(elem_size * n);
	memcpy(a->v[a->n].data, data, elem_size * n);
	return (unsigned) ++a->n;
}

/* ---------- varints ---------- */

static uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t) v;
	return p;
}

static uint64_t
get_varint(const uint8_t **pp)
{
	const uint8_t *p = *pp;
	uint64_t	v = 0;
	int			shift = 0;

	for (;; shift += 7)
	{
		uint8_t		b = *p++;

		v |= (uint64_t) (b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	*pp = p;
	return v;
}

static uint64_t
zigzag(int64_t v)
{
	return ((uint64_t) v << 1) ^ (uint64_t) (v >> 63);
}

static int64_t
unzigzag(uint64_t v)
{
	return (int64_t) (v >> 1) ^ -(int64_t) (v & 1);
}

/* ---------- field types ---------- */

/* bytes of one element in protobuf-c's struct; 0: not a scalar */
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

static bool
is_real(ProtobufCType type)
{
	return type == PROTOBUF_C_TYPE_FLOAT || type == PROTOBUF_C_TYPE_DOUBLE;
}

/* an integer scalar at p as the varint it is kept as */
static uint64_t
int_get(ProtobufCType type, const void *p)
{
	switch (type)
	{
		case PROTOBUF_C_TYPE_INT32:
		case PROTOBUF_C_TYPE_SINT32:
		case PROTOBUF_C_TYPE_SFIXED32:
		case PROTOBUF_C_TYPE_ENUM:
			{
				int32_t		v;

				memcpy(&v, p, 4);
				return zigzag(v);
			}
		case PROTOBUF_C_TYPE_UINT32:
		case PROTOBUF_C_TYPE_FIXED32:
			{
				uint32_t	v;

				memcpy(&v, p, 4);
				return v;
			}
		case PROTOBUF_C_TYPE_INT64:
		case PROTOBUF_C_TYPE_SINT64:
		case PROTOBUF_C_TYPE_SFIXED64:
			{
				int64_t		v;

				memcpy(&v, p, 8);
				return zigzag(v);
			}
		case PROTOBUF_C_TYPE_BOOL:
			{
				protobuf_c_boolean v;

				memcpy(&v, p, sizeof(v));
				return v ? 1 : 0;
			}
		default:
			{
				uint64_t	v;

				memcpy(&v, p, 8);
				return v;
			}
	}
}

static void
int_set(ProtobufCType type, void *p, uint64_t k)
{
	switch (type)
	{
		case PROTOBUF_C_TYPE_INT32:
		case PROTOBUF_C_TYPE_SINT32:
		case PROTOBUF_C_TYPE_SFIXED32:
		case PROTOBUF_C_TYPE_ENUM:
			{
				int32_t		v = (int32_t) unzigzag(k);

				memcpy(p, &v, 4);
				break;
			}
		case PROTOBUF_C_TYPE_UINT32:
		case PROTOBUF_C_TYPE_FIXED32:
			{
				uint32_t	v = (uint32_t) k;

				memcpy(p, &v, 4);
				break;
			}
		case PROTOBUF_C_TYPE_INT64:
		case PROTOBUF_C_TYPE_SINT64:
		case PROTOBUF_C_TYPE_SFIXED64:
			{
				int64_t		v = unzigzag(k);

				memcpy(p, &v, 8);
				break;
			}
		case PROTOBUF_C_TYPE_BOOL:
			{
				protobuf_c_boolean v = k != 0;

				memcpy(p, &v, sizeof(v));
				break;
			}
		default:
			memcpy(p, &k, 8);
			break;
	}
}

bool
entry_record_encodable(const ProtobufCMessageDescriptor *d)
{
	for (unsigned i = 0; i < d->n_fields; i++)
	{
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			return false;
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
		{
			if (scalar_size(f->type) == 0)
				return false;
		}
		else if (f->label != PROTOBUF_C_LABEL_NONE)
			return false;
		else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
			return false;
	}
	return true;
}

/* ---------- keys ---------- */

static uint32_t
bytes_hash(const uint8_t *p, size_t len)
{
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	h ^= h >> 29;
	return (uint32_t) (h ^ (h >> 32));
}

int
entry_key_bytes(const name_pool *names, const entry_key *k, uint8_t out[ENTRY_KEY_MAX],
				uint32_t *hash)
{
	uint8_t    *p = out;

	for (int i = 0; i < k->n; i++)
	{
		uint32_t	id = name_pool_find(names, k->name[i]);

		if (id == 0 && k->name[i] && *k->name[i])
			return -1;
		p = put_varint(p, id);
	}
	p = put_varint(p, k->id);
	*p++ = k->toplevel ? 1 : 0;
	*hash = bytes_hash(out, (size_t) (p - out));
	return (int) (p - out);
}

/* ---------- records ---------- */

static bool
field_present(const ProtobufCFieldDescriptor *f, const char *src)
{
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *) (src + f->quantifier_offset) > 0;
	switch (f->type)
	{
		case PROTOBUF_C_TYPE_STRING:
			{
				const char *s = *(char *const *) (src + f->offset);

				return s && *s;
			}
		case PROTOBUF_C_TYPE_BYTES:
			return ((const ProtobufCBinaryData *) (src + f->offset))->len > 0;
		default:
			{
				static const uint8_t zero[8];

				/* by bits: -0.0 and NaN are kept as they are */
				return memcmp(src + f->offset, zero, scalar_size(f->type)) != 0;
			}
	}
}

/* most bytes the body of msg may take */
static size_t
body_bound(const ProtobufCMessageDescriptor *d, const char *src)
{
	size_t		n = (d->n_fields + 7) / 8 + 10;

	for (unsigned i = 0; i < d->n_fields; i++)
	{
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			n += 20 + 10 * *(const size_t *) (src + f->quantifier_offset);
		else if (f->type == PROTOBUF_C_TYPE_BYTES)
			n += 10 + ((const ProtobufCBinaryData *) (src + f->offset))->len;
		else
			n += 10;
	}
	return n;
}

entry_record *
entry_record_new(const ProtobufCMessage *msg, const entry_key *k, name_pool *names,
				 entry_arrays *arrays)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	const char *src = (const char *) msg;
	size_t		bound = 4 + 10 + ENTRY_KEY_MAX + 10 + body_bound(d, src);
	uint8_t		stack[1024];
	uint8_t    *buf = bound <= sizeof(stack) ? stack : xmalloc(bound);
	uint8_t    *bitmap = buf;
	uint8_t    *p = bitmap + (d->n_fields + 7) / 8;
	uint8_t		key[ENTRY_KEY_MAX];
	uint32_t	hash;
	int			key_len;
	size_t		extra = 0;
	size_t		body_len;
	uint8_t		head[10 + ENTRY_KEY_MAX + 10];
	uint8_t    *h;
	uint8_t		total[10];
	uint8_t    *t;
	entry_record *r;

	memset(bitmap, 0, (d->n_fields + 7) / 8);
	for (unsigned i = 0; i < d->n_fields; i++)
	{
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *at = src + f->offset;

		if (!field_present(f, src))
			continue;
		bitmap[i / 8] |= (uint8_t) (1u << (i % 8));
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
		{
			size_t		n = *(const size_t *) (src + f->quantifier_offset);
			const char *data = *(char *const *) at;
			size_t		es = scalar_size(f->type);

			p = put_varint(p, n);
			if (is_real(f->type))
			{
				unsigned	shared = array_share(arrays, es, n, data);

				p = put_varint(p, shared);
				if (!shared)
				{
					memcpy(p, data, es * n);
					p += es * n;
					extra += (es * n + 7) & ~(size_t) 7;
				}
			}
			else
			{
				uint64_t	prev = 0;

				for (size_t j = 0; j < n; j++)
				{
					uint64_t	v = int_get(f->type, data + j * es);

					p = put_varint(p, zigzag((int64_t) (v - prev)));
					prev = v;
				}
				extra += (es * n + 7) & ~(size_t) 7;
			}
		}
		else if (f->type == PROTOBUF_C_TYPE_STRING)
			p = put_varint(p, name_pool_ref(names, *(char *const *) at));
		else if (f->type == PROTOBUF_C_TYPE_BYTES)
		{
			const ProtobufCBinaryData *b = (const ProtobufCBinaryData *) at;

			p = put_varint(p, b->len);
			memcpy(p, b->data, b->len);
			p += b->len;
			extra += (b->len + 7) & ~(size_t) 7;
		}
		else if (f->type == PROTOBUF_C_TYPE_BOOL)
			;					/* its bit says it */
		else if (is_real(f->type))
		{
			memcpy(p, at, scalar_size(f->type));
			p += scalar_size(f->type);
		}
		else
			p = put_varint(p, int_get(f->type, at));
	}
	body_len = (size_t) (p - buf);
	/* the key after the body: its names are referenced by then */
	key_len = entry_key_bytes(names, k, key, &hash);
	if (key_len < 0)
		key_len = 0;			/* not reached: the key's names are fields */
	h = put_varint(head, (uint64_t) key_len);
	memcpy(h, key, (size_t) key_len);
	h = put_varint(h + key_len, extra / 8);
	t = put_varint(total, (uint64_t) (h - head) + body_len);
	r = xmalloc((size_t) (t - total) + (size_t) (h - head) + body_len);
	memcpy((uint8_t *) r, total, (size_t) (t - total));
	memcpy((uint8_t *) r + (t - total), head, (size_t) (h - head));
	memcpy((uint8_t *) r + (t - total) + (h - head), buf, body_len);
	if (buf != stack)
		free(buf);
	return r;
}

const uint8_t *
entry_record_key(const entry_record *r, size_t *len)
{
	const uint8_t *p = bytes_of(r);

	(void) get_varint(&p);
	*len = (size_t) get_varint(&p);
	return p;
}

uint32_t
entry_record_hash(const entry_record *r)
{
	size_t		len;
	const uint8_t *key = entry_record_key(r, &len);

	return bytes_hash(key, len);
}

size_t
entry_record_size(const entry_record *r)
{
	const uint8_t *p = bytes_of(r);
	uint64_t	rest = get_varint(&p);

	return (size_t) (p - bytes_of(r)) + (size_t) rest;
}

bool
entry_record_has_key(const entry_record *r, const uint8_t *key, size_t len)
{
	size_t		have;
	const uint8_t *p = entry_record_key(r, &have);

	return have == len && memcmp(p, key, len) == 0;
}

/* the body of r; *extra gets the room its arrays take */
static const uint8_t *
record_body(const entry_record *r, size_t *extra)
{
	const uint8_t *p = bytes_of(r);
	uint64_t	key_len;
	uint64_t	x;

	(void) get_varint(&p);
	key_len = get_varint(&p);

	p += key_len;
	x = get_varint(&p);
	if (extra)
		*extra = (size_t) x * 8;
	return p;
}

size_t
entry_record_extra(const entry_record *r)
{
	size_t		extra;

	record_body(r, &extra);
	return extra;
}

/* a varint: one byte for most of a record's (ids, small counts) */
static inline uint64_t
next_varint(const uint8_t **pp)
{
	if (**pp < 0x80)
		return *(*pp)++;
	return get_varint(pp);
}

/* skips the bytes of a present field that is not a string */
static const uint8_t *
skip_field(const ProtobufCFieldDescriptor *f, const uint8_t *p)
{
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
	{
		size_t		n = (size_t) next_varint(&p);

		if (is_real(f->type))
		{
			if (next_varint(&p) == 0)
				p += scalar_size(f->type) * n;
		}
		else
			for (size_t j = 0; j < n; j++)
				(void) next_varint(&p);
		return p;
	}
	switch (f->type)
	{
		case PROTOBUF_C_TYPE_BOOL:
			return p;
		case PROTOBUF_C_TYPE_BYTES:
			{
				size_t		len = (size_t) next_varint(&p);

				return p + len;
			}
		case PROTOBUF_C_TYPE_FLOAT:
			return p + 4;
		case PROTOBUF_C_TYPE_DOUBLE:
			return p + 8;
		default:
			(void) next_varint(&p);
			return p;
	}
}

/* each present field's index i, by the bits of the bitmap: entries leave many fields zero */
#define FOR_PRESENT_FIELDS(d, bitmap, i) \
	for (unsigned _byte = 0; _byte < ((d)->n_fields + 7) / 8; _byte++) \
		for (unsigned _bits = (bitmap)[_byte], i; \
			 _bits && (i = _byte * 8 + (unsigned) __builtin_ctz(_bits), 1); _bits &= _bits - 1)

/* drops the references of r's names */
static void
drop_body(const entry_record *r, const ProtobufCMessageDescriptor *d, name_pool *names)
{
	const uint8_t *bitmap = record_body(r, NULL);
	const uint8_t *p = bitmap + (d->n_fields + 7) / 8;

	FOR_PRESENT_FIELDS(d, bitmap, i)
	{
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->label != PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_STRING)
			name_pool_unref(names, (uint32_t) next_varint(&p));
		else
			p = skip_field(f, p);
	}
}

/* fills msg (defaults already set) from r's body, its arrays at *extra */
static void
read_body(const entry_record *r, const ProtobufCMessageDescriptor *d, const name_pool *names,
		  const entry_arrays *arrays, char *msg, uint8_t **extra)
{
	const uint8_t *bitmap = record_body(r, NULL);
	const uint8_t *p = bitmap + (d->n_fields + 7) / 8;

	FOR_PRESENT_FIELDS(d, bitmap, i)
	{
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char	   *at = msg + f->offset;

		if (f->label == PROTOBUF_C_LABEL_REPEATED)
		{
			size_t		n = (size_t) next_varint(&p);
			size_t		es = scalar_size(f->type);
			char	   *data;

			if (is_real(f->type))
			{
				uint64_t	shared = next_varint(&p);

				if (shared)
					data = arrays->v[shared - 1].data;
				else
				{
					data = (char *) *extra;
					memcpy(data, p, es * n);
					*extra += (es * n + 7) & ~(size_t) 7;
					p += es * n;
				}
			}
			else
			{
				uint64_t	v = 0;

				data = (char *) *extra;
				*extra += (es * n + 7) & ~(size_t) 7;
				for (size_t j = 0; j < n; j++)
				{
					v += (uint64_t) unzigzag(next_varint(&p));
					int_set(f->type, data + j * es, v);
				}
			}
			*(size_t *) (msg + f->quantifier_offset) = n;
			*(void **) at = data;
			continue;
		}
		switch (f->type)
		{
			case PROTOBUF_C_TYPE_STRING:
				*(const char **) at = name_pool_str(names, (uint32_t) next_varint(&p));
				break;
			case PROTOBUF_C_TYPE_BYTES:
				{
					ProtobufCBinaryData *b = (ProtobufCBinaryData *) at;

					b->len = (size_t) next_varint(&p);
					b->data = *extra;
					memcpy(b->data, p, b->len);
					*extra += (b->len + 7) & ~(size_t) 7;
					p += b->len;
					break;
				}
			case PROTOBUF_C_TYPE_BOOL:
				*(protobuf_c_boolean *) at = 1;
				break;
			case PROTOBUF_C_TYPE_DOUBLE:
				memcpy(at, p, 8);
				p += 8;
				break;
			case PROTOBUF_C_TYPE_FLOAT:
				memcpy(at, p, 4);
				p += 4;
				break;
			case PROTOBUF_C_TYPE_UINT64:
			case PROTOBUF_C_TYPE_FIXED64:
				{
					uint64_t	v = next_varint(&p);

					memcpy(at, &v, 8);
					break;
				}
			default:
				int_set(f->type, at, next_varint(&p));
				break;
		}
	}
}

void
entry_record_drop_names(const entry_record *r, const ProtobufCMessageDescriptor *d,
						name_pool *names)
{
	drop_body(r, d, names);
}

void
entry_record_free(entry_record *r, const ProtobufCMessageDescriptor *d, name_pool *names)
{
	if (!r)
		return;
	entry_record_drop_names(r, d, names);
	free(r);
}

void
entry_record_read(const entry_record *r, const ProtobufCMessageDescriptor *d,
				  const name_pool *names, const entry_arrays *arrays, ProtobufCMessage *msg,
				  uint8_t **extra)
{
	protobuf_c_message_init(d, msg);
	read_body(r, d, names, arrays, (char *) msg, extra);
}
