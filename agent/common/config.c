/*
 * config.c: agent.conf parsing and validation (no I/O beyond reading the
 * file and the secret files it names).
 *
 * The file is first read into sections of entries with their line numbers,
 * then interpreted, so that the order of keys inside a section does not
 * matter and every error can name file:line.  Rules start from the built-in
 * Odoo retail pack; a [rule NAME] section either overrides a built-in rule
 * of that name or, with kind = ..., adds a rule of a built-in kind.
 */
#include "common/config.h"
#include "common/conninfo.h"
#include "common/files.h"
#include "common/ini.h"
#include "common/listen_addr.h"
#include "common/web_auth.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct entry
{
	char	   *key;
	char	   *value;
	int			line;
	bool		used;
} entry;

typedef struct section
{
	char	   *kind;			/* agent, node, pager, rule, runbook */
	char	   *name;			/* "" for [agent] */
	int			line;
	entry	   *e;
	int			n;
} section;

typedef struct parse_state
{
	const char *path;
	char	   *dir;			/* for relative secret file paths */
	section    *s;
	int			n;
	config_errors *errs;
} parse_state;

typedef struct builtin_rule
{
	const char *name;
	rule_kind	kind;
	double		threshold;
	double		clear;
	double		for_s;
	double		keep_firing_for_s;
	severity	sev;
	const char *summary_unit;
} builtin_rule;

/* the Odoo retail rule pack: thresholds chosen for a busy store database */
static const builtin_rule builtin_rules[RULE_KIND_COUNT] = {
	{"lock_wait", RULE_LOCK_WAIT, 30, 20, 0, 0, SEV_WARNING, "s"},
	{"blocking_chain", RULE_BLOCKING_CHAIN, 3, 2, 30, 0, SEV_WARNING, ""},
	{"idle_in_transaction", RULE_IDLE_IN_TRANSACTION, 300, 240, 0, 0, SEV_WARNING, "s"},
	{"autovacuum_lag", RULE_AUTOVACUUM_LAG, 3600, 1800, 0, 0, SEV_WARNING, "s"},
	{"xid_age", RULE_XID_AGE, 1000000000, 900000000, 0, 0, SEV_ERROR, ""},
	{"vacuum_horizon", RULE_VACUUM_HORIZON, 3600, 3000, 0, 0, SEV_WARNING, "s"},
	{"replication_lag_bytes", RULE_REPLICATION_LAG_BYTES, 1073741824.0, 536870912.0, 120, 0, SEV_WARNING, "B"},
	{"replication_lag_seconds", RULE_REPLICATION_LAG_SECONDS, 300, 120, 120, 0, SEV_WARNING, "s"},
	{"standby_disconnected", RULE_STANDBY_DISCONNECTED, 1, 1, 60, 0, SEV_CRITICAL, ""},
	{"inactive_slot", RULE_INACTIVE_SLOT, 1073741824.0, 536870912.0, 300, 0, SEV_WARNING, "B"},
	{"slow_query_rate", RULE_SLOW_QUERY_RATE, 30, 20, 300, 0, SEV_WARNING, "/min"},
	{"slow_query_p95", RULE_SLOW_QUERY_P95, 3, 2, 300, 0, SEV_WARNING, "x"},
	{"connection_usage", RULE_CONNECTION_USAGE, 80, 70, 60, 0, SEV_WARNING, "%"},
	{"node_unreachable", RULE_NODE_UNREACHABLE, 1, 1, 30, 0, SEV_CRITICAL, ""},
	{"destructive_event", RULE_DESTRUCTIVE_EVENT, 1, 1, 0, 900, SEV_CRITICAL, ""},
	/* value: nodes of one cluster answering as primary at once (split brain) */
	{"two_primaries", RULE_TWO_PRIMARIES, 2, 2, 0, 0, SEV_CRITICAL, ""},
	/* an Odoo job's run time: a scheduler run or a mass mailing takes minutes, an hour at most */
	{"cron_job_runtime", RULE_CRON_JOB_RUNTIME, 7200, 6000, 0, 0, SEV_WARNING, "s"},
};

static const char *const severity_names[] = {"info", "warning", "error", "critical"};

const char *
severity_name(severity s)
{
	return severity_names[s];
}

const char *
rule_kind_name(rule_kind k)
{
	return builtin_rules[k].name;
}

static void
add_error(parse_state *ps, int line, const char *fmt, ...)
{
	strbuf		sb;
	va_list		ap;

	sb_init(&sb);
	if (line > 0)
		sb_printf(&sb, "%s:%d: ", ps->path, line);
	else
		sb_printf(&sb, "%s: ", ps->path);
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	config_error_add(ps->errs, line, sb_steal(&sb));
}

void
config_error_add(config_errors *errs, int line, char *msg)
{
	errs->msg = xrealloc(errs->msg, sizeof(char *) * (size_t) (errs->n + 1));
	errs->line = xrealloc(errs->line, sizeof(int) * (size_t) (errs->n + 1));
	errs->msg[errs->n] = msg;
	errs->line[errs->n] = line;
	errs->n++;
}

/*
 * Units are never ambiguous: a duration key takes durations only, a size
 * key sizes only, and "m" (minutes in a duration) is no size unit, so
 * "max_lag_bytes = 1m" is an error rather than 60 bytes or a megabyte.
 */

/* the number at the start of s and where its unit starts (blanks skipped) */
static bool
number_and_unit(const char *s, double *v, const char **unit)
{
	char	   *end;

	errno = 0;
	*v = strtod(s, &end);
	if (end == s || errno || !isfinite(*v) || isspace((unsigned char) *s))
		return false;
	while (*end == ' ')
		end++;
	*unit = end;
	return true;
}

bool
parse_duration(const char *s, double *out)
{
	const char *u;
	double		v;

	if (!number_and_unit(s, &v, &u) || v < 0)
		return false;
	if (*u == '\0' || strcmp(u, "s") == 0)
		*out = v;
	else if (strcmp(u, "ms") == 0)
		*out = v / 1000.0;
	else if (strcmp(u, "m") == 0 || strcmp(u, "min") == 0)
		*out = v * 60;
	else if (strcmp(u, "h") == 0)
		*out = v * 3600;
	else if (strcmp(u, "d") == 0)
		*out = v * 86400;
	else
		return false;
	/* "1e308d" overflows to infinity: no caller can use that */
	return isfinite(*out);
}

bool
parse_size(const char *s, double *out)
{
	static const struct
	{
		const char *unit;
		double		factor;
	}			units[] = {
		{"", 1}, {"B", 1}, {"kB", 1024.0}, {"MB", 1048576.0}, {"GB", 1073741824.0},
		{"TB", 1099511627776.0},
	};
	const char *u;
	double		v;

	if (!number_and_unit(s, &v, &u) || v < 0)
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		/* kb, mb, KB...: case does not matter once the B is there */
		if (i < 2 ? strcmp(u, units[i].unit) == 0 : strcasecmp(u, units[i].unit) == 0)
		{
			*out = v * units[i].factor;
			/* a size is a count of bytes: "1.5B" is a typo */
			return isfinite(*out) && *out == floor(*out);
		}
	return false;
}

bool
parse_number(const char *s, double *out)
{
	const char *u;
	double		v;

	if (!number_and_unit(s, &v, &u) || (*u && strcmp(u, "%") != 0))
		return false;
	*out = v;
	return true;
}

bool
parse_quantity(const char *s, double *out)
{
	const char *u;
	double		v;

	/* "m" is minutes or mega: refused where either could be meant */
	if (number_and_unit(s, &v, &u) && strcmp(u, "m") == 0)
		return false;
	return parse_number(s, out) || parse_duration(s, out) || parse_size(s, out);
}

const char *
size_unit_hint(const char *s)
{
	const char *u;
	double		v;

	if (!number_and_unit(s, &v, &u))
		return "a size is a number of bytes with an optional unit: 0, 512kB, 64MB, 1GB";
	if (strlen(u) == 1 && strchr("kKmMgGtT", *u))
		return "write the unit in full (kB, MB, GB, TB); m means minutes in a duration";
	if (parse_duration(s, &v))
		return "that is a duration; this key takes a size: 0, 512kB, 64MB, 1GB";
	return "units: B, kB, MB, GB, TB (kb, mb, gb, tb too); a bare number is bytes";
}

const char *
duration_unit_hint(const char *s)
{
	double		v;

	if (parse_size(s, &v))
		return "that is a size; this key takes a duration: 500ms, 10s, 5m (or 5min), 1h, 1d";
	return "units: ms, s, m or min (minutes), h, d; a bare number is seconds";
}

static bool
parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") || !strcmp(s, "1"))
		*out = true;
	else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off") || !strcmp(s, "0"))
		*out = false;
	else
		return false;
	return true;
}

static bool
parse_severity(const char *s, severity *out)
{
	for (int i = 0; i <= SEV_CRITICAL; i++)
		if (strcasecmp(s, severity_names[i]) == 0)
		{
			*out = (severity) i;
			return true;
		}
	return false;
}

/*
 * Names become file and directory names (pager spools, runbook spools), so
 * "." and ".." and hidden names are refused along with any '/'.
 */
static bool
valid_name(const char *s)
{
	if (!*s || *s == '.')
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char) *s) || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

/* by line, keeping the order of errors found on the same line */
static void
sort_errors(config_errors *errs)
{
	for (int i = 1; i < errs->n; i++)
	{
		char	   *m = errs->msg[i];
		int			l = errs->line[i];
		int			j = i - 1;

		while (j >= 0 && errs->line[j] > l)
		{
			errs->msg[j + 1] = errs->msg[j];
			errs->line[j + 1] = errs->line[j];
			j--;
		}
		errs->msg[j + 1] = m;
		errs->line[j + 1] = l;
	}
}

/* ---------- pass 1: sections and entries ---------- */

static int
collect(void *ctx, int line, const char *sec, const char *key, const char *value)
{
	parse_state *ps = ctx;

	if (strcmp(sec, "!") == 0)
	{
		add_error(ps, line, "%s", value);
		return 0;
	}
	if (key == NULL)
	{
		section    *s;
		char	   *copy = xstrdup(sec);
		char	   *sp = copy;
		char	   *name;

		while (*sp && !isspace((unsigned char) *sp))
			sp++;
		name = sp;
		if (*sp)
		{
			*sp = '\0';
			name = sp + 1;
			while (isspace((unsigned char) *name))
				name++;
		}
		ps->s = xrealloc(ps->s, sizeof(section) * (size_t) (ps->n + 1));
		s = &ps->s[ps->n++];
		s->kind = xstrdup(copy);
		s->name = xstrdup(name);
		s->line = line;
		s->e = NULL;
		s->n = 0;
		free(copy);
		return 0;
	}
	{
		section    *s = &ps->s[ps->n - 1];

		s->e = xrealloc(s->e, sizeof(entry) * (size_t) (s->n + 1));
		s->e[s->n].key = xstrdup(key);
		s->e[s->n].value = xstrdup(value);
		s->e[s->n].line = line;
		s->e[s->n].used = false;
		s->n++;
	}
	return 0;
}

static void
free_sections(parse_state *ps)
{
	for (int i = 0; i < ps->n; i++)
	{
		for (int j = 0; j < ps->s[i].n; j++)
		{
			free(ps->s[i].e[j].key);
			free(ps->s[i].e[j].value);
		}
		free(ps->s[i].e);
		free(ps->s[i].kind);
		free(ps->s[i].name);
	}
	free(ps->s);
	free(ps->dir);
}

/* the last entry for key (later lines win), marked used */
static entry *
get(section *s, const char *key)
{
	entry	   *found = NULL;

	for (int i = 0; i < s->n; i++)
		if (strcmp(s->e[i].key, key) == 0)
		{
			s->e[i].used = true;
			found = &s->e[i];
		}
	return found;
}

/*
 * Every duration is turned into whole milliseconds or microseconds
 * somewhere (some into an int): a year bounds them all with room to spare;
 * the timeouts that become int milliseconds are held to a day.
 */
#define DURATION_MAX_S	(366.0 * 86400)
#define TIMEOUT_MAX_S	86400.0

static void
get_duration_max(parse_state *ps, section *s, const char *key, double *out, double max)
{
	entry	   *e = get(s, key);
	double		v;

	if (!e)
		return;
	if (!parse_duration(e->value, &v))
		add_error(ps, e->line, "%s: invalid duration \"%s\" (%s)", key, e->value, duration_unit_hint(e->value));
	else if (v > max)
		add_error(ps, e->line, "%s: \"%s\" is out of range (at most %gs)", key, e->value, max);
	else
		*out = v;
}

static void
get_duration(parse_state *ps, section *s, const char *key, double *out)
{
	get_duration_max(ps, s, key, out, DURATION_MAX_S);
}

/* thresholds and rates: any finite number; sizes past a petabyte are typos */
#define QUANTITY_MAX	1e18

/* a plain number (or percent): rates, ratios, counts */
static void
get_number(parse_state *ps, section *s, const char *key, double *out)
{
	entry	   *e = get(s, key);
	double		v;

	if (!e)
		return;
	if (!parse_number(e->value, &v))
		add_error(ps, e->line, "%s: \"%s\" is not a number (examples: 30, 2.5, 80%%); no unit here",
				  key, e->value);
	else if (fabs(v) > QUANTITY_MAX)
		add_error(ps, e->line, "%s: \"%s\" is out of range (at most %g)", key, e->value, QUANTITY_MAX);
	else
		*out = v;
}

static void
get_size(parse_state *ps, section *s, const char *key, double *out)
{
	entry	   *e = get(s, key);
	double		v;

	if (!e)
		return;
	if (!parse_size(e->value, &v))
		add_error(ps, e->line, "%s: \"%s\" is not a size (%s)", key, e->value, size_unit_hint(e->value));
	else if (v > QUANTITY_MAX)
		add_error(ps, e->line, "%s: \"%s\" is out of range (at most %g bytes)", key, e->value, QUANTITY_MAX);
	else
		*out = v;
}

/* a rule's threshold or clear, in the unit of its kind's value */
static void
get_rule_value(parse_state *ps, section *s, const char *key, rule_kind kind, double *out)
{
	const char *unit = builtin_rules[kind].summary_unit;

	if (!strcmp(unit, "s"))
	{
		entry	   *e = get(s, key);
		double		v;

		if (e && !parse_duration(e->value, &v))
			add_error(ps, e->line, "%s: \"%s\" is not a duration (%s)", key, e->value,
					  duration_unit_hint(e->value));
		else if (e && v > QUANTITY_MAX)
			add_error(ps, e->line, "%s: \"%s\" is out of range", key, e->value);
		else if (e)
			*out = v;
	}
	else if (!strcmp(unit, "B"))
		get_size(ps, s, key, out);
	else
		get_number(ps, s, key, out);
}

/* an integer setting from min to max, no unit; *out is left alone on an error */
static void
get_integer(parse_state *ps, section *s, const char *key, int *out, int min, int max)
{
	entry	   *e = get(s, key);
	char	   *end;
	long		v;

	if (!e)
		return;
	errno = 0;
	v = strtol(e->value, &end, 10);
	if (errno || end == e->value || *end || isspace((unsigned char) e->value[0]) || v < min || v > max)
		add_error(ps, e->line, "%s: expected an integer from %d to %d, got \"%s\"", key, min, max, e->value);
	else
		*out = (int) v;
}

static void
get_bool(parse_state *ps, section *s, const char *key, bool *out)
{
	entry	   *e = get(s, key);

	if (e && !parse_bool(e->value, out))
		add_error(ps, e->line, "%s: expected true or false, got \"%s\"", key, e->value);
}

static void
get_severity(parse_state *ps, section *s, const char *key, severity *out)
{
	entry	   *e = get(s, key);

	if (e && !parse_severity(e->value, out))
		add_error(ps, e->line, "%s: unknown severity \"%s\" (critical, error, warning, info)", key, e->value);
}

static void
get_string(section *s, const char *key, char **out)
{
	entry	   *e = get(s, key);

	if (e)
	{
		free(*out);
		*out = xstrdup(e->value);
	}
}

static char *
read_secret_file(parse_state *ps, const entry *e)
{
	char	   *path;
	char	   *text;
	size_t		len;

	if (e->value[0] == '/' || ps->dir == NULL)
		path = xstrdup(e->value);
	else
		path = xasprintf("%s/%s", ps->dir, e->value);
	text = file_read(path);
	if (!text)
	{
		add_error(ps, e->line, "%s: cannot read \"%s\": %s", e->key, path, strerror(errno));
		free(path);
		return NULL;
	}
	len = strlen(text);
	while (len > 0 && isspace((unsigned char) text[len - 1]))
		text[--len] = '\0';
	if (len == 0)
	{
		add_error(ps, e->line, "%s: \"%s\" is empty", e->key, path);
		free(text);
		free(path);
		return NULL;
	}
	free(path);
	return text;
}

/*
 * A secret named NAME comes from NAME_file or NAME_env; an inline NAME is
 * refused so that config files can be shared and logged safely.
 */
static char *
get_secret(parse_state *ps, section *s, const char *name, bool *given)
{
	char		kf[64],
				ke[64];
	entry	   *inl = get(s, name);
	entry	   *ef,
			   *ee;

	snprintf(kf, sizeof(kf), "%s_file", name);
	snprintf(ke, sizeof(ke), "%s_env", name);
	ef = get(s, kf);
	ee = get(s, ke);
	*given = inl || ef || ee;
	if (inl)
	{
		add_error(ps, inl->line, "%s: secrets are not accepted inline; use %s or %s", name, kf, ke);
		return NULL;
	}
	if (ef && ee)
	{
		add_error(ps, ee->line, "%s and %s both set; use one", kf, ke);
		return NULL;
	}
	if (ef)
		return read_secret_file(ps, ef);
	if (ee)
	{
		const char *v = getenv(ee->value);

		if (!v || !*v)
		{
			add_error(ps, ee->line, "%s: environment variable %s is not set", ke, ee->value);
			return NULL;
		}
		return xstrdup(v);
	}
	return NULL;
}

static void
report_unused(parse_state *ps, section *s)
{
	for (int i = 0; i < s->n; i++)
		if (!s->e[i].used)
			add_error(ps, s->e[i].line, "unknown key \"%s\" in [%s%s%s]", s->e[i].key,
					  s->kind, *s->name ? " " : "", s->name);
}

/* ---------- pass 2: interpretation ---------- */

/*
 * The listener serves the status page (queries, alerts) and metrics: off
 * loopback it needs TLS and basic auth, unless insecure_listen says the
 * network in between is trusted.
 */
static void
check_listen_access(parse_state *ps, section *s, const agent_cfg *cfg, const listen_addr *la, int line)
{
	bool		cert = cfg->listen_tls_cert_file && *cfg->listen_tls_cert_file;
	bool		key = cfg->listen_tls_key_file && *cfg->listen_tls_key_file;
	bool		users = cfg->listen_users_file && *cfg->listen_users_file;

	if (cert != key)
		add_error(ps, s->line, "listen_tls_cert_file and listen_tls_key_file go together: set both or neither");
	if (users)
	{
		char	   *text = file_read(cfg->listen_users_file);
		web_users	u;
		char	   *err = NULL;

		if (!text)
			add_error(ps, s->line, "listen_users_file %s: cannot read it", cfg->listen_users_file);
		else if (!web_users_parse(text, &u, &err))
		{
			add_error(ps, s->line, "listen_users_file %s: %s", cfg->listen_users_file, err);
			free(err);
		}
		else
			web_users_free(&u);
		free(text);
	}
	if (!listen_addr_is_loopback(la) && !(cert && key && users) && !cfg->insecure_listen)
		add_error(ps, line, "listen: %s is not a loopback address: set listen_tls_cert_file, "
				  "listen_tls_key_file and listen_users_file, or insecure_listen = true",
				  cfg->listen);
}

/* the remote write request headers the agent sets itself */
static const char *const remote_write_own_headers[] = {
	"authorization", "content-encoding", "content-type", "content-length", "host",
	"x-prometheus-remote-write-version", "user-agent", "expect", NULL
};

/* an HTTP header name (RFC 9110 token) */
static bool
valid_header_name(const char *n)
{
	if (!*n)
		return false;
	for (const char *c = n; *c; c++)
		if (!isalnum((unsigned char) *c) && !strchr("!#$%&'*+-.^_`|~", *c))
			return false;
	return true;
}

/*
 * remote_write_username + remote_write_password_{file,env}, or
 * remote_write_bearer_token_{file,env}; remote_write_header.NAME = value;
 * remote_write_ca_file, remote_write_cert_file + remote_write_key_file,
 * remote_write_tls_verify.
 */
static void
load_remote_write_auth(parse_state *ps, section *s, agent_cfg *cfg)
{
	bool		have_password,
				have_token;
	char	   *password,
			   *token;

	get_string(s, "remote_write_username", &cfg->remote_write_username);
	password = get_secret(ps, s, "remote_write_password", &have_password);
	token = get_secret(ps, s, "remote_write_bearer_token", &have_token);
	if (password)
	{
		if (cfg->remote_write_password)
			explicit_bzero(cfg->remote_write_password, strlen(cfg->remote_write_password));
		free(cfg->remote_write_password);
		cfg->remote_write_password = password;
	}
	if (token)
	{
		if (cfg->remote_write_bearer_token)
			explicit_bzero(cfg->remote_write_bearer_token, strlen(cfg->remote_write_bearer_token));
		free(cfg->remote_write_bearer_token);
		cfg->remote_write_bearer_token = token;
	}
	if (have_password && !get(s, "remote_write_username"))
		add_error(ps, s->line, "remote_write_password needs remote_write_username");
	if (get(s, "remote_write_username") && !have_password)
		add_error(ps, s->line, "remote_write_username needs remote_write_password_file or remote_write_password_env");
	if ((have_password || get(s, "remote_write_username")) && have_token)
		add_error(ps, s->line, "remote_write: basic auth and a bearer token both set; use one");
	get_string(s, "remote_write_ca_file", &cfg->remote_write_ca_file);
	get_string(s, "remote_write_cert_file", &cfg->remote_write_cert_file);
	get_string(s, "remote_write_key_file", &cfg->remote_write_key_file);
	if (!get(s, "remote_write_cert_file") != !get(s, "remote_write_key_file"))
		add_error(ps, s->line, "remote_write_cert_file and remote_write_key_file go together");
	get_bool(ps, s, "remote_write_tls_verify", &cfg->remote_write_tls_verify);
	for (int i = 0; i < s->n; i++)
	{
		const char *name = s->e[i].key + 20;
		bool		own = false;

		if (strncmp(s->e[i].key, "remote_write_header.", 20) != 0)
			continue;
		s->e[i].used = true;
		for (const char *const *h = remote_write_own_headers; *h; h++)
			own = own || strcasecmp(name, *h) == 0;
		if (!valid_header_name(name))
			add_error(ps, s->e[i].line, "%s: not a valid HTTP header name", s->e[i].key);
		else if (own)
			add_error(ps, s->e[i].line, "%s: the agent sets this header itself%s", s->e[i].key,
					  strcasecmp(name, "authorization") ? "" : " (use remote_write_username or remote_write_bearer_token_file)");
		else if (strpbrk(s->e[i].value, "\r\n"))
			add_error(ps, s->e[i].line, "%s: a header value cannot hold a line break", s->e[i].key);
		else
			labels_set(&cfg->remote_write_headers, name, s->e[i].value);
	}
}

static void
load_agent(parse_state *ps, section *s, agent_cfg *cfg)
{
	entry	   *e;

	get_duration_max(ps, s, "interval", &cfg->interval_s, TIMEOUT_MAX_S);
	/* without an explicit deadline, leave a fifth of the interval spare */
	if (!get(s, "node_timeout") && cfg->interval_s * 0.8 < cfg->node_timeout_s)
		cfg->node_timeout_s = cfg->interval_s * 0.8;
	get_duration_max(ps, s, "node_timeout", &cfg->node_timeout_s, TIMEOUT_MAX_S);
	get_duration_max(ps, s, "statement_timeout", &cfg->statement_timeout_s, TIMEOUT_MAX_S);
	get_duration_max(ps, s, "lock_timeout", &cfg->lock_timeout_s, TIMEOUT_MAX_S);
	get_duration_max(ps, s, "reconnect_max", &cfg->reconnect_max_s, TIMEOUT_MAX_S);
	get_duration_max(ps, s, "remote_write_timeout", &cfg->remote_write_timeout_s, TIMEOUT_MAX_S);
	get_bool(ps, s, "snapshot_deltas", &cfg->snapshot_deltas);
	get_duration_max(ps, s, "full_snapshot_every", &cfg->full_snapshot_every_s, TIMEOUT_MAX_S);
	if (cfg->full_snapshot_every_s < 1)
		add_error(ps, s->line, "full_snapshot_every must be at least 1s");
	get_string(s, "spool_dir", &cfg->spool_dir);
	get_string(s, "runbook_base_url", &cfg->runbook_base_url);
	get_duration_max(ps, s, "healthz_pager_stuck", &cfg->healthz_pager_stuck_s, TIMEOUT_MAX_S);
	get_string(s, "listen", &cfg->listen);
	get_string(s, "listen_tls_cert_file", &cfg->listen_tls_cert_file);
	get_string(s, "listen_tls_key_file", &cfg->listen_tls_key_file);
	get_string(s, "listen_users_file", &cfg->listen_users_file);
	get_bool(ps, s, "insecure_listen", &cfg->insecure_listen);
	get_string(s, "remote_write_url", &cfg->remote_write_url);
	get_integer(ps, s, "top_n", &cfg->top_n, 1, 100000);
	if ((e = get(s, "log_format")) != NULL)
	{
		if (!strcmp(e->value, "text"))
			cfg->log_fmt = LOG_FORMAT_TEXT;
		else if (!strcmp(e->value, "json"))
			cfg->log_fmt = LOG_FORMAT_JSON;
		else
			add_error(ps, e->line, "log_format: expected text or json, got \"%s\"", e->value);
	}
	if ((e = get(s, "log_level")) != NULL)
	{
		if (!strcmp(e->value, "debug"))
			cfg->log_lvl = LOG_DEBUG;
		else if (!strcmp(e->value, "info"))
			cfg->log_lvl = LOG_INFO;
		else if (!strcmp(e->value, "warning"))
			cfg->log_lvl = LOG_WARN;
		else if (!strcmp(e->value, "error"))
			cfg->log_lvl = LOG_ERROR;
		else
			add_error(ps, e->line, "log_level: expected debug, info, warning or error");
	}
	for (int i = 0; i < s->n; i++)
		if (strncmp(s->e[i].key, "external_label.", 15) == 0)
		{
			s->e[i].used = true;
			if (!valid_label_name(s->e[i].key + 15))
				add_error(ps, s->e[i].line, "%s: not a valid label name", s->e[i].key);
			else
				labels_set(&cfg->external_labels, s->e[i].key + 15, s->e[i].value);
		}
	if (cfg->interval_s < 0.1)
		add_error(ps, s->line, "interval must be at least 100ms");
	if (cfg->node_timeout_s <= 0 || cfg->node_timeout_s > cfg->interval_s)
		add_error(ps, s->line, "node_timeout must be positive and at most interval (%gs)", cfg->interval_s);
	if ((e = get(s, "listen")) != NULL && *e->value && strcmp(e->value, "off"))
	{
		listen_addr la;
		char		why[160];

		if (!listen_addr_parse(e->value, &la, why, sizeof(why)))
			add_error(ps, e->line, "listen: %s, or off", why);
	}
	if (*cfg->listen && strcmp(cfg->listen, "off"))
	{
		listen_addr la;
		char		why[160];

		if (listen_addr_parse(cfg->listen, &la, why, sizeof(why)))
			check_listen_access(ps, s, cfg, &la, e ? e->line : s->line);
	}
	load_remote_write_auth(ps, s, cfg);
	/* only this section's own entry: an earlier [agent] already had its say */
	if ((e = get(s, "remote_write_url")) != NULL && *e->value &&
		strncmp(e->value, "http://", 7) && strncmp(e->value, "https://", 8))
		add_error(ps, e->line, "remote_write_url: expected an http:// or https:// URL");
	report_unused(ps, s);
}

static void
load_node(parse_state *ps, section *s, agent_cfg *cfg)
{
	node_cfg   *n;
	bool		given;
	const char *why;

	cfg->nodes = xrealloc(cfg->nodes, sizeof(node_cfg) * (size_t) (cfg->n_nodes + 1));
	n = &cfg->nodes[cfg->n_nodes++];
	memset(n, 0, sizeof(*n));
	n->name = xstrdup(s->name);
	n->line = s->line;
	get_string(s, "conninfo", &n->conninfo);
	get_string(s, "cluster", &n->cluster);
	if (!n->cluster)
		n->cluster = xstrdup(n->name);
	if (!n->conninfo)
		add_error(ps, s->line, "[node %s]: conninfo is required", s->name);
	else if ((why = conninfo_password_problem(n->conninfo)) != NULL)
		add_error(ps, get(s, "conninfo")->line, "conninfo: %s", why);
	n->password = get_secret(ps, s, "password", &given);
	for (int i = 0; i < s->n; i++)
	{
		const char *k = s->e[i].key;
		const char *tag = NULL;

		if (!strcmp(k, "store") || !strcmp(k, "region") || !strcmp(k, "brand"))
			tag = k;
		else if (!strncmp(k, "tag.", 4))
			tag = k + 4;
		if (!tag)
			continue;
		s->e[i].used = true;
		if (!valid_label_name(tag) || !strcmp(tag, "node") || !strcmp(tag, "cluster"))
			add_error(ps, s->e[i].line, "%s: not a usable label name", k);
		else
			labels_set(&n->tags, tag, s->e[i].value);
	}
	report_unused(ps, s);
}

static void
load_pager(parse_state *ps, section *s, agent_cfg *cfg)
{
	pager_cfg  *p;
	entry	   *t = get(s, "type");
	bool		given;
	const char *secret_name = NULL;

	cfg->pagers = xrealloc(cfg->pagers, sizeof(pager_cfg) * (size_t) (cfg->n_pagers + 1));
	p = &cfg->pagers[cfg->n_pagers++];
	memset(p, 0, sizeof(*p));
	p->name = xstrdup(s->name);
	p->line = s->line;
	if (!strcmp(s->name, "dead-letter") || !strcmp(s->name, "fanout.json") || !strcmp(s->name, "cursors") ||
		!strcmp(s->name, "cursors.tmp") || !strcmp(s->name, "runbooks"))
		add_error(ps, s->line, "[pager %s]: this name is reserved by the spool directory", s->name);
	p->timeout_s = 10;
	p->backoff_initial_s = 1;
	p->backoff_max_s = 300;
	p->tls_verify = true;
	/* info is recorded (log, /metrics, once), not paged, unless a pager asks for it */
	p->min_severity = SEV_WARNING;
	p->alert_ttl_s = 3600;
	p->kind = PAGER_WEBHOOK;
	if (!t)
		add_error(ps, s->line, "[pager %s]: type is required (pagerduty, alertmanager, webhook)", s->name);
	else if (!strcmp(t->value, "pagerduty"))
	{
		p->kind = PAGER_PAGERDUTY;
		p->url = xstrdup("https://events.pagerduty.com/v2/enqueue");
		p->rate_per_min = 120;
		secret_name = "routing_key";
	}
	else if (!strcmp(t->value, "alertmanager"))
		p->kind = PAGER_ALERTMANAGER;
	else if (!strcmp(t->value, "webhook"))
	{
		p->kind = PAGER_WEBHOOK;
		secret_name = "hmac_key";
	}
	else
		add_error(ps, t->line, "type: unknown pager type \"%s\" (pagerduty, alertmanager, webhook)", t->value);
	get_string(s, "url", &p->url);
	get_duration_max(ps, s, "timeout", &p->timeout_s, TIMEOUT_MAX_S);
	get_number(ps, s, "rate_limit", &p->rate_per_min);
	get_duration_max(ps, s, "backoff_initial", &p->backoff_initial_s, TIMEOUT_MAX_S);
	get_duration_max(ps, s, "backoff_max", &p->backoff_max_s, TIMEOUT_MAX_S);
	get_duration(ps, s, "alert_ttl", &p->alert_ttl_s);
	get_bool(ps, s, "tls_verify", &p->tls_verify);
	get_string(s, "ca_file", &p->ca_file);
	get_severity(ps, s, "min_severity", &p->min_severity);
	if (secret_name)
	{
		p->secret = get_secret(ps, s, secret_name, &given);
		if (!given && p->kind == PAGER_PAGERDUTY)
			add_error(ps, s->line, "[pager %s]: routing_key_file or routing_key_env is required", s->name);
	}
	if (!p->url)
		add_error(ps, s->line, "[pager %s]: url is required", s->name);
	else if (strncmp(p->url, "http://", 7) && strncmp(p->url, "https://", 8))
		add_error(ps, get(s, "url") ? get(s, "url")->line : s->line, "url: expected an http:// or https:// URL");
	if (p->timeout_s <= 0)
		add_error(ps, s->line, "[pager %s]: timeout must be positive", s->name);
	if (p->backoff_initial_s <= 0 || p->backoff_max_s < p->backoff_initial_s)
		add_error(ps, s->line, "[pager %s]: need 0 < backoff_initial <= backoff_max", s->name);
	if (p->rate_per_min < 0)
		add_error(ps, s->line, "[pager %s]: rate_limit must not be negative", s->name);
	report_unused(ps, s);
}

static void
rule_defaults(rule_cfg *r, const builtin_rule *b, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->name = xstrdup(name);
	r->kind = b->kind;
	r->enabled = true;
	r->threshold = b->threshold;
	r->clear = b->clear;
	r->for_s = b->for_s;
	r->keep_firing_for_s = b->keep_firing_for_s;
	r->renotify_s = 900;
	r->flap_count = 4;
	r->flap_window_s = 1800;
	r->sev = b->sev;
	r->raise_severity = SEV_CRITICAL;
	r->housekeeping_sev = SEV_INFO;
}

static void
load_rule(parse_state *ps, section *s, agent_cfg *cfg)
{
	rule_cfg   *r = NULL;
	entry	   *e;
	bool		clear_given;

	if (!valid_label_name(s->name))
	{
		add_error(ps, s->line, "[rule %s]: a rule name must be a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)", s->name);
		return;
	}
	for (int i = 0; i < cfg->n_rules; i++)
		if (!strcmp(cfg->rules[i].name, s->name))
			r = &cfg->rules[i];
	e = get(s, "kind");
	if (!r)
	{
		int			k = -1;

		if (!e)
		{
			add_error(ps, s->line, "[rule %s]: not a built-in rule; set kind = one of the built-in kinds", s->name);
			return;
		}
		for (int i = 0; i < RULE_KIND_COUNT; i++)
			if (!strcmp(builtin_rules[i].name, e->value))
				k = i;
		if (k < 0)
		{
			add_error(ps, e->line, "kind: unknown rule kind \"%s\"", e->value);
			return;
		}
		cfg->rules = xrealloc(cfg->rules, sizeof(rule_cfg) * (size_t) (cfg->n_rules + 1));
		r = &cfg->rules[cfg->n_rules++];
		rule_defaults(r, &builtin_rules[k], s->name);
	}
	else if (e && strcmp(e->value, rule_kind_name(r->kind)))
		add_error(ps, e->line, "kind: built-in rule %s is of kind %s", r->name, rule_kind_name(r->kind));
	r->line = s->line;
	get_bool(ps, s, "enabled", &r->enabled);
	get_rule_value(ps, s, "threshold", r->kind, &r->threshold);
	clear_given = get(s, "clear") != NULL;
	get_rule_value(ps, s, "clear", r->kind, &r->clear);
	if (!clear_given && get(s, "threshold"))
		r->clear = r->threshold;
	get_duration(ps, s, "for", &r->for_s);
	get_duration(ps, s, "keep_firing_for", &r->keep_firing_for_s);
	get_duration(ps, s, "renotify", &r->renotify_s);
	get_duration(ps, s, "flap_window", &r->flap_window_s);
	/* rules.c remembers the last 16 fires of an alert */
	get_integer(ps, s, "flap_count", &r->flap_count, 0, 16);
	get_severity(ps, s, "severity", &r->sev);
	get_severity(ps, s, "raise_severity", &r->raise_severity);
	if ((e = get(s, "housekeeping_severity")) != NULL && r->kind != RULE_DESTRUCTIVE_EVENT)
		add_error(ps, e->line, "housekeeping_severity: only rules of kind destructive_event have it");
	else
		get_severity(ps, s, "housekeeping_severity", &r->housekeeping_sev);
	if ((e = get(s, "raise_during")) != NULL)
	{
		const char *err;

		schedule_free(&r->raise_during);
		if ((err = schedule_parse(e->value, &r->raise_during)) != NULL)
			add_error(ps, e->line, "raise_during: %s", err);
	}
	if ((e = get(s, "mute_during")) != NULL)
	{
		const char *err;

		schedule_free(&r->mute_during);
		if ((err = schedule_parse(e->value, &r->mute_during)) != NULL)
			add_error(ps, e->line, "mute_during: %s", err);
	}
	if ((e = get(s, "pagers")) != NULL)
	{
		char	   *copy = xstrdup(e->value);
		char	   *save = NULL;

		for (int i = 0; i < r->n_pagers; i++)
			free(r->pagers[i]);
		free(r->pagers);
		r->pagers = NULL;
		r->n_pagers = 0;
		for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		{
			bool		known = false;

			for (int i = 0; i < ps->n; i++)
				if (!strcmp(ps->s[i].kind, "pager") && !strcmp(ps->s[i].name, t))
					known = true;
			if (!known)
				add_error(ps, e->line, "pagers: no [pager %s] section", t);
			r->pagers = xrealloc(r->pagers, sizeof(char *) * (size_t) (r->n_pagers + 1));
			r->pagers[r->n_pagers++] = xstrdup(t);
		}
		free(copy);
	}
	if ((e = get(s, "runbook")) != NULL)
	{
		bool		known = false;

		for (int i = 0; i < ps->n; i++)
			if (!strcmp(ps->s[i].kind, "runbook") && !strcmp(ps->s[i].name, e->value))
				known = true;
		if (!known)
			add_error(ps, e->line, "runbook: no [runbook %s] section", e->value);
		free(r->runbook);
		r->runbook = xstrdup(e->value);
	}
	for (int i = 0; i < s->n; i++)
		if (!strncmp(s->e[i].key, "label.", 6))
		{
			const char *ln = s->e[i].key + 6;

			s->e[i].used = true;
			if (!valid_label_name(ln) || !strncmp(ln, "__", 2))
				add_error(ps, s->e[i].line, "%s: not a valid label name", s->e[i].key);
			else
				labels_set(&r->labels, ln, s->e[i].value);
		}
	if (r->clear > r->threshold)
		add_error(ps, s->line, "[rule %s]: clear (%g) must not exceed threshold (%g)", r->name, r->clear, r->threshold);
	report_unused(ps, s);
}

static void
load_runbook(parse_state *ps, section *s, agent_cfg *cfg)
{
	runbook_cfg *rb;

	(void) ps;
	cfg->runbooks = xrealloc(cfg->runbooks, sizeof(runbook_cfg) * (size_t) (cfg->n_runbooks + 1));
	rb = &cfg->runbooks[cfg->n_runbooks++];
	memset(rb, 0, sizeof(*rb));
	rb->name = xstrdup(s->name);
	rb->line = s->line;
	for (int i = 0; i < s->n; i++)
	{
		labels_set(&rb->settings, s->e[i].key, s->e[i].value);
		rb->setting_lines = xrealloc(rb->setting_lines, sizeof(int) * (size_t) rb->settings.n);
		/* later lines win, as for every key */
		for (int k = 0; k < rb->settings.n; k++)
			if (!strcmp(rb->settings.v[k].name, s->e[i].key))
				rb->setting_lines[k] = s->e[i].line;
	}
}

static void
config_defaults(agent_cfg *cfg, const char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = xstrdup(path);
	cfg->interval_s = 10;
	cfg->node_timeout_s = 5;
	cfg->statement_timeout_s = 3;
	cfg->lock_timeout_s = 1;
	cfg->reconnect_max_s = 60;
	cfg->spool_dir = xstrdup("/var/lib/odoo-retail-guard/spool");
	cfg->runbook_base_url = xstrdup(ORGUARD_DEFAULT_RUNBOOK_BASE_URL);
	cfg->healthz_pager_stuck_s = 600;
	cfg->listen = xstrdup("127.0.0.1:9188");
	cfg->log_fmt = LOG_FORMAT_TEXT;
	cfg->log_lvl = LOG_INFO;
	cfg->top_n = 20;
	cfg->remote_write_timeout_s = 10;
	cfg->snapshot_deltas = true;
	cfg->full_snapshot_every_s = 300;
	cfg->remote_write_tls_verify = true;
	cfg->rules = xcalloc(RULE_KIND_COUNT, sizeof(rule_cfg));
	for (int i = 0; i < RULE_KIND_COUNT; i++)
		rule_defaults(&cfg->rules[i], &builtin_rules[i], builtin_rules[i].name);
	cfg->n_rules = RULE_KIND_COUNT;
}

bool
config_parse(const char *path, const char *text, agent_cfg *cfg, config_errors *errs)
{
	parse_state ps = {0};
	const char *slash = strrchr(path, '/');
	int			agent_sections = 0;

	ps.path = path;
	ps.errs = errs;
	ps.dir = slash ? strndup(path, (size_t) (slash - path)) : NULL;
	if (slash && slash == path)
	{
		free(ps.dir);
		ps.dir = xstrdup("/");
	}
	config_defaults(cfg, path);
	ini_parse_string(text, collect, &ps);

	/* duplicates and unknown section kinds first */
	for (int i = 0; i < ps.n; i++)
	{
		section    *s = &ps.s[i];

		for (int j = 0; j < i; j++)
			if (!strcmp(ps.s[j].kind, s->kind) && !strcmp(ps.s[j].name, s->name))
				add_error(&ps, s->line, "duplicate section [%s%s%s] (first at line %d)", s->kind,
						  *s->name ? " " : "", s->name, ps.s[j].line);
		if (!strcmp(s->kind, "agent"))
		{
			agent_sections++;
			if (*s->name)
				add_error(&ps, s->line, "[agent] takes no name");
		}
		else if (!strcmp(s->kind, "node") || !strcmp(s->kind, "pager") ||
				 !strcmp(s->kind, "rule") || !strcmp(s->kind, "runbook"))
		{
			if (!*s->name)
				add_error(&ps, s->line, "[%s] needs a name, e.g. [%s main]", s->kind, s->kind);
			else if (!valid_name(s->name))
				add_error(&ps, s->line, "[%s %s]: names may hold letters, digits, '_', '-' and '.'", s->kind, s->name);
		}
		else
			add_error(&ps, s->line, "unknown section [%s] (agent, node, pager, rule, runbook)", s->kind);
	}
	for (int i = 0; i < ps.n; i++)
		if (!strcmp(ps.s[i].kind, "agent"))
			load_agent(&ps, &ps.s[i], cfg);
	for (int i = 0; i < ps.n; i++)
	{
		section    *s = &ps.s[i];

		if (!*s->name || !valid_name(s->name))
			continue;
		if (!strcmp(s->kind, "node"))
			load_node(&ps, s, cfg);
		else if (!strcmp(s->kind, "pager"))
			load_pager(&ps, s, cfg);
		else if (!strcmp(s->kind, "rule"))
			load_rule(&ps, s, cfg);
		else if (!strcmp(s->kind, "runbook"))
			load_runbook(&ps, s, cfg);
	}
	if (cfg->n_nodes == 0)
		add_error(&ps, 0, "no [node NAME] section: nothing to watch");
	free_sections(&ps);
	sort_errors(errs);
	return errs->n == 0;
}

bool
config_load(const char *path, agent_cfg *cfg, config_errors *errs)
{
	size_t		len;
	char	   *text = file_read_len(path, &len);
	const char *nul;
	bool		ok;

	if (!text)
	{
		config_defaults(cfg, path);
		config_error_add(errs, 0, xasprintf("%s: cannot open: %s", path, strerror(errno)));
		return false;
	}
	/* a NUL byte would end the text early and hide every line after it */
	nul = memchr(text, '\0', len);
	if (nul)
	{
		int			line = 1;

		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		config_defaults(cfg, path);
		config_error_add(errs, line, xasprintf("%s:%d: a NUL byte; is this a text file?", path, line));
		free(text);
		return false;
	}
	ok = config_parse(path, text, cfg, errs);
	free(text);
	return ok;
}

void
config_free(agent_cfg *cfg)
{
	free(cfg->path);
	free(cfg->spool_dir);
	free(cfg->runbook_base_url);
	free(cfg->listen);
	free(cfg->listen_tls_cert_file);
	free(cfg->listen_tls_key_file);
	free(cfg->listen_users_file);
	free(cfg->remote_write_url);
	free(cfg->remote_write_username);
	if (cfg->remote_write_password)
		explicit_bzero(cfg->remote_write_password, strlen(cfg->remote_write_password));
	free(cfg->remote_write_password);
	if (cfg->remote_write_bearer_token)
		explicit_bzero(cfg->remote_write_bearer_token, strlen(cfg->remote_write_bearer_token));
	free(cfg->remote_write_bearer_token);
	labels_free(&cfg->remote_write_headers);
	free(cfg->remote_write_ca_file);
	free(cfg->remote_write_cert_file);
	free(cfg->remote_write_key_file);
	labels_free(&cfg->external_labels);
	for (int i = 0; i < cfg->n_nodes; i++)
		node_cfg_free(&cfg->nodes[i]);
	free(cfg->nodes);
	for (int i = 0; i < cfg->n_pagers; i++)
	{
		pager_cfg  *p = &cfg->pagers[i];

		free(p->name);
		free(p->url);
		if (p->secret)
			explicit_bzero(p->secret, strlen(p->secret));
		free(p->secret);
		free(p->ca_file);
	}
	free(cfg->pagers);
	for (int i = 0; i < cfg->n_rules; i++)
	{
		rule_cfg   *r = &cfg->rules[i];

		free(r->name);
		labels_free(&r->labels);
		for (int j = 0; j < r->n_pagers; j++)
			free(r->pagers[j]);
		free(r->pagers);
		schedule_free(&r->raise_during);
		schedule_free(&r->mute_during);
		free(r->runbook);
	}
	free(cfg->rules);
	for (int i = 0; i < cfg->n_runbooks; i++)
	{
		free(cfg->runbooks[i].name);
		free(cfg->runbooks[i].setting_lines);
		labels_free(&cfg->runbooks[i].settings);
	}
	free(cfg->runbooks);
	memset(cfg, 0, sizeof(*cfg));
}

void
node_cfg_copy(node_cfg *dst, const node_cfg *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->name = xstrdup(src->name);
	dst->conninfo = xstrdup(src->conninfo);
	dst->cluster = xstrdup(src->cluster);
	dst->password = src->password ? xstrdup(src->password) : NULL;
	labels_copy(&dst->tags, &src->tags);
	dst->line = src->line;
}

void
node_cfg_free(node_cfg *c)
{
	free(c->name);
	free(c->conninfo);
	free(c->cluster);
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	labels_free(&c->tags);
}

void
config_errors_free(config_errors *errs)
{
	for (int i = 0; i < errs->n; i++)
		free(errs->msg[i]);
	free(errs->msg);
	free(errs->line);
	errs->msg = NULL;
	errs->line = NULL;
	errs->n = 0;
}

const rule_cfg *
config_rule(const agent_cfg *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_rules; i++)
		if (!strcmp(cfg->rules[i].name, name))
			return &cfg->rules[i];
	return NULL;
}

const pager_cfg *
config_pager(const agent_cfg *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_pagers; i++)
		if (!strcmp(cfg->pagers[i].name, name))
			return &cfg->pagers[i];
	return NULL;
}
