/*
 * rules.h: the alert state machine.  Each (rule, node, subject) is one
 * alert instance that moves inactive -> pending -> firing -> resolved like
 * a Prometheus alerting rule, with a lower clear threshold (hysteresis),
 * keep_firing_for, re-notification, flap suppression and schedules that
 * raise severity or mute non-critical alerts.  Pure: time is an argument.
 *
 * Instances are keyed by their deduplication key, so reloading the
 * configuration keeps the state of every alert whose rule still exists.
 */
#ifndef ORGUARD_RULES_H
#define ORGUARD_RULES_H

#include "alert/alert.h"
#include "common/config.h"
#include "alert/facts.h"

typedef struct rule_engine rule_engine;

rule_engine *rules_new(void);
void		rules_free(rule_engine *re);

/*
 * Evaluates the facts of one poll of one node; subjects with no fact this
 * time count as below their thresholds.  Appends notifications to out.
 */
void		rules_eval_node(rule_engine *re, const agent_cfg *cfg, const node_cfg *node,
							const fact_list *facts, int64_t now_us, event_list *out);
/*
 * The same for a poll that did not ask the node (it is backing off): only
 * the given facts (its cluster's) are evaluated; the node's other alerts
 * stay as they are, pending ones with their start, until a poll that asks.
 */
void		rules_eval_node_unasked(rule_engine *re, const agent_cfg *cfg, const node_cfg *node,
									const fact_list *facts, int64_t now_us, event_list *out);

/*
 * The fact gate of one node's poll (facts.h), prepared just before its
 * facts are built: a fact whose value is below the threshold and the clear
 * level of every enabled rule of its kind, and that no alert instance
 * would take, changes nothing in rules_eval_node, so it need not be built.
 * An instance does take such a fact: its value is the one a resolution
 * reports.  Valid until the engine or the configuration changes.
 */
typedef struct rules_gate
{
	fact_gate	gate;			/* first: what facts_from_snapshot_gated is given */
	const rule_engine *re;
	const agent_cfg *cfg;
	const node_cfg *node;
	uint64_t	prefix_hash;	/* of the keys' "cluster/node/" */
	size_t		prefix_len;
	bool		prefix_plain;	/* cluster and node are valid UTF-8 */
} rules_gate;

void		rules_gate_init(rules_gate *g, const rule_engine *re, const agent_cfg *cfg,
							const node_cfg *node);
bool		rules_fact_wanted(const rules_gate *g, rule_kind kind, const char *subject, double value);

/* instances walked by evaluations so far: what one node's evaluation costs (tests, benchmarks) */
uint64_t	rules_visits(const rule_engine *re);

/* after a reload: resolves alerts whose node or rule is gone or disabled */
void		rules_reconcile(rule_engine *re, const agent_cfg *cfg, int64_t now_us, event_list *out);

/*
 * The firing alerts the receivers were told of, as notifications again (no
 * state changes): for receivers that forget an alert unless it is re-posted
 * (Alertmanager's endsAt), whatever the rule's renotify says.
 */
void		rules_firing(const rule_engine *re, const agent_cfg *cfg, int64_t now_us,
						 event_list *out);

/*
 * A notification of the latest evaluation could not be written to the
 * spool (disk full): the alert is left as if it had not been sent, so the
 * next evaluation sends it again.  A resolution is kept and sent again
 * before anything newer.
 */
void		rules_spool_failed(rule_engine *re, const alert_event *ev);

/*
 * The whole state (pending and firing alerts, the labels they fired with,
 * flap history, owed resolutions) as JSON, and back into an empty engine,
 * so that a restarted agent continues the same alerts.  rules_from_json
 * keeps what it could read and returns false with *err (malloc'd) when
 * anything was malformed.
 */
char	   *rules_to_json(const rule_engine *re);
bool		rules_from_json(rule_engine *re, const char *json, char **err);

typedef struct rule_counts
{
	int			pending;
	int			firing;
} rule_counts;

/* per-rule counts for metrics; rule name NULL counts all */
rule_counts rules_count(const rule_engine *re, const char *rule);

/* effective severity of a rule at a time (schedules applied) */
severity	rules_effective_severity(const rule_cfg *r, int64_t now_us);
bool		rules_muted(const rule_cfg *r, severity sev, int64_t now_us);

#endif
