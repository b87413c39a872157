/*
 * model_map.c: Odoo's ir_model as a sorted table -> model map (see
 * model_map.h).
 */
#include "collect/model_map.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

void
model_map_free(model_map *m)
{
	for (int i = 0; i < m->n; i++)
	{
		free(m->table[i]);
		free(m->model[i]);
	}
	free(m->table);
	free(m->model);
	memset(m, 0, sizeof(*m));
}

bool
model_map_equal(const model_map *a, const model_map *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->table[i], b->table[i]) || strcmp(a->model[i], b->model[i]))
			return false;
	return true;
}

const char *
model_map_lookup(const model_map *map, const char *relation)
{
	const char *dot;
	int			lo = 0,
				hi = map->n - 1;

	if (!relation || !*relation)
		return NULL;
	/* "public.sale_order" and "sale_order" name the same table */
	dot = strrchr(relation, '.');
	if (dot)
		relation = dot + 1;
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(map->table[mid], relation);

		if (c == 0)
			return map->model[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static void
remap(const model_map *map, const char *rel, char **model)
{
	const char *m = model_map_lookup(map, rel);

	if (!m || (*model && !strcmp(*model, m)))
		return;
	if (*model && *model != protobuf_c_empty_string)
		free(*model);
	*model = xstrdup(m);
}

static bool
same_db(const char *dbname, const char *db)
{
	return !db || !*db || !dbname || !strcmp(dbname, db);
}

void
model_map_apply(const model_map *map, const char *dbname, OdooRetailGuard__Snapshot *s)
{
	if (!map->n || !s)
		return;
	for (size_t i = 0; i < s->n_blocking_chains; i++)
		if (same_db(dbname, s->blocking_chains[i]->database))
			remap(map, s->blocking_chains[i]->relation, &s->blocking_chains[i]->model);
	for (size_t i = 0; i < s->n_lock_wait_events; i++)
		if (same_db(dbname, s->lock_wait_events[i]->database))
			remap(map, s->lock_wait_events[i]->relation, &s->lock_wait_events[i]->model);
	for (size_t i = 0; i < s->n_lock_contention; i++)
		if (same_db(dbname, s->lock_contention[i]->database))
			remap(map, s->lock_contention[i]->relation, &s->lock_contention[i]->model);
	for (size_t i = 0; i < s->n_autovacuum_lag; i++)
		if (same_db(dbname, s->autovacuum_lag[i]->database))
			remap(map, s->autovacuum_lag[i]->relation, &s->autovacuum_lag[i]->model);
	for (size_t i = 0; i < s->n_destructive_events; i++)
		if (same_db(dbname, s->destructive_events[i]->database))
			remap(map, s->destructive_events[i]->relation, &s->destructive_events[i]->model);
	for (size_t i = 0; i < s->n_slow_samples; i++)
		if (same_db(dbname, s->slow_samples[i]->database))
			remap(map, s->slow_samples[i]->relation, &s->slow_samples[i]->model);
	for (size_t i = 0; i < s->n_queries; i++)
		if (same_db(dbname, s->queries[i]->database))
			remap(map, s->queries[i]->relation, &s->queries[i]->model);
}
