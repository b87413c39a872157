/*-------------------------------------------------------------------------
 *
 * relation_label.h
 *	  How the extension names a relation in everything it reports: a table
 *	  in the public schema by its bare name (and, when Odoo's naming rule
 *	  applies, its model), any other as schema.name without a model.
 *
 * Pure C (libc only, no allocation, no catalog access) so it is unit tested
 * outside the server.  Callers look the names up; this only decides the
 * label.  The public schema is recognised by its oid, as the server does.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_RELATION_LABEL_H
#define ORG_RELATION_LABEL_H

#include <stdbool.h>
#include <stddef.h>

/* PG_PUBLIC_NAMESPACE; the server files check that they agree */
#define ORG_PUBLIC_NAMESPACE_OID 2200

/* whether the label needs the schema's name (callers look it up only then) */
extern bool org_relation_label_needs_schema(unsigned int nspid);

/*
 * Write the label of relation relname in namespace nspid into relation and
 * the Odoo model it stores into model ("" when none).  nspname is read only
 * when org_relation_label_needs_schema(nspid); NULL there prints "?".
 * Returns whether the relation is a model's table.
 */
extern bool org_relation_label(unsigned int nspid, const char *nspname,
							   const char *relname,
							   char *relation, size_t relation_len,
							   char *model, size_t model_len);

#endif							/* ORG_RELATION_LABEL_H */
