/*
 * execute.c: the commands that load a [runbook] section and run it, each
 * from a parsed request (execute.h).
 */
#include "runbooks/execute.h"
#include "runbooks/list_json.h"
#include "runbooks/rbutil.h"
#include "runbooks/run.h"
#include "runbooks/settings.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
load_settings(const agent_cfg *cfg, const char *name, rb_kind kind, rb_settings *s)
{
	char		err[512];
	const runbook_cfg *rb = rb_settings_find(cfg, name, kind, err, sizeof(err));
	config_errors errs = {0};
	bool		ok;

	if (!rb)
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		return false;
	}
	ok = rb_settings_load(cfg, rb, s, &errs);
	for (int i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	config_errors_free(&errs);
	if (!ok)
		rb_settings_free(s);
	return ok;
}

static int
list_backups(const rb_settings *s, rb_format fmt)
{
	pitr_backup *b;
	int			n;
	char		err[512];

	if (!rb_backups_load(s->pitr.backup_dir, &b, &n, err, sizeof(err)))
	{
		fprintf(stderr, "orguard-agent: %s\n", err);
		return RB_EXIT_FAILED;
	}
	if (fmt == RB_FORMAT_JSON)
	{
		char	   *json = rb_backups_json(b, NULL, n);

		printf("%s\n", json);
		free(json);
		rb_backups_free(b, n);
		return RB_EXIT_DONE;
	}
	for (int i = 0; i < n; i++)
	{
		char	   *one = pitr_describe_backups(&b[i], 1);

		printf("%s\n", one);
		free(one);
	}
	if (n == 0)
		printf("no base backups in %s\n", s->pitr.backup_dir);
	rb_backups_free(b, n);
	return RB_EXIT_DONE;
}

/* backend = patroni: Patroni rejoins old leaders itself and watches on its own */
static int
patroni_promote_cli(const rb_settings *s, const char *node, const rb_promote_request *req)
{
	if (node)
	{
		fprintf(stderr, "orguard-agent: rejoin is for the native backend; Patroni rejoins an old leader "
				"itself (postgresql.use_pg_rewind)\n");
		return RB_EXIT_USAGE;
	}
	if (req->watch || req->primary_lsn_known)
	{
		fprintf(stderr, "orguard-agent: --watch and --last-primary-lsn are for the native backend; "
				"Patroni detects a dead leader by itself\n");
		return RB_EXIT_USAGE;
	}
	return rb_promote_patroni(s, req);
}

/* backup, list-backups and pitr: a pitr runbook */
int
rb_execute_pitr_kind(const agent_cfg *cfg, const rb_request *req)
{
	rb_settings s;
	rb_pitr_request preq = req->pitr;
	int			rc;

	if (!load_settings(cfg, req->name, RB_KIND_PITR, &s))
		return RB_EXIT_USAGE;
	bool		pgbr = s.pitr.backend == RB_PITR_PGBACKREST;

	if (!strcmp(req->cmd, "backup"))
		rc = pgbr ? rb_backup_pgbackrest(&s, req->dry_run) : rb_backup_native(&s, req->dry_run);
	else if (!strcmp(req->cmd, "list-backups"))
		rc = pgbr ? rb_list_backups_pgbackrest(&s, req->fmt) : list_backups(&s, req->fmt);
	else if (!req->have_target)
	{
		fprintf(stderr, "orguard-agent: pitr needs --target-time, --target-lsn or --before-event\n");
		rc = RB_EXIT_USAGE;
	}
	else
	{
		preq.dry_run = req->dry_run;
		rc = pgbr ? rb_pitr_pgbackrest(&s, &preq) : rb_pitr_native(&s, &preq);
	}
	rb_settings_free(&s);
	return rc;
}

/* promote and rejoin: a promote runbook */
int
rb_execute_promote_kind(const agent_cfg *cfg, const rb_request *req)
{
	rb_settings s;
	rb_promote_request mreq = req->promote;
	int			rc;

	if (!load_settings(cfg, req->name, RB_KIND_PROMOTE, &s))
		return RB_EXIT_USAGE;
	mreq.dry_run = req->dry_run;
	mreq.watch = req->watch;
	if (s.promote.backend == RB_BACKEND_PATRONI)
		rc = patroni_promote_cli(&s, req->node, &mreq);
	else if (mreq.candidate || mreq.switchover)
	{
		fprintf(stderr, "orguard-agent: --candidate and --switchover need backend = patroni\n");
		rc = RB_EXIT_USAGE;
	}
	else
		rc = req->node ? rb_rejoin_native(&s, req->node, req->dry_run) : rb_promote_native(&s, &mreq);
	rb_settings_free(&s);
	return rc;
}

int
rb_execute_check_config(const agent_cfg *cfg, const rb_request *req)
{
	config_errors errs = {0};
	bool		ok = rb_settings_check_all(cfg, &errs);

	(void) req;

	for (int i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	config_errors_free(&errs);
	if (ok)
		printf("%s: %d runbook%s ok\n", cfg->path, cfg->n_runbooks, cfg->n_runbooks == 1 ? "" : "s");
	return ok ? RB_EXIT_DONE : RB_EXIT_USAGE;
}

int
rb_execute_abandon(const agent_cfg *cfg, const rb_request *req)
{
	rb_settings s;
	char		err[512];
	int			rc;
	const runbook_cfg *rb;
	config_errors errs = {0};

	if (!req->name)
	{
		fprintf(stderr, "orguard-agent: abandon needs the runbook's NAME\n");
		return RB_EXIT_USAGE;
	}
	for (int i = 0; i < cfg->n_runbooks; i++)
		if (!strcmp(cfg->runbooks[i].name, req->name))
		{
			rb = &cfg->runbooks[i];
			if (!rb_settings_load(cfg, rb, &s, &errs))
			{
				for (int k = 0; k < errs.n; k++)
					fprintf(stderr, "%s\n", errs.msg[k]);
				config_errors_free(&errs);
				rb_settings_free(&s);
				return RB_EXIT_USAGE;
			}
			rc = rb_run_abandon(&s, err, sizeof(err));
			if (rc != RB_EXIT_DONE)
				fprintf(stderr, "orguard-agent: %s\n", err);
			rb_settings_free(&s);
			return rc;
		}
	fprintf(stderr, "orguard-agent: no [runbook %s] section\n", req->name);
	return RB_EXIT_USAGE;
}

int
rb_execute(const agent_cfg *cfg, const rb_request *req)
{
	if (!strcmp(req->cmd, "backup") || !strcmp(req->cmd, "list-backups") || !strcmp(req->cmd, "pitr"))
		return rb_execute_pitr_kind(cfg, req);
	if (!strcmp(req->cmd, "promote") || !strcmp(req->cmd, "rejoin"))
		return rb_execute_promote_kind(cfg, req);
	fprintf(stderr, "orguard-agent: \"%s\" does not run a runbook\n", req->cmd);
	return RB_EXIT_USAGE;
}
