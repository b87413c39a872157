/*
 * pitr_node.h: the node a point-in-time recovery brings up, whatever
 * backend restored its files: side-by-side settings, start, the wait for
 * the end of recovery (the node promotes at the target) and the checks
 * that it stopped where asked.  Shared by the native and pgBackRest
 * executors.
 */
#ifndef ORGUARD_RB_PITR_NODE_H
#define ORGUARD_RB_PITR_NODE_H

#include "common/config.h"
#include "runbooks/pitr_owner.h"
#include "runbooks/pitr_plan.h"
#include "runbooks/rbfile.h"
#include "runbooks/run.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pitr_node
{
	const char *bin_dir;		/* pg_ctl */
	const char *data_dir;
	const char *logfile;		/* pg_ctl -l: the "recovery stopping" line is read here */
	const char *conninfo;
	const char *password;		/* may be NULL */
	double		start_timeout_s;
	double		recovery_timeout_s;
	double		t_start;		/* measured */
	double		t_recovery;
	/* recovery replay's progress: from the backup's start to the target LSN (0: a time) */
	uint64_t	replay_from;
	uint64_t	replay_to;
} pitr_node;

/* pg_ctl status */
bool		pitr_node_running(const pitr_node *n);
/* pg_ctl start -w; the server log's tail in err when it fails */
bool		pitr_node_start(pitr_node *n, char *err, size_t errlen);
/* polls until pg_is_in_recovery() is false; fails early when the node stops */
bool		pitr_node_wait_promoted(pitr_node *n, rb_run *r, char *err, size_t errlen);

/*
 * The proof that recovery stopped at the target: the server log's
 * "recovery stopping" line, a timeline above the backup's and check_query
 * (may be NULL) returning true.  detail says what was seen either way.
 */
bool		pitr_node_verify(const pitr_node *n, uint32_t backup_timeline, const char *check_query,
							 char *detail, size_t len);

/*
 * The postgresql.auto.conf lines that keep a side-by-side node apart from
 * its source: own port and socket, no archiving into the source's
 * archive, no synchronous standbys, no upstream.
 */
char	   *pitr_side_by_side_settings(int port, const char *sock_dir);
/* "host=SOCK port=PORT dbname=... user=..." (user and dbname from src) */
char	   *pitr_restored_conninfo(const node_cfg *src, const char *sock_dir, int port);
/* something answers on the loopback port or a socket file exists */
bool		pitr_port_busy(const char *sock_dir, int port);
/*
 * The guards of a side-by-side restore, checked again by a resumed run:
 * an absolute restore directory that does not exist yet or is this run's
 * restore (pitr_owner.h; once step was journaled or the node started, it
 * must be), no foreign staging directory in the way, a port that is given
 * and free.  False with err naming the unmet guard.
 */
bool		pitr_side_by_side_guard(const rb_run *r, const char *step, const char *restore_dir, int port,
									const char *sock_dir, const pitr_identity *id, char *err, size_t errlen);

/*
 * The restored node's socket directory, server log, conninfo and (in
 * place) the path the old data directory is kept at, all malloc'd:
 * side by side, restore_socket_dir (default: restore_dir's parent),
 * RESTORE_DIR.log and the source's user and dbname on the new port; in
 * place, the node's own conninfo (port overridden when port > 0 differs),
 * DATA.pitr-RUN.log and DATA.before-pitr-RUN.
 */
void		pitr_job_paths(const rb_settings *s, const rb_run *r, const char *restore_dir, bool in_place,
						   int port, char **sock_dir, char **logfile, char **aside, char **conninfo);

/*
 * Where a restore goes and the node it becomes, the same whatever backend
 * restores the files: the run, the target, the restore directory (new, or
 * data_dir in place), the old data directory kept aside in place, port,
 * socket directory, server log and conninfo of the restored node.
 */
typedef struct pitr_dest
{
	rb_run		r;
	pitr_target target;
	char		target_text[128];
	const char *restore_dir;
	bool		in_place;
	char	   *aside;			/* in place: the old data directory, kept */
	int			port;
	char	   *sock_dir;
	char	   *logfile;
	char	   *conninfo;		/* of the restored node */
	pitr_node	node;
} pitr_dest;

/*
 * Opens the destination of a restore request: begins the run (its
 * parameters name the destination and target), fills the paths and the
 * node, and connects to the source node when one is configured (*src NULL
 * and a "source skipped" step when it does not answer; restoring from
 * what_else, e.g. "the archive", as it is).  Returns RB_EXIT_DONE or the
 * exit code of a run that could not begin (reported on stderr).
 */
int			pitr_dest_open(pitr_dest *d, const rb_settings *s, const pitr_target *target,
						   const char *req_restore_dir, int req_restore_port, bool in_place,
						   bool dry_run, const char *what_else, PGconn **src);
void		pitr_dest_close(pitr_dest *d);

/*
 * start (unless running), recovery, verify, then the run's final result
 * with the timings; returns the exit code.  Steps target n->data_dir.
 */
int			pitr_bring_up(rb_run *r, pitr_node *n, uint32_t backup_timeline, const char *check_query,
						  const char *target_text, int port, double t_restore);

#endif
