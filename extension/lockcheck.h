/*-------------------------------------------------------------------------
 *
 * lockcheck.h
 *		Catalog helpers that refuse to run while this process holds one of
 *		the extension's LWLocks.
 *
 * The rule (docs/reference.md, "Safety"): our LWLocks are held only to copy
 * memory.  A catalog lookup can wait on a heavyweight lock (LOCK
 * pg_database, VACUUM FULL of a catalog); under an LWLock that wait is
 * invisible to the deadlock detector and cannot be interrupted, so every
 * backend that needs the same LWLock hangs with it.  Code that resolves
 * names goes through these helpers, which check the rule when
 * ORG_LOCK_CHECKS is on (the default; build with -DORG_LOCK_CHECKS=0 to
 * leave the checks out): a violation is an internal error, never a hang.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORG_LOCKCHECK_H
#define ORG_LOCKCHECK_H

#include "postgres.h"

#ifndef ORG_LOCK_CHECKS
#define ORG_LOCK_CHECKS 1
#endif

/* errors out when one of our LWLocks is held; "what" names the caller */
extern void org_check_no_lock_held(const char *what);

/* palloc'd names; NULL when the object no longer exists */
extern char *org_database_name(Oid dbid);
extern char *org_role_name(Oid roleid);

#endif							/* ORG_LOCKCHECK_H */
