/*
 * model_map.h: Odoo's ir_model as a table -> model map, and its use on a
 * snapshot: the extension guesses a relation's model from its name; the
 * node's own ir_model (read by node.c) names it for sure.  Pure: no I/O.
 */
#ifndef ORGUARD_MODEL_MAP_H
#define ORGUARD_MODEL_MAP_H

#include "odoo_retail_guard.pb-c.h"

#include <stdbool.h>

typedef struct model_map
{
	char	  **table;
	char	  **model;
	int			n;
} model_map;

void		model_map_free(model_map *m);
/* the same tables mapped to the same models */
bool		model_map_equal(const model_map *a, const model_map *b);
const char *model_map_lookup(const model_map *map, const char *relation);
/* applies the ir_model mapping of the node's database to a snapshot */
void		model_map_apply(const model_map *map, const char *dbname, OdooRetailGuard__Snapshot *s);

#endif
