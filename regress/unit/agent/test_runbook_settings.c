/*
 * test_runbook_settings.c
 *	  Unit tests for [runbook NAME] sections: defaults, validation and
 *	  file:line error messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/config.h"
#include "runbooks/settings.h"

#define NODES \
	"[node p]\nconninfo = host=/run/pg port=5432 user=postgres\ncluster = shop\n" \
	"[node s1]\nconninfo = host=/run/pg port=5433 user=postgres\ncluster = shop\n" \
	"[node s2]\nconninfo = host=/run/pg port=5434 user=postgres\ncluster = shop\n"

typedef struct loaded
{
	agent_cfg	cfg;
	config_errors cerrs;
	config_errors errs;
	rb_settings s;
	bool		ok;
} loaded;

static void
load(loaded *l, const char *text, const char *name)
{
	memset(l, 0, sizeof(*l));
	assert_true(config_parse("/etc/agent.conf", text, &l->cfg, &l->cerrs));
	for (int i = 0; i < l->cfg.n_runbooks; i++)
		if (!strcmp(l->cfg.runbooks[i].name, name))
			l->ok = rb_settings_load(&l->cfg, &l->cfg.runbooks[i], &l->s, &l->errs);
}

static void
unload(loaded *l)
{
	rb_settings_free(&l->s);
	config_errors_free(&l->errs);
	config_errors_free(&l->cerrs);
	config_free(&l->cfg);
}

static bool
has_error(const loaded *l, const char *needle)
{
	for (int i = 0; i < l->errs.n; i++)
		if (strstr(l->errs.msg[i], needle))
			return true;
	return false;
}

static void
test_promote_defaults(void **state)
{
	loaded		l;

	(void) state;
	load(&l, NODES "[runbook promote]\nprimary = p\nstandbys = s1, s2\nfence_command = /usr/local/bin/fence\n", "promote");
	assert_true(l.ok);
	assert_int_equal(l.s.kind, RB_KIND_PROMOTE);
	assert_string_equal(l.s.cluster, "shop");
	assert_string_equal(l.s.journal, RB_DEFAULT_JOURNAL);
	assert_string_equal(l.s.promote.primary->name, "p");
	assert_int_equal(l.s.promote.n_standbys, 2);
	assert_string_equal(l.s.promote.standbys[1]->name, "s2");
	assert_int_equal(l.s.promote.probes, 3);
	assert_true(l.s.promote.probe_interval_s == 2.0);
	assert_true(l.s.promote.min_dead_for_s == 4.0);
	assert_int_equal(l.s.promote.max_lag_bytes, 1048576);
	assert_string_equal(l.s.promote.fence_command, "/usr/local/bin/fence");
	assert_true(l.s.promote.repoint);
	assert_false(l.s.promote.require_sync);
	unload(&l);
}

static void
test_promote_values(void **state)
{
	loaded		l;

	(void) state;
	load(&l, NODES "[runbook failover]\nkind = promote\nprimary = p\nstandbys = s1\nfence_command = none\n"
		 "max_lag_bytes = 64kB\nprobes = 5\nprobe_interval = 500ms\nrequire_sync = on\nrepoint = off\n"
		 "cluster = store-42\ndata_dir.p = /srv/pg/p\n", "failover");
	assert_true(l.ok);
	assert_string_equal(labels_get(&l.s.promote.data_dirs, "p"), "/srv/pg/p");
	assert_null(l.s.promote.fence_command);
	assert_int_equal(l.s.promote.max_lag_bytes, 65536);
	assert_true(l.s.promote.min_dead_for_s == 2.0);
	assert_true(l.s.promote.require_sync);
	assert_false(l.s.promote.repoint);
	assert_string_equal(l.s.cluster, "store-42");
	unload(&l);
	load(&l, NODES "[runbook promote]\nprimary = p\nstandbys = s1\nfence_command = none\nmax_lag_bytes = unbounded\n", "promote");
	assert_true(l.ok);
	assert_int_equal(l.s.promote.max_lag_bytes, -1);
	unload(&l);
}

static void
test_promote_errors(void **state)
{
	loaded		l;

	(void) state;
	load(&l, NODES "\n[runbook promote]\nprimary = q\nstandbys = p, s9\nmax_lag_bytes = lots\n"
		 "probes = 0\nprobe_interval = soon\nrepoint = maybe\nbackend = raft\nfence = x\n"
		 "data_dir.zz = /x\ndata_dir.p = relative\n", "promote");
	assert_false(l.ok);
	/* nine lines of nodes, a blank line, the section header: an error names its key's line */
	assert_true(has_error(&l, "/etc/agent.conf:12: [runbook promote]: primary: no [node q] section"));
	assert_true(has_error(&l, "standbys: no [node s9] section"));
	assert_true(has_error(&l, "max_lag_bytes: \"lots\""));
	assert_true(has_error(&l, "probes: \"0\" is not an integer from 1 to 100"));
	assert_true(has_error(&l, "probe_interval: \"soon\""));
	assert_true(has_error(&l, "repoint: \"maybe\" is not on or off"));
	assert_true(has_error(&l, "fence_command: is required"));
	assert_true(has_error(&l, "backend: \"raft\" is not supported (native or patroni)"));
	assert_true(has_error(&l, "fence: unknown setting for a promote runbook"));
	assert_true(has_error(&l, "data_dir.zz: no [node zz] section"));
	assert_true(has_error(&l, "data_dir.p: must be an absolute path"));
	unload(&l);
	load(&l, NODES "[runbook promote]\nprimary = p\nstandbys = p\nfence_command = none\n", "promote");
	assert_false(l.ok);
	assert_true(has_error(&l, "standbys: p is the primary"));
	unload(&l);
}

static void
test_pitr(void **state)
{
	loaded		l;

	(void) state;
	load(&l, NODES "[runbook pitr]\nnode = p\nbackup_dir = /srv/backups\narchive_dir = /srv/archive\n"
		 "restore_dir = /srv/restore\nrestore_port = 5499\ncheck_query = SELECT true\n", "pitr");
	assert_true(l.ok);
	assert_int_equal(l.s.kind, RB_KIND_PITR);
	assert_string_equal(l.s.pitr.node->name, "p");
	assert_string_equal(l.s.pitr.backup_dir, "/srv/backups");
	assert_int_equal(l.s.pitr.restore_port, 5499);
	assert_string_equal(l.s.pitr.target_timeline, "latest");
	assert_string_equal(l.s.bin_dir, RB_DEFAULT_BINDIR);
	assert_string_equal(l.s.cluster, "shop");
	assert_int_equal(l.s.pitr.backup_max_rate_kb, 0);	/* unlimited, as pg_basebackup */
	unload(&l);
	load(&l, NODES "[runbook pitr]\nbackup_dir = /b\narchive_dir = /a\nbackup_max_rate = 64MB\n", "pitr");
	assert_true(l.ok);
	assert_int_equal(l.s.pitr.backup_max_rate_kb, 65536);
	unload(&l);
	load(&l, NODES "[runbook pitr]\nbackup_dir = /b\narchive_dir = /a\nbackup_max_rate = 0\n", "pitr");
	assert_true(l.ok);
	assert_int_equal(l.s.pitr.backup_max_rate_kb, 0);
	unload(&l);
	/* pg_basebackup's range, and sizes written in full */
	load(&l, NODES "[runbook pitr]\nbackup_dir = /b\narchive_dir = /a\nbackup_max_rate = 16kB\n", "pitr");
	assert_false(l.ok);
	assert_true(has_error(&l, "backup_max_rate: \"16kB\" is out of pg_basebackup's range"));
	unload(&l);
	load(&l, NODES "[runbook pitr]\nbackup_dir = /b\narchive_dir = /a\nbackup_max_rate = 2GB\n", "pitr");
	assert_true(has_error(&l, "backup_max_rate: \"2GB\" is out of pg_basebackup's range"));
	unload(&l);
	load(&l, NODES "[runbook pitr]\nbackup_dir = /b\narchive_dir = /a\nbackup_max_rate = 64M\n", "pitr");
	assert_true(has_error(&l, "backup_max_rate: \"64M\" is not a size a second (write the unit in full"));
	unload(&l);
	load(&l, NODES "[runbook pitr]\nbackup_dir = backups\nrestore_port = 70000\ntarget_timeline = newest\n"
		 "max_lag_bytes = 1\n", "pitr");
	assert_false(l.ok);
	assert_true(has_error(&l, "backup_dir: must be an absolute path"));
	assert_true(has_error(&l, "archive_dir: is required unless restore_command is set"));
	assert_true(has_error(&l, "restore_port: \"70000\""));
	assert_true(has_error(&l, "target_timeline: \"newest\""));
	assert_true(has_error(&l, "max_lag_bytes: unknown setting for a pitr runbook"));
	unload(&l);
}

static void
test_pitr_pgbackrest(void **state)
{
	loaded		l;

	(void) state;
	load(&l, NODES "[runbook pitr]\nbackend = pgbackrest\nnode = p\nstanza = shop\n"
		 "restore_dir = /srv/restore\nrestore_port = 5499\ndata_dir = /srv/pg/main\n", "pitr");
	assert_true(l.ok);
	assert_int_equal(l.s.pitr.backend, RB_PITR_PGBACKREST);
	assert_string_equal(l.s.pitr.stanza, "shop");
	assert_null(l.s.pitr.pgbackrest_config);	/* the tool's own default */
	assert_string_equal(l.s.pitr.pgbackrest_bin, RB_DEFAULT_PGBACKREST);
	assert_null(l.s.pitr.backup_dir);
	assert_null(l.s.pitr.archive_dir);
	assert_string_equal(l.s.pitr.data_dir, "/srv/pg/main");
	unload(&l);
	load(&l, NODES "[runbook pitr]\nbackend = pgbackrest\nstanza = shop\npgbackrest_config = /etc/pgbackrest/pgbackrest.conf\n"
		 "pgbackrest_bin = /opt/pgbackrest/bin/pgbackrest\n", "pitr");
	assert_true(l.ok);
	assert_string_equal(l.s.pitr.pgbackrest_config, "/etc/pgbackrest/pgbackrest.conf");
	assert_string_equal(l.s.pitr.pgbackrest_bin, "/opt/pgbackrest/bin/pgbackrest");
	unload(&l);
	/* what is missing or meaningless is named */
	load(&l, NODES "[runbook pitr]\nbackend = pgbackrest\nbackup_dir = /b\narchive_dir = /a\n"
		 "pgbackrest_config = pgbackrest.conf\ndata_dir = main\n", "pitr");
	assert_false(l.ok);
	assert_true(has_error(&l, "stanza: is required with backend = pgbackrest"));
	assert_true(has_error(&l, "backup_dir: not used with backend = pgbackrest"));
	assert_true(has_error(&l, "archive_dir: not used with backend = pgbackrest"));
	assert_true(has_error(&l, "pgbackrest_config: must be an absolute path"));
	assert_true(has_error(&l, "data_dir: must be an absolute path"));
	unload(&l);
	load(&l, NODES "[runbook pitr]\nbackend = pgbackrest\nstanza = shop\nbackup_max_rate = 64MB\n", "pitr");
	assert_false(l.ok);
	assert_true(has_error(&l, "backup_max_rate: not used with backend = pgbackrest"));
	unload(&l);
	load(&l, NODES "[runbook pitr]\nbackend = barman\nbackup_dir = /b\narchive_dir = /a\n", "pitr");
	assert_false(l.ok);
	assert_true(has_error(&l, "backend: \"barman\" is not native or pgbackrest"));
	unload(&l);
	/* the native backend still needs its directories */
	load(&l, NODES "[runbook pitr]\nbackend = native\nstanza = shop\n", "pitr");
	assert_false(l.ok);
	assert_true(has_error(&l, "backup_dir: is required"));
	unload(&l);
}

static void
test_find(void **state)
{
	agent_cfg	cfg;
	config_errors errs = {0};
	char		err[256];

	(void) state;
	assert_true(config_parse("/etc/agent.conf", NODES
							 "[runbook pitr]\nbackup_dir = /b\narchive_dir = /a\n"
							 "[runbook nightly]\nkind = pitr\nbackup_dir = /b\narchive_dir = /a\n"
							 "[runbook promote]\nprimary = p\nstandbys = s1\nfence_command = none\n"
							 "[runbook weird]\nkind = reboot\n", &cfg, &errs));
	assert_non_null(rb_settings_find(&cfg, NULL, RB_KIND_PROMOTE, err, sizeof(err)));
	assert_null(rb_settings_find(&cfg, NULL, RB_KIND_PITR, err, sizeof(err)));
	assert_non_null(strstr(err, "several pitr runbooks"));
	assert_string_equal(rb_settings_find(&cfg, "nightly", RB_KIND_PITR, err, sizeof(err))->name, "nightly");
	assert_null(rb_settings_find(&cfg, "promote", RB_KIND_PITR, err, sizeof(err)));
	assert_non_null(strstr(err, "is not a pitr runbook"));
	assert_null(rb_settings_find(&cfg, "nope", RB_KIND_PITR, err, sizeof(err)));
	assert_false(rb_settings_check_all(&cfg, &errs));
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msg[0], "kind: \"reboot\" is not pitr, promote or throttle"));
	config_errors_free(&errs);
	config_free(&cfg);
}

static void
test_promote_patroni(void **state)
{
	loaded		l;
	const rb_patroni_settings *pt;

	(void) state;
	load(&l, NODES "[runbook promote]\nbackend = patroni\n"
		 "patroni_url = http://10.0.0.1:8008/, https://10.0.0.2:8008\nnode = p\n", "promote");
	assert_true(l.ok);
	pt = &l.s.promote.patroni;
	assert_int_equal(l.s.promote.backend, RB_BACKEND_PATRONI);
	assert_int_equal(pt->n_urls, 2);
	assert_string_equal(pt->urls[0], "http://10.0.0.1:8008");
	assert_string_equal(pt->urls[1], "https://10.0.0.2:8008");
	assert_null(pt->auth_file);
	assert_null(pt->candidate);
	assert_string_equal(pt->node->name, "p");
	assert_string_equal(l.s.cluster, "shop");
	assert_int_equal(l.s.promote.max_lag_bytes, 1048576);
	assert_true(pt->api_timeout_s == 5.0);
	assert_true(l.s.promote.promote_timeout_s == 60.0);
	/* no fence_command, primary or standbys needed */
	assert_null(l.s.promote.primary);
	unload(&l);

	load(&l, NODES "[runbook promote]\nbackend = patroni\npatroni_url = http://127.0.0.1:8008\nnode = s1\n"
		 "patroni_auth_file = /etc/orguard/patroni-auth\ncandidate = s2\nmax_lag_bytes = unbounded\n"
		 "api_timeout = 2s\npromote_timeout = 90s\n", "promote");
	assert_true(l.ok);
	pt = &l.s.promote.patroni;
	assert_string_equal(pt->auth_file, "/etc/orguard/patroni-auth");
	assert_string_equal(pt->candidate, "s2");
	assert_int_equal(l.s.promote.max_lag_bytes, -1);
	assert_true(pt->api_timeout_s == 2.0);
	assert_true(l.s.promote.promote_timeout_s == 90.0);
	unload(&l);

	load(&l, NODES "\n[runbook promote]\nbackend = patroni\npatroni_url = 127.0.0.1:8008\n"
		 "patroni_auth_file = auth\nfence_command = /bin/fence\nstandbys = s1\ndata_dir.p = /d\n"
		 "colour = blue\nmax_lag_bytes = lots\n", "promote");
	assert_false(l.ok);
	assert_true(has_error(&l, "/etc/agent.conf:13: [runbook promote]: patroni_url: \"127.0.0.1:8008\" is not an http://"));
	assert_true(has_error(&l, "patroni_auth_file: must be an absolute path"));
	assert_true(has_error(&l, "node: is required with backend = patroni"));
	assert_true(has_error(&l, "fence_command: is a setting of the native backend"));
	assert_true(has_error(&l, "standbys: is a setting of the native backend"));
	assert_true(has_error(&l, "data_dir.p: is a setting of the native backend"));
	assert_true(has_error(&l, "colour: unknown setting for a promote runbook with backend = patroni"));
	assert_true(has_error(&l, "max_lag_bytes: \"lots\""));
	unload(&l);

	load(&l, NODES "[runbook promote]\nprimary = p\nstandbys = s1\nfence_command = none\n"
		 "patroni_url = http://127.0.0.1:8008\n", "promote");
	assert_false(l.ok);
	assert_true(has_error(&l, "patroni_url: is a setting of backend = patroni (this runbook's backend is native)"));
	unload(&l);

	load(&l, NODES "[runbook promote]\nbackend = patroni\nnode = nope\n", "promote");
	assert_false(l.ok);
	assert_true(has_error(&l, "patroni_url: is required with backend = patroni"));
	assert_true(has_error(&l, "node: no [node nope] section"));
	unload(&l);
}

/* max_lag_bytes is a size: "1m" is not 60 bytes (nor a megabyte) */
static void
test_size_and_duration_units(void **state)
{
	static const char *const refused[] = {"1m", "1M", "16k", "5s", "2min", "-1MB", "1.5"};
	loaded		l;

	(void) state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
	{
		char		text[512];

		snprintf(text, sizeof(text), NODES "[runbook promote]\nprimary = p\nstandbys = s1\n"
				 "fence_command = none\nmax_lag_bytes = %s\n", refused[i]);
		load(&l, text, "promote");
		assert_false(l.ok);
		if (!has_error(&l, "max_lag_bytes: \""))
			fail_msg("max_lag_bytes = %s: accepted", refused[i]);
		unload(&l);
	}
	load(&l, NODES "[runbook promote]\nprimary = p\nstandbys = s1\nfence_command = none\nmax_lag_bytes = 1m\n",
		 "promote");
	/* at the key's own line: nine lines of nodes, the header, three keys */
	assert_true(has_error(&l, "/etc/agent.conf:14: [runbook promote]: max_lag_bytes: \"1m\" is not a size"));
	assert_true(has_error(&l, "write the unit in full (kB, MB, GB, TB); m means minutes"));
	unload(&l);
	load(&l, NODES "[runbook promote]\nprimary = p\nstandbys = s1\nfence_command = none\nmax_lag_bytes = 16mb\n"
		 "catchup_timeout = 2min\n", "promote");
	assert_true(l.ok);
	assert_int_equal(l.s.promote.max_lag_bytes, 16 * 1048576);
	assert_true(l.s.promote.catchup_timeout_s == 120);
	unload(&l);
	load(&l, NODES "[runbook promote]\nbackend = patroni\npatroni_url = http://127.0.0.1:8008\nnode = p\n"
		 "max_lag_bytes = 1m\n", "promote");
	assert_true(has_error(&l, "max_lag_bytes: \"1m\" is not a size"));
	unload(&l);
	/* a duration key refuses a size */
	load(&l, NODES "[runbook promote]\nprimary = p\nstandbys = s1\nfence_command = none\ncatchup_timeout = 1MB\n",
		 "promote");
	assert_true(has_error(&l, "catchup_timeout: \"1MB\" is not a positive duration (that is a size"));
	unload(&l);
}

/* durations end up as int seconds or milliseconds: past a week is a range error at file:line */
static void
test_duration_ranges(void **state)
{
	loaded		l;

	(void) state;
	load(&l, NODES "[runbook promote]\nprimary = p\nstandbys = s1\nfence_command = none\n"
		 "promote_timeout = 1e300\nprobe_timeout = 1e308d\ncatchup_timeout = 8d\n", "promote");
	assert_false(l.ok);
	assert_true(has_error(&l, "/etc/agent.conf:14: [runbook promote]: promote_timeout: \"1e300\" is out of range"));
	assert_true(has_error(&l, "probe_timeout: \"1e308d\" is not a positive duration"));
	assert_true(has_error(&l, "catchup_timeout: \"8d\" is out of range"));
	unload(&l);
	load(&l, NODES "[runbook throttle]\nstatement_timeout = 1e12\nttl = 1e30\nmax_connections = 1e30\n", "throttle");
	assert_false(l.ok);
	assert_true(has_error(&l, "statement_timeout: \"1e12\" is out of range"));
	assert_true(has_error(&l, "ttl: \"1e30\" is out of range"));
	assert_true(has_error(&l, "max_connections: \"1e30\" is not an integer"));
	unload(&l);
	load(&l, NODES "[runbook promote]\nprimary = p\nstandbys = s1\nfence_command = none\n"
		 "promote_timeout = 7d\n", "promote");
	assert_true(l.ok);
	assert_true(l.s.promote.promote_timeout_s == 7 * 86400.0);
	unload(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_promote_defaults),
		cmocka_unit_test(test_promote_values),
		cmocka_unit_test(test_promote_errors),
		cmocka_unit_test(test_pitr),
		cmocka_unit_test(test_pitr_pgbackrest),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_promote_patroni),
		cmocka_unit_test(test_duration_ranges),
		cmocka_unit_test(test_size_and_duration_units),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
