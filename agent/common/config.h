/*
 * config.h: the parsed agent.conf.  config_load() reads and validates the
 * whole file and collects every error as "file:line: message"; secrets are
 * read from files or the environment and never appear in those messages.
 */
#ifndef ORGUARD_CONFIG_H
#define ORGUARD_CONFIG_H

#include "common/log.h"
#include "common/schedule.h"
#include "common/util.h"

#include <stdbool.h>

typedef enum rule_kind
{
	RULE_LOCK_WAIT,
	RULE_BLOCKING_CHAIN,
	RULE_IDLE_IN_TRANSACTION,
	RULE_AUTOVACUUM_LAG,
	RULE_XID_AGE,
	RULE_VACUUM_HORIZON,
	RULE_REPLICATION_LAG_BYTES,
	RULE_REPLICATION_LAG_SECONDS,
	RULE_STANDBY_DISCONNECTED,
	RULE_INACTIVE_SLOT,
	RULE_SLOW_QUERY_RATE,
	RULE_SLOW_QUERY_P95,
	RULE_CONNECTION_USAGE,
	RULE_NODE_UNREACHABLE,
	RULE_DESTRUCTIVE_EVENT,
	RULE_TWO_PRIMARIES,
	RULE_CRON_JOB_RUNTIME,
	RULE_KIND_COUNT
} rule_kind;

typedef enum severity
{
	SEV_INFO,
	SEV_WARNING,
	SEV_ERROR,
	SEV_CRITICAL
} severity;

const char *severity_name(severity s);
const char *rule_kind_name(rule_kind k);

typedef struct node_cfg
{
	char	   *name;
	char	   *conninfo;		/* never holds a password */
	char	   *cluster;
	char	   *password;		/* secret, from password_file/password_env */
	labelset	tags;			/* store, region, brand, tag.* */
	int			line;
} node_cfg;

typedef enum pager_kind
{
	PAGER_PAGERDUTY,
	PAGER_ALERTMANAGER,
	PAGER_WEBHOOK
} pager_kind;

typedef struct pager_cfg
{
	char	   *name;
	pager_kind	kind;
	char	   *url;
	char	   *secret;			/* routing key (pagerduty), HMAC key (webhook) */
	double		timeout_s;
	double		rate_per_min;	/* 0: unlimited */
	double		backoff_initial_s;
	double		backoff_max_s;
	bool		tls_verify;
	char	   *ca_file;
	severity	min_severity;
	double		alert_ttl_s;	/* alertmanager: endsAt of a firing alert */
	int			line;
} pager_cfg;

typedef struct rule_cfg
{
	char	   *name;			/* alertname; a valid label name */
	rule_kind	kind;
	bool		enabled;
	double		threshold;
	double		clear;			/* firing clears below this (hysteresis) */
	double		for_s;
	double		keep_firing_for_s;
	double		renotify_s;		/* 0: never */
	int			flap_count;		/* fires within flap_window that make it flap */
	double		flap_window_s;
	severity	sev;
	labelset	labels;
	char	  **pagers;			/* NULL: every pager */
	int			n_pagers;
	schedule	raise_during;
	severity	raise_severity;
	schedule	mute_during;	/* mutes rules below critical */
	severity	housekeeping_sev;	/* destructive_event: Odoo's scheduled housekeeping */
	char	   *runbook;		/* [runbook NAME] started when it fires, or NULL */
	int			line;
} rule_cfg;

typedef struct runbook_cfg
{
	char	   *name;
	labelset	settings;		/* kept for the runbooks; not interpreted here */
	int		   *setting_lines;	/* the line of each of settings.v, for file:line errors */
	int			line;
} runbook_cfg;

typedef struct agent_cfg
{
	char	   *path;
	double		interval_s;
	double		node_timeout_s;
	double		statement_timeout_s;
	double		lock_timeout_s;
	double		reconnect_max_s;
	char	   *spool_dir;
	char	   *listen;			/* host:port, "" = off */
	char	   *listen_tls_cert_file;	/* PEM; NULL: plain HTTP */
	char	   *listen_tls_key_file;
	char	   *listen_users_file;	/* basic auth users; NULL: none */
	bool		insecure_listen;	/* a non-loopback listener without TLS and auth */
	log_format	log_fmt;
	log_level	log_lvl;
	int			top_n;
	char	   *remote_write_url;
	double		remote_write_timeout_s;
	/* remote write authentication and TLS (the secrets from _file or _env) */
	char	   *remote_write_username;
	char	   *remote_write_password;
	char	   *remote_write_bearer_token;
	labelset	remote_write_headers;	/* extra request headers, name -> value */
	char	   *remote_write_ca_file;
	char	   *remote_write_cert_file;
	char	   *remote_write_key_file;
	bool		remote_write_tls_verify;
	labelset	external_labels;
	bool		snapshot_deltas;	/* delta snapshots between full ones */
	double		full_snapshot_every_s;	/* a full snapshot at least this often */
	char	   *runbook_base_url;	/* an alert's runbook_url is this#<rule kind> */
	double		healthz_pager_stuck_s;	/* /healthz fails when a pager cannot deliver for this long */

	node_cfg   *nodes;
	int			n_nodes;
	pager_cfg  *pagers;
	int			n_pagers;
	rule_cfg   *rules;			/* the built-in pack with overrides, then custom rules */
	int			n_rules;
	runbook_cfg *runbooks;
	int			n_runbooks;
} agent_cfg;

/* errors in file order: msg[i] is printed as is, line[i] (0: none) orders it */
typedef struct config_errors
{
	char	  **msg;
	int		   *line;
	int			n;
} config_errors;

#define ORGUARD_DEFAULT_RUNBOOK_BASE_URL "file:///usr/share/doc/odoo-retail-guard-agent/rules.md"

/* appends msg (taken over) found at line (0 when it has none) */
void		config_error_add(config_errors *errs, int line, char *msg);

#define ORGUARD_DEFAULT_CONFIG "/etc/odoo-retail-guard/agent.conf"

/* reads path; returns true when the configuration is valid */
bool		config_load(const char *path, agent_cfg *cfg, config_errors *errs);
/* parses text as if read from path (for tests) */
bool		config_parse(const char *path, const char *text, agent_cfg *cfg, config_errors *errs);
void		config_free(agent_cfg *cfg);
/* one node's settings: a deep copy, and its freeing (the password wiped) */
void		node_cfg_copy(node_cfg *dst, const node_cfg *src);
void		node_cfg_free(node_cfg *c);
void		config_errors_free(config_errors *errs);

const rule_cfg *config_rule(const agent_cfg *cfg, const char *name);
const pager_cfg *config_pager(const agent_cfg *cfg, const char *name);

/* "10s", "500ms", "2m" or "2min" (minutes), "1h", "1d", "5" (seconds); false when malformed */
bool		parse_duration(const char *s, double *out);
/* bytes: "0", "512kB", "64MB", "1GB", "1TB" (kb, mb, gb, tb too); never "m" */
bool		parse_size(const char *s, double *out);
/* a plain number, or a percentage "80%" (as 80) */
bool		parse_number(const char *s, double *out);
/* a number, a duration (seconds) or a size (bytes); the ambiguous "m" is refused */
bool		parse_quantity(const char *s, double *out);
/* what to write instead, for the error about a value that is not a size or duration */
const char *size_unit_hint(const char *s);
const char *duration_unit_hint(const char *s);

#endif
