/*
 * name_pool.h: the names the agent keeps for its nodes' entries (databases,
 * models, relations, operations), each held once and counted.
 *
 * Hundreds of nodes of one retailer run the same Odoo: their thousands of
 * model and table names are the same strings, kept once here instead of
 * once per entry per node.  A name lives while an entry refers to it; the
 * last reference frees it, so dropped tables and tenants do not stay.
 *
 * Pure: no I/O.  Not thread-safe: the collector's main loop owns it.
 */
#ifndef ORGUARD_NAME_POOL_H
#define ORGUARD_NAME_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct name_pool name_pool;

name_pool  *name_pool_new(void);
void		name_pool_free(name_pool *p);

/*
 * The pool every snapshot merge of the process shares: created by the
 * first acquire, freed by the last release (which returns true).
 */
name_pool  *name_pool_shared_acquire(void);
bool		name_pool_shared_release(void);

/* the id of s, one more reference to it; 0 (no reference) for NULL and "" */
uint32_t	name_pool_ref(name_pool *p, const char *s);
/* the id of s if the pool holds it, without a reference; 0 otherwise */
uint32_t	name_pool_find(const name_pool *p, const char *s);
/* drops one reference; the last frees the name and its id */
void		name_pool_unref(name_pool *p, uint32_t id);
/* the name of a held id; "" for 0 */
const char *name_pool_str(const name_pool *p, uint32_t id);
/* names held now */
size_t		name_pool_count(const name_pool *p);

#endif
