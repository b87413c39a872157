/*
 * exit_status.h: what orguard-agent's exit status means, the same for the
 * daemon, check-config, once and every runbook command, so that scripts
 * and systemd (RestartPreventExitStatus) can tell the cases apart.
 */
#ifndef ORGUARD_EXIT_STATUS_H
#define ORGUARD_EXIT_STATUS_H

#define ORG_EXIT_OK				0	/* done (or, for a dry run, planned) */
#define ORG_EXIT_FAILED			1	/* failed; for a runbook, part-way (its journal says where) */
#define ORG_EXIT_CONFIG			2	/* configuration or usage error: nothing was tried */
#define ORG_EXIT_REFUSED		3	/* refused by a guard: nothing was changed */
#define ORG_EXIT_UNREACHABLE	4	/* a node it needs does not answer: nothing was changed */

/* the closing paragraph of every --help */
#define ORG_EXIT_STATUS_HELP \
	"Exit status:\n" \
	"  0  done (a dry run: planned)\n" \
	"  1  failed (a runbook: part-way; its journal says which step)\n" \
	"  2  configuration or usage error; nothing was tried\n" \
	"  3  refused by a guard; nothing was changed\n" \
	"  4  a node it needs does not answer; nothing was changed\n"

#endif
