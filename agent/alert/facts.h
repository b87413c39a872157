/*
 * facts.h: what one poll of one node observed, reduced to the values the
 * rules compare with their thresholds.  facts.c derives them from a decoded
 * snapshot plus the agent's own connection figures; keeping this separate
 * lets tests (and the rule engine) work without a database.
 */
#ifndef ORGUARD_FACTS_H
#define ORGUARD_FACTS_H

#include "common/config.h"
#include "collect/cron_jobs.h"
#include "collect/observation.h"
#include "odoo_retail_guard.pb-c.h"
#include "common/util.h"

typedef struct fact
{
	rule_kind	kind;
	char	   *subject;		/* what within the node: model, table, standby ... */
	double		value;
	char	   *summary;		/* one human line, no secrets */
	labelset	labels;			/* identity: fields fixed for the incident's life */
	labelset	annotations;	/* values that move: pids, durations, counts, queries */
	bool		housekeeping;	/* Odoo's scheduled housekeeping: the rule's housekeeping_severity */
} fact;

typedef struct fact_list
{
	fact	   *v;
	int			n;
	int			cap;			/* slots allocated in v */
} fact_list;

/*
 * Which facts are worth building (NULL: all).  A fact whose value is below
 * floor[kind] is built only when held() says an alert instance would take
 * it.  rules.h prepares one per poll from the rule engine.
 */
typedef struct fact_gate fact_gate;
struct fact_gate
{
	double		floor[RULE_KIND_COUNT];
	bool		(*held) (const fact_gate *g, rule_kind kind, const char *subject);
	/* true: held() says no for every subject of that kind (the node holds no such alert) */
	bool		holds_none[RULE_KIND_COUNT];
};

bool		fact_wanted(const fact_gate *g, rule_kind kind, const char *subject, double value);
/* whether fact_wanted could say yes for some subject: else the subject need not be built */
bool		fact_may_be_wanted(const fact_gate *g, rule_kind kind, double value);

fact	   *facts_add(fact_list *l, rule_kind kind, const char *subject, double value,
					  const char *summary_fmt, ...) __attribute__((format(printf, 5, 6)));
void		facts_free(fact_list *l);

/* per-node memory between polls: slow-call counters, p95 baselines */
typedef struct facts_memory facts_memory;

facts_memory *facts_memory_new(void);
void		facts_memory_free(facts_memory *m);
/* the node's ir_cron catalog (job names, housekeeping), borrowed; NULL: none */
void		facts_memory_use_crons(facts_memory *m, const cron_catalog *crons);

/*
 * A model's memory (its slow-call counter, its p95 baseline) is forgotten
 * once this many polls in a row listed models but not it, over at least
 * this many seconds (swept every 16 such polls); polls without a snapshot
 * or without models do not count.
 */
#define FACTS_FORGET_AFTER_POLLS 60
#define FACTS_FORGET_AFTER_S 900

/* entries kept now (one per database/model, one per its operation with a p95): for tests */
size_t		facts_memory_entries(const facts_memory *m);

void		facts_from_observation(const node_observation *obs, fact_list *out);
/* snap may be NULL (node without the extension) */
void		facts_from_snapshot(const OdooRetailGuard__Snapshot *snap, facts_memory *mem,
								int64_t now_us, fact_list *out);

/*
 * The same, leaving out the per-table and per-model facts (autovacuum_lag,
 * xid_age, slow_query_rate, slow_query_p95) that gate does not want, unless
 * one of the same kind and subject was kept before it in this call; the
 * memory (slow-call counters, p95 baselines) moves on for every model.
 */
void		facts_from_snapshot_gated(const OdooRetailGuard__Snapshot *snap, facts_memory *mem,
									  int64_t now_us, const fact_gate *gate, fact_list *out);

#endif
