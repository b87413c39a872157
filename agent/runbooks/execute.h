/*
 * execute.h: the runbook commands that load a [runbook] section and act,
 * each from a parsed request (request.h).  The CLI's command table (cli.c)
 * points at these; rule-triggered and approved runs (modes.c) call
 * rb_execute with the request their recorded arguments parse to.
 */
#ifndef ORGUARD_RB_EXECUTE_H
#define ORGUARD_RB_EXECUTE_H

#include "common/config.h"
#include "runbooks/request.h"

/* each returns the process exit code (see run.h) */
int			rb_execute_pitr_kind(const agent_cfg *cfg, const rb_request *req);	/* backup, list-backups, pitr */
int			rb_execute_promote_kind(const agent_cfg *cfg, const rb_request *req);	/* promote, rejoin */
int			rb_execute_check_config(const agent_cfg *cfg, const rb_request *req);
int			rb_execute_abandon(const agent_cfg *cfg, const rb_request *req);

/* a command that runs a runbook (backup, list-backups, pitr, promote, rejoin) */
int			rb_execute(const agent_cfg *cfg, const rb_request *req);

#endif
