/*
 * settings.h: the settings of [runbook NAME] sections, interpreted and
 * validated here (config.c keeps them as plain name = value pairs).
 *
 * Every runbook section has a kind (pitr, promote or throttle; by default
 * the section's name).  Errors read "file:line: [runbook NAME]: key: problem",
 * the line being the key's (the section header's for a missing key).
 */
#ifndef ORGUARD_RB_SETTINGS_H
#define ORGUARD_RB_SETTINGS_H

#include "common/config.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum rb_kind
{
	RB_KIND_PITR,
	RB_KIND_PROMOTE,
	RB_KIND_THROTTLE
} rb_kind;

/* auto: act at once; page-first: page the plan and wait for an approval */
typedef enum rb_mode
{
	RB_MODE_AUTO,
	RB_MODE_PAGE_FIRST
} rb_mode;

#define RB_DEFAULT_JOURNAL "/var/lib/odoo-retail-guard/runbooks.journal"
#define RB_DEFAULT_BINDIR "/usr/lib/postgresql/15/bin"

typedef enum rb_pitr_backend
{
	RB_PITR_NATIVE,				/* pg_basebackup + archive directory */
	RB_PITR_PGBACKREST			/* a pgBackRest stanza */
} rb_pitr_backend;

#define RB_DEFAULT_PGBACKREST "pgbackrest"

typedef struct rb_pitr_settings
{
	const node_cfg *node;		/* the source cluster (backups, archive check, events) */
	char	   *backup_dir;
	char	   *archive_dir;
	char	   *restore_command;	/* default: cp from archive_dir */
	char	   *restore_dir;	/* side-by-side data directory (or --restore-dir) */
	int			restore_port;	/* 0: --restore-port must say */
	char	   *restore_socket_dir; /* default: restore_dir's parent */
	char	   *check_query;	/* must return true on the restored node */
	char	   *target_timeline;
	double		backup_timeout_s;
	int			backup_max_rate_kb; /* pg_basebackup --max-rate, kB/s; 0: unlimited */
	double		archive_timeout_s;
	double		start_timeout_s;
	double		recovery_timeout_s;
	rb_pitr_backend backend;
	char	   *stanza;			/* pgbackrest: --stanza */
	char	   *pgbackrest_config;	/* pgbackrest: --config (NULL: its default) */
	char	   *pgbackrest_bin;	/* pgbackrest: the program (default: from PATH) */
	char	   *data_dir;		/* the source's data directory, for --in-place */
} rb_pitr_settings;

typedef enum rb_backend
{
	RB_BACKEND_NATIVE,
	RB_BACKEND_PATRONI			/* promote: Patroni's REST API performs it */
} rb_backend;

/* backend = patroni: the agent asks Patroni, which holds the leader lock */
typedef struct rb_patroni_settings
{
	char	  **urls;			/* REST base URLs of members, tried in order */
	int			n_urls;
	char	   *auth_file;		/* "user:password" for basic auth, or NULL */
	char	   *candidate;		/* a member name; NULL: choose */
	const node_cfg *node;		/* credentials for the write check on the new leader */
	double		api_timeout_s;	/* one REST call (POST waits promote_timeout) */
} rb_patroni_settings;

typedef struct rb_promote_settings
{
	const node_cfg *primary;
	const node_cfg **standbys;
	int			n_standbys;
	int			probes;
	double		probe_interval_s;
	double		probe_timeout_s;
	double		min_dead_for_s;
	int64_t		max_lag_bytes;	/* -1: unbounded */
	bool		require_sync;
	char	   *fence_command;	/* NULL when fence_command = none */
	char	   *traffic_command;
	bool		repoint;
	double		catchup_timeout_s;
	double		promote_timeout_s;
	double		command_timeout_s;
	labelset	data_dirs;		/* data_dir.NODE = /path, for rejoin (local nodes) */
	double		rewind_timeout_s;
	rb_backend	backend;
	rb_patroni_settings patroni;
} rb_promote_settings;

/* the connection throttle, run by the daemon when a rule naming it fires */
#define RB_THROTTLE_MAX_TARGETS 16
typedef struct rb_throttle_target
{
	char	   *worker_class;	/* http, cron, queue_job, bus or other; NULL for a role */
	char	   *role;			/* a login role; NULL for a class */
	int			max_connections;
} rb_throttle_target;

typedef struct rb_throttle_settings
{
	rb_throttle_target *targets;	/* classes in their order, then roles */
	int			n_targets;
	double		ttl_s;			/* of the extension's rules, renewed while firing */
	double		release_after_s;	/* triggering alerts resolved this long */
	double		drain_idle_in_transaction_s;	/* 0: no drain */
	double		statement_timeout_s;
	char	   *pgbouncer_admin;	/* conninfo of pgbouncer's admin console, or NULL */
	char	   *pgbouncer_db;	/* the pgbouncer database to cap */
	int			pgbouncer_pool_size;
	double		pgbouncer_reconnect_timeout_s;	/* RECONNECT's cap to hold, else PAUSE */
	double		pgbouncer_pause_timeout_s;	/* PAUSE to complete, else KILL */
} rb_throttle_settings;

typedef struct rb_settings
{
	char	   *name;
	rb_kind		kind;
	char	   *cluster;		/* one runbook at a time per cluster */
	char	   *journal;
	char	   *bin_dir;
	int			line;
	rb_mode		mode;			/* default: page-first for promote and pitr, auto for throttle */
	double		approve_within_s;	/* a proposal older than this expires */
	double		announce_timeout_s; /* the CLI waits this long for its pages */
	rb_pitr_settings pitr;
	rb_promote_settings promote;
	rb_throttle_settings throttle;
} rb_settings;

/* false with errors appended (as in config_errors) when invalid */
bool		rb_settings_load(const agent_cfg *cfg, const runbook_cfg *rb, rb_settings *out,
							 config_errors *errs);
void		rb_settings_free(rb_settings *s);
/* the runbook section called name, or the only one of kind when name is NULL */
const runbook_cfg *rb_settings_find(const agent_cfg *cfg, const char *name, rb_kind kind,
									char *err, size_t errlen);
/* the rule names the throttle runbook sets in the extension, e.g. orguard_throttle_cron */
char	   *rb_throttle_rule_name(const char *runbook, const rb_throttle_target *t);
/* checks every [runbook] section of cfg */
bool		rb_settings_check_all(const agent_cfg *cfg, config_errors *errs);

#endif
