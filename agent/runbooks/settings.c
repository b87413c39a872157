/*
 * settings.c: interpretation and validation of [runbook NAME] sections.
 */
#include "runbooks/settings.h"
#include "common/conninfo.h"
#include "common/util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct ctx
{
	const agent_cfg *cfg;
	const runbook_cfg *rb;
	config_errors *errs;
	bool		ok;
} ctx;

static void add_error(ctx *c, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
add_error(ctx *c, const char *fmt,...)
{
	va_list		ap;
	strbuf		sb,
				msg;
	int			line = c->rb->line;

	sb_init(&msg);
	va_start(ap, fmt);
	sb_vprintf(&msg, fmt, ap);
	va_end(ap);
	/* "KEY: problem" points at KEY's own line when the section has it */
	for (int i = 0; c->rb->setting_lines && i < c->rb->settings.n; i++)
	{
		size_t		n = strlen(c->rb->settings.v[i].name);

		if (!strncmp(msg.data, c->rb->settings.v[i].name, n) && msg.data[n] == ':')
			line = c->rb->setting_lines[i];
	}
	sb_init(&sb);
	sb_printf(&sb, "%s:%d: [runbook %s]: %s", c->cfg->path ? c->cfg->path : "-", line, c->rb->name, msg.data);
	sb_free(&msg);
	config_error_add(c->errs, line, sb_steal(&sb));
	c->ok = false;
}

static const char *const common_keys[] = {
	"kind", "backend", "cluster", "journal", "bin_dir", "mode", "approve_within", "announce_timeout", NULL
};
static const char *const pitr_keys[] = {
	"node", "backup_dir", "archive_dir", "restore_command", "restore_dir", "restore_port",
	"restore_socket_dir", "check_query", "target_timeline", "backup_timeout", "backup_max_rate", "archive_timeout",
	"start_timeout", "recovery_timeout", "stanza", "pgbackrest_config", "pgbackrest_bin", "data_dir",
	NULL
};
static const char *const promote_keys[] = {
	"primary", "standbys", "probes", "probe_interval", "probe_timeout", "min_dead_for",
	"max_lag_bytes", "require_sync", "fence_command", "traffic_command", "repoint",
	"catchup_timeout", "promote_timeout", "command_timeout", "rewind_timeout", NULL
};

/* backend = patroni: Patroni decides how to promote, fence and repoint */
static const char *const patroni_keys[] = {
	"patroni_url", "patroni_auth_file", "candidate", "node", "max_lag_bytes", "api_timeout",
	"promote_timeout", "probe_timeout", NULL
};

static const char *const throttle_keys[] = {
	"classes", "roles", "max_connections", "ttl", "release_after", "drain_idle_in_transaction",
	"statement_timeout", "pgbouncer_admin", "pgbouncer_db", "pgbouncer_pool_size",
	"pgbouncer_reconnect_timeout", "pgbouncer_pause_timeout", NULL
};

/* the worker classes of the extension's throttle (docs/throttle.md) */
static const char *const worker_classes[] = {"http", "cron", "queue_job", "bus", "other", NULL};

static bool
in_list(const char *const *l, const char *k)
{
	for (int i = 0; l[i]; i++)
		if (!strcmp(l[i], k))
			return true;
	return false;
}

static char *
get_str(ctx *c, const char *key, const char *dflt)
{
	const char *v = labels_get(&c->rb->settings, key);

	if (v && !*v)
	{
		add_error(c, "%s: must not be empty", key);
		return NULL;
	}
	return v ? xstrdup(v) : (dflt ? xstrdup(dflt) : NULL);
}

static char *
get_path(ctx *c, const char *key, bool required)
{
	char	   *v = get_str(c, key, NULL);

	if (!v && required && !labels_get(&c->rb->settings, key))
		add_error(c, "%s: is required", key);
	else if (v && v[0] != '/')
	{
		add_error(c, "%s: must be an absolute path", key);
		free(v);
		return NULL;
	}
	return v;
}

/*
 * Runbook durations become int seconds or milliseconds (pg_promote's wait,
 * statement_timeout, deadlines): a week bounds them with room to spare.
 */
#define RB_DURATION_MAX_S (7 * 86400.0)

static double
get_duration(ctx *c, const char *key, double dflt)
{
	const char *v = labels_get(&c->rb->settings, key);
	double		d;

	if (!v)
		return dflt;
	if (!parse_duration(v, &d) || d <= 0)
	{
		add_error(c, "%s: \"%s\" is not a positive duration (%s)", key, v, duration_unit_hint(v));
		return dflt;
	}
	if (d > RB_DURATION_MAX_S)
	{
		add_error(c, "%s: \"%s\" is out of range (at most 7d)", key, v);
		return dflt;
	}
	return d;
}

static int
get_int(ctx *c, const char *key, int dflt, int min, int max)
{
	const char *v = labels_get(&c->rb->settings, key);
	char	   *end;
	long		n;

	if (!v)
		return dflt;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
	{
		add_error(c, "%s: \"%s\" is not an integer from %d to %d", key, v, min, max);
		return dflt;
	}
	return (int) n;
}

static bool
get_bool(ctx *c, const char *key, bool dflt)
{
	const char *v = labels_get(&c->rb->settings, key);

	if (!v)
		return dflt;
	if (!strcasecmp(v, "on") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1"))
		return true;
	if (!strcasecmp(v, "off") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0"))
		return false;
	add_error(c, "%s: \"%s\" is not on or off", key, v);
	return dflt;
}

static const node_cfg *
find_node(const agent_cfg *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_nodes; i++)
		if (!strcmp(cfg->nodes[i].name, name))
			return &cfg->nodes[i];
	return NULL;
}

static const node_cfg *
get_node(ctx *c, const char *key, bool required)
{
	const char *v = labels_get(&c->rb->settings, key);
	const node_cfg *n;

	if (!v)
	{
		if (required)
			add_error(c, "%s: is required (the name of a [node] section)", key);
		return NULL;
	}
	if (!(n = find_node(c->cfg, v)))
		add_error(c, "%s: no [node %s] section", key, v);
	return n;
}

/*
 * backend = pgbackrest: the stanza names the cluster in pgBackRest's own
 * configuration, which holds the repository; backups and WAL live there,
 * so backup_dir and archive_dir have no meaning.
 */
static void
load_pitr_pgbackrest(ctx *c, rb_pitr_settings *p)
{
	static const char *const native_only[] = {"backup_dir", "archive_dir", "restore_command", NULL};

	if (labels_get(&c->rb->settings, "backup_max_rate"))
		add_error(c, "backup_max_rate: not used with backend = pgbackrest (it limits pg_basebackup, "
				  "which the native backend runs)");

	p->stanza = get_str(c, "stanza", NULL);
	if (!p->stanza && !labels_get(&c->rb->settings, "stanza"))
		add_error(c, "stanza: is required with backend = pgbackrest (the [stanza] of pgbackrest.conf)");
	p->pgbackrest_config = get_path(c, "pgbackrest_config", false);
	p->pgbackrest_bin = get_str(c, "pgbackrest_bin", RB_DEFAULT_PGBACKREST);
	for (int i = 0; native_only[i]; i++)
		if (labels_get(&c->rb->settings, native_only[i]))
			add_error(c, "%s: not used with backend = pgbackrest (the repository is set in pgbackrest.conf)",
					  native_only[i]);
}

/*
 * backup_max_rate: what pg_basebackup --max-rate takes, a size a second
 * within its range (32 kB to 1024 MB); 0 or absent: unlimited.  A base
 * backup in business hours reads the whole primary: this keeps the tills'
 * I/O.
 */
static int
get_max_rate(ctx *c)
{
	const char *v = labels_get(&c->rb->settings, "backup_max_rate");
	double		q;

	if (!v)
		return 0;
	if (!parse_size(v, &q))
	{
		add_error(c, "backup_max_rate: \"%s\" is not a size a second (%s)", v, size_unit_hint(v));
		return 0;
	}
	if (q == 0)
		return 0;
	if (q < 32 * 1024.0 || q > 1024 * 1048576.0)
	{
		add_error(c, "backup_max_rate: \"%s\" is out of pg_basebackup's range: 32kB to 1024MB a second, "
				  "or 0 for no limit", v);
		return 0;
	}
	return (int) (q / 1024);
}

static void
load_pitr(ctx *c, rb_settings *s)
{
	rb_pitr_settings *p = &s->pitr;
	const char *v;

	v = labels_get(&c->rb->settings, "backend");
	if (!v || !strcmp(v, "native"))
		p->backend = RB_PITR_NATIVE;
	else if (!strcmp(v, "pgbackrest"))
		p->backend = RB_PITR_PGBACKREST;
	else
		add_error(c, "backend: \"%s\" is not native or pgbackrest", v);
	p->node = get_node(c, "node", false);
	if (p->backend == RB_PITR_PGBACKREST)
		load_pitr_pgbackrest(c, p);
	else
	{
		p->backup_dir = get_path(c, "backup_dir", true);
		p->archive_dir = get_path(c, "archive_dir", false);
		p->restore_command = get_str(c, "restore_command", NULL);
		if (!p->archive_dir && !p->restore_command)
			add_error(c, "archive_dir: is required unless restore_command is set");
	}
	p->data_dir = get_path(c, "data_dir", false);
	p->restore_dir = get_path(c, "restore_dir", false);
	p->restore_port = get_int(c, "restore_port", 0, 1, 65535);
	p->restore_socket_dir = get_path(c, "restore_socket_dir", false);
	p->check_query = get_str(c, "check_query", NULL);
	p->target_timeline = get_str(c, "target_timeline", "latest");
	if (p->target_timeline && strcmp(p->target_timeline, "latest") && strcmp(p->target_timeline, "current") &&
		strspn(p->target_timeline, "0123456789") != strlen(p->target_timeline))
		add_error(c, "target_timeline: \"%s\" is not latest, current or a timeline number", p->target_timeline);
	p->backup_timeout_s = get_duration(c, "backup_timeout", 3600);
	p->backup_max_rate_kb = get_max_rate(c);
	p->archive_timeout_s = get_duration(c, "archive_timeout", 60);
	p->start_timeout_s = get_duration(c, "start_timeout", 60);
	p->recovery_timeout_s = get_duration(c, "recovery_timeout", 3600);
}

static int64_t
get_max_lag(ctx *c)
{
	const char *v = labels_get(&c->rb->settings, "max_lag_bytes");
	double		q;

	if (!v)
		return 1048576;
	if (!strcmp(v, "unbounded"))
		return -1;
	if (!parse_size(v, &q) || q > 9.0e18)
	{
		add_error(c, "max_lag_bytes: \"%s\" is not a size or unbounded (%s)", v, size_unit_hint(v));
		return 1048576;
	}
	return (int64_t) q;
}

static void
load_promote_patroni(ctx *c, rb_settings *s)
{
	rb_promote_settings *p = &s->promote;
	rb_patroni_settings *pt = &p->patroni;
	const char *v = labels_get(&c->rb->settings, "patroni_url");

	p->backend = RB_BACKEND_PATRONI;
	if (!v || !*v)
		add_error(c, "patroni_url: is required with backend = patroni "
				  "(REST base URLs of cluster members, comma-separated, e.g. http://127.0.0.1:8008)");
	else
	{
		char	   *copy = xstrdup(v),
				   *save = NULL;

		for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
		{
			size_t		n = strlen(tok);

			if (strncmp(tok, "http://", 7) && strncmp(tok, "https://", 8))
			{
				add_error(c, "patroni_url: \"%s\" is not an http:// or https:// URL", tok);
				continue;
			}
			while (n > 0 && tok[n - 1] == '/')
				tok[--n] = '\0';
			pt->urls = xrealloc(pt->urls, sizeof(char *) * (size_t) (pt->n_urls + 1));
			pt->urls[pt->n_urls++] = xstrdup(tok);
		}
		free(copy);
	}
	pt->auth_file = get_path(c, "patroni_auth_file", false);
	pt->candidate = get_str(c, "candidate", NULL);
	if (pt->candidate && !strcmp(pt->candidate, "auto"))
	{
		free(pt->candidate);
		pt->candidate = NULL;
	}
	pt->node = get_node(c, "node", false);
	if (!pt->node && !labels_get(&c->rb->settings, "node"))
		add_error(c, "node: is required with backend = patroni (a [node] section whose conninfo gives "
				  "the user, database and password for the write check; host and port come from Patroni)");
	p->max_lag_bytes = get_max_lag(c);
	pt->api_timeout_s = get_duration(c, "api_timeout", 5);
	p->promote_timeout_s = get_duration(c, "promote_timeout", 60);
	p->probe_timeout_s = get_duration(c, "probe_timeout", 2);
}

static void
load_promote(ctx *c, rb_settings *s)
{
	rb_promote_settings *p = &s->promote;
	const char *v;

	if ((v = labels_get(&c->rb->settings, "backend")) && !strcmp(v, "patroni"))
	{
		load_promote_patroni(c, s);
		return;
	}
	p->primary = get_node(c, "primary", true);
	if ((v = labels_get(&c->rb->settings, "standbys")))
	{
		char	   *copy = xstrdup(v),
				   *save = NULL;

		for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
		{
			const node_cfg *n = find_node(c->cfg, tok);

			if (!n)
			{
				add_error(c, "standbys: no [node %s] section", tok);
				continue;
			}
			if (n == p->primary)
			{
				add_error(c, "standbys: %s is the primary", tok);
				continue;
			}
			p->standbys = xrealloc(p->standbys, sizeof(*p->standbys) * (size_t) (p->n_standbys + 1));
			p->standbys[p->n_standbys++] = n;
		}
		free(copy);
	}
	if (p->n_standbys == 0)
		add_error(c, "standbys: is required (names of [node] sections)");
	p->probes = get_int(c, "probes", 3, 1, 100);
	p->probe_interval_s = get_duration(c, "probe_interval", 2);
	p->probe_timeout_s = get_duration(c, "probe_timeout", 2);
	p->min_dead_for_s = get_duration(c, "min_dead_for", (p->probes - 1) * p->probe_interval_s);
	p->max_lag_bytes = get_max_lag(c);
	p->require_sync = get_bool(c, "require_sync", false);
	v = labels_get(&c->rb->settings, "fence_command");
	if (!v || !*v)
		add_error(c, "fence_command: is required: a command that fences the old primary, or none");
	else if (strcmp(v, "none"))
		p->fence_command = xstrdup(v);
	p->traffic_command = get_str(c, "traffic_command", NULL);
	p->repoint = get_bool(c, "repoint", true);
	p->catchup_timeout_s = get_duration(c, "catchup_timeout", 30);
	p->promote_timeout_s = get_duration(c, "promote_timeout", 60);
	p->command_timeout_s = get_duration(c, "command_timeout", 30);
	p->rewind_timeout_s = get_duration(c, "rewind_timeout", 3600);
	for (int i = 0; i < c->rb->settings.n; i++)
	{
		const char *k = c->rb->settings.v[i].name;
		const char *dir = c->rb->settings.v[i].value;

		if (strncmp(k, "data_dir.", 9))
			continue;
		if (!find_node(c->cfg, k + 9))
			add_error(c, "%s: no [node %s] section", k, k + 9);
		else if (dir[0] != '/')
			add_error(c, "%s: must be an absolute path", k);
		else
			labels_set(&p->data_dirs, k + 9, dir);
	}
	if ((v = labels_get(&c->rb->settings, "backend")) && strcmp(v, "native"))
		add_error(c, "backend: \"%s\" is not supported (native or patroni)", v);
}

/*
 * promote and pitr propose by default: a human approves a destructive act;
 * a throttle acts at once (it only caps low-priority classes, and expires)
 */
static void
load_mode(ctx *c, rb_settings *s)
{
	const char *v = labels_get(&c->rb->settings, "mode");

	s->mode = s->kind == RB_KIND_THROTTLE ? RB_MODE_AUTO : RB_MODE_PAGE_FIRST;
	if (v && !strcmp(v, "auto"))
		s->mode = RB_MODE_AUTO;
	else if (v && !strcmp(v, "page-first"))
		s->mode = RB_MODE_PAGE_FIRST;
	else if (v)
		add_error(c, "mode: \"%s\" is not auto or page-first", v);
	s->approve_within_s = get_duration(c, "approve_within", 1800);
	s->announce_timeout_s = get_duration(c, "announce_timeout", 10);
}

static const char *
nz_str(const char *s)
{
	return s ? s : "";
}

static void
add_target(ctx *c, rb_throttle_settings *t, const char *worker_class, const char *role, int dflt)
{
	const char *name = worker_class ? worker_class : role;
	char	   *key = xasprintf("max_connections.%s", name);
	rb_throttle_target *tg;

	for (int i = 0; i < t->n_targets; i++)
		if (!strcmp(worker_class ? nz_str(t->targets[i].worker_class) : nz_str(t->targets[i].role), name))
		{
			add_error(c, "%s: %s is listed twice", worker_class ? "classes" : "roles", name);
			free(key);
			return;
		}
	if (t->n_targets == RB_THROTTLE_MAX_TARGETS)
	{
		add_error(c, "classes, roles: more than %d in all", RB_THROTTLE_MAX_TARGETS);
		free(key);
		return;
	}
	t->targets = xrealloc(t->targets, sizeof(*t->targets) * (size_t) (t->n_targets + 1));
	tg = &t->targets[t->n_targets++];
	tg->worker_class = worker_class ? xstrdup(worker_class) : NULL;
	tg->role = role ? xstrdup(role) : NULL;
	tg->max_connections = get_int(c, key, dflt, 0, 100000);
	free(key);
	/* the extension keeps rule names in a NAMEDATALEN buffer */
	key = rb_throttle_rule_name(c->rb->name, tg);
	if (strlen(key) > 63)
		add_error(c, "%s: the rule name %s would be longer than 63 bytes; shorten the section's name",
				  worker_class ? "classes" : "roles", key);
	free(key);
}

static void
load_throttle(ctx *c, rb_settings *s)
{
	rb_throttle_settings *t = &s->throttle;
	const char *classes = labels_get(&c->rb->settings, "classes");
	const char *roles = labels_get(&c->rb->settings, "roles");
	int			dflt = get_int(c, "max_connections", 2, 0, 100000);
	char	   *copy,
			   *save = NULL;

	copy = xstrdup(classes ? classes : "cron, queue_job");
	for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
	{
		if (!in_list(worker_classes, tok))
			add_error(c, "classes: \"%s\" is not a worker class (http, cron, queue_job, bus, other)", tok);
		else
			add_target(c, t, tok, NULL, dflt);
	}
	free(copy);
	copy = xstrdup(roles ? roles : "");
	save = NULL;
	for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
		add_target(c, t, NULL, tok, dflt);
	free(copy);
	if (t->n_targets == 0)
		add_error(c, "classes: nothing to throttle (set classes or roles)");
	for (int i = 0; i < c->rb->settings.n; i++)
	{
		const char *k = c->rb->settings.v[i].name;
		bool		known = false;

		if (strncmp(k, "max_connections.", 16))
			continue;
		for (int j = 0; j < t->n_targets; j++)
			if (!strcmp(k + 16, t->targets[j].worker_class ? t->targets[j].worker_class : t->targets[j].role))
				known = true;
		if (!known)
			add_error(c, "%s: %s is not in classes or roles", k, k + 16);
	}
	t->ttl_s = get_duration(c, "ttl", 300);
	t->release_after_s = get_duration(c, "release_after", 120);
	t->drain_idle_in_transaction_s = get_duration(c, "drain_idle_in_transaction", 0);
	if (t->drain_idle_in_transaction_s > 0 && t->drain_idle_in_transaction_s < 1)
		add_error(c, "drain_idle_in_transaction: must be at least 1s");
	if (t->ttl_s < 2)
		add_error(c, "ttl: must be at least 2s (it is renewed when half spent)");
	t->statement_timeout_s = get_duration(c, "statement_timeout", 5);
	t->pgbouncer_admin = get_str(c, "pgbouncer_admin", NULL);
	t->pgbouncer_db = get_str(c, "pgbouncer_db", NULL);
	t->pgbouncer_pool_size = get_int(c, "pgbouncer_pool_size", 0, 1, 100000);
	if (t->pgbouncer_admin && (!t->pgbouncer_db || !t->pgbouncer_pool_size))
		add_error(c, "pgbouncer_admin: needs pgbouncer_db and pgbouncer_pool_size");
	if (!t->pgbouncer_admin && (t->pgbouncer_db || labels_get(&c->rb->settings, "pgbouncer_pool_size")))
		add_error(c, "pgbouncer_db, pgbouncer_pool_size: need pgbouncer_admin");
	if (t->pgbouncer_admin && conninfo_password_problem(t->pgbouncer_admin))
		add_error(c, "pgbouncer_admin: %s", conninfo_password_problem(t->pgbouncer_admin));
	/* past RECONNECT's timeout PAUSE, past PAUSE's KILL: both are waited for inside the poll */
	t->pgbouncer_reconnect_timeout_s = get_duration(c, "pgbouncer_reconnect_timeout", 2);
	t->pgbouncer_pause_timeout_s = get_duration(c, "pgbouncer_pause_timeout", 5);
	if (t->pgbouncer_reconnect_timeout_s > 60 || t->pgbouncer_pause_timeout_s > 60)
		add_error(c, "pgbouncer_reconnect_timeout, pgbouncer_pause_timeout: at most 60s (the agent waits for them)");
	if (labels_get(&c->rb->settings, "backend"))
		add_error(c, "backend: not a setting of a throttle runbook");
}

bool
rb_settings_load(const agent_cfg *cfg, const runbook_cfg *rb, rb_settings *s, config_errors *errs)
{
	ctx			c = {cfg, rb, errs, true};
	const char *kind = labels_get(&rb->settings, "kind");

	memset(s, 0, sizeof(*s));
	s->name = xstrdup(rb->name);
	s->line = rb->line;
	if (!kind)
		kind = rb->name;
	if (!strcmp(kind, "pitr"))
		s->kind = RB_KIND_PITR;
	else if (!strcmp(kind, "promote"))
		s->kind = RB_KIND_PROMOTE;
	else if (!strcmp(kind, "throttle"))
		s->kind = RB_KIND_THROTTLE;
	else
	{
		add_error(&c, "kind: \"%s\" is not pitr, promote or throttle", kind);
		return false;
	}
	for (int i = 0; i < rb->settings.n; i++)
	{
		const char *k = rb->settings.v[i].name;
		const char *backend = labels_get(&rb->settings, "backend");

		if (s->kind == RB_KIND_PROMOTE && backend && !strcmp(backend, "patroni"))
		{
			if (in_list(common_keys, k) || in_list(patroni_keys, k))
				continue;
			if (in_list(promote_keys, k) || !strncmp(k, "data_dir.", 9))
				add_error(&c, "%s: is a setting of the native backend; with backend = patroni, "
						  "Patroni fences, promotes and repoints (remove it)", k);
			else
				add_error(&c, "%s: unknown setting for a promote runbook with backend = patroni", k);
			continue;
		}
		if (s->kind == RB_KIND_PROMOTE && !strncmp(k, "data_dir.", 9))
			continue;
		if (s->kind == RB_KIND_PROMOTE && in_list(patroni_keys, k) && !in_list(promote_keys, k))
		{
			add_error(&c, "%s: is a setting of backend = patroni (this runbook's backend is native)", k);
			continue;
		}
		if (s->kind == RB_KIND_THROTTLE && !strncmp(k, "max_connections.", 16))
			continue;
		if (!in_list(common_keys, k) &&
			!in_list(s->kind == RB_KIND_PITR ? pitr_keys :
					 s->kind == RB_KIND_PROMOTE ? promote_keys : throttle_keys, k))
			add_error(&c, "%s: unknown setting for a %s runbook", k, kind);
	}
	s->journal = get_path(&c, "journal", false);
	if (!s->journal && !labels_get(&rb->settings, "journal"))
		s->journal = xstrdup(RB_DEFAULT_JOURNAL);
	s->bin_dir = get_path(&c, "bin_dir", false);
	if (!s->bin_dir && !labels_get(&rb->settings, "bin_dir"))
		s->bin_dir = xstrdup(RB_DEFAULT_BINDIR);
	load_mode(&c, s);
	if (s->kind == RB_KIND_PITR)
		load_pitr(&c, s);
	else if (s->kind == RB_KIND_PROMOTE)
		load_promote(&c, s);
	else
		load_throttle(&c, s);
	s->cluster = get_str(&c, "cluster", NULL);
	if (!s->cluster)
	{
		const node_cfg *n = s->kind == RB_KIND_PITR ? s->pitr.node
			: s->kind != RB_KIND_PROMOTE ? NULL
			: s->promote.backend == RB_BACKEND_PATRONI ? s->promote.patroni.node : s->promote.primary;

		s->cluster = xstrdup(n && n->cluster ? n->cluster : rb->name);
	}
	return c.ok;
}

void
rb_settings_free(rb_settings *s)
{
	free(s->name);
	free(s->cluster);
	free(s->journal);
	free(s->bin_dir);
	free(s->pitr.backup_dir);
	free(s->pitr.archive_dir);
	free(s->pitr.restore_command);
	free(s->pitr.restore_dir);
	free(s->pitr.restore_socket_dir);
	free(s->pitr.check_query);
	free(s->pitr.target_timeline);
	free(s->pitr.stanza);
	free(s->pitr.pgbackrest_config);
	free(s->pitr.pgbackrest_bin);
	free(s->pitr.data_dir);
	free(s->promote.standbys);
	free(s->promote.fence_command);
	free(s->promote.traffic_command);
	labels_free(&s->promote.data_dirs);
	for (int i = 0; i < s->promote.patroni.n_urls; i++)
		free(s->promote.patroni.urls[i]);
	free(s->promote.patroni.urls);
	free(s->promote.patroni.auth_file);
	free(s->promote.patroni.candidate);
	for (int i = 0; i < s->throttle.n_targets; i++)
	{
		free(s->throttle.targets[i].worker_class);
		free(s->throttle.targets[i].role);
	}
	free(s->throttle.targets);
	free(s->throttle.pgbouncer_admin);
	free(s->throttle.pgbouncer_db);
	memset(s, 0, sizeof(*s));
}

static const char *
kind_name(rb_kind kind)
{
	return kind == RB_KIND_PITR ? "pitr" : kind == RB_KIND_PROMOTE ? "promote" : "throttle";
}

static bool
kind_of(const runbook_cfg *rb, rb_kind kind)
{
	const char *k = labels_get(&rb->settings, "kind");

	if (!k)
		k = rb->name;
	return !strcmp(k, kind_name(kind));
}

const runbook_cfg *
rb_settings_find(const agent_cfg *cfg, const char *name, rb_kind kind, char *err, size_t errlen)
{
	const runbook_cfg *found = NULL;
	const char *kn = kind_name(kind);

	for (int i = 0; i < cfg->n_runbooks; i++)
	{
		const runbook_cfg *rb = &cfg->runbooks[i];

		if (name)
		{
			if (strcmp(rb->name, name))
				continue;
			if (!kind_of(rb, kind))
			{
				snprintf(err, errlen, "[runbook %s] is not a %s runbook", name, kn);
				return NULL;
			}
			return rb;
		}
		if (kind_of(rb, kind))
		{
			if (found)
			{
				snprintf(err, errlen, "several %s runbooks are configured; name one", kn);
				return NULL;
			}
			found = rb;
		}
	}
	if (!found)
		snprintf(err, errlen, name ? "no [runbook %s] section" : "no %s runbook is configured",
				 name ? name : kn);
	return found;
}

bool
rb_settings_check_all(const agent_cfg *cfg, config_errors *errs)
{
	bool		ok = true;

	for (int i = 0; i < cfg->n_runbooks; i++)
	{
		rb_settings s;

		if (!rb_settings_load(cfg, &cfg->runbooks[i], &s, errs))
			ok = false;
		rb_settings_free(&s);
	}
	return ok;
}

char *
rb_throttle_rule_name(const char *runbook, const rb_throttle_target *t)
{
	return t->worker_class ? xasprintf("orguard_%s_%s", runbook, t->worker_class)
		: xasprintf("orguard_%s_role_%s", runbook, t->role);
}
