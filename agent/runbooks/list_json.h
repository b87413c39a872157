/*
 * list_json.h: list-backups and proposals as JSON (--format json).  Pure.
 */
#ifndef ORGUARD_RB_LIST_JSON_H
#define ORGUARD_RB_LIST_JSON_H

#include "runbooks/pitr_plan.h"

#include <stdint.h>

/*
 * The base backups as a JSON array (malloc'd, indented), oldest first as
 * given: label, type (types[i], or omitted when types is NULL),
 * system_identifier (a decimal string: it does not fit a double), timeline,
 * start_lsn, stop_lsn, start_time and stop_time (ISO 8601 UTC, null when
 * unknown).
 */
char	   *rb_backups_json(const pitr_backup *b, const char *const *types, int n);

/* one pending proposal, as "runbook proposals" shows it */
typedef struct rb_proposal_row
{
	const char *id;
	const char *runbook;
	const char *params;
	const char *node;			/* NULL: none */
	int64_t		proposed_us;
	int64_t		expires_us;
} rb_proposal_row;

/*
 * The pending proposals as a JSON array (malloc'd, indented): id, runbook,
 * params, node (null when none), proposed_at, expires_at (ISO 8601 UTC),
 * age_seconds and expires_in_seconds (at now_us, whole seconds).
 */
char	   *rb_proposals_json(const rb_proposal_row *rows, int n, int64_t now_us);

#endif
