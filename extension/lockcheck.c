/*-------------------------------------------------------------------------
 *
 * lockcheck.c
 *		Catalog helpers that check no LWLock of ours is held (lockcheck.h).
 *
 * Our LWLocks are found by their tranche names, so the trackers need not
 * register them; a tracker that adds a tranche adds its name here.  Ring
 * locks share one tranche per ring and are counted by ring.c instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "storage/lwlock.h"

#include "lockcheck.h"
#include "odoo_retail_guard.h"
#include "ring.h"

static const char *const our_tranches[] = {
	"odoo_retail_guard_queries",
	"odoo_retail_guard_locks",
	"odoo_retail_guard_replication",
	"odoo_retail_guard_throttle",
	"odoo_retail_guard_vacuum",
};

#if ORG_LOCK_CHECKS
static LWLock *our_locks[lengthof(our_tranches)];
static bool our_locks_known = false;

static void
find_our_locks(void)
{
	int			i;

	for (i = 0; i < lengthof(our_tranches); i++)
		our_locks[i] = &(GetNamedLWLockTranche(our_tranches[i]))->lock;
	our_locks_known = true;
}
#endif

void
org_check_no_lock_held(const char *what)
{
#if ORG_LOCK_CHECKS
	int			i;

	if (org_ring_locks_held > 0)
	{
		/* error recovery releases every LWLock */
		org_ring_locks_held = 0;
		elog(ERROR, "odoo_retail_guard: %s called while holding a ring lock",
			 what);
	}
	if (!org_shmem_ready())
		return;
	if (!our_locks_known)
		find_our_locks();
	for (i = 0; i < lengthof(our_tranches); i++)
	{
		if (LWLockHeldByMe(our_locks[i]))
			elog(ERROR, "odoo_retail_guard: %s called while holding LWLock %s",
				 what, our_tranches[i]);
	}
#endif
}

char *
org_database_name(Oid dbid)
{
	org_check_no_lock_held("get_database_name");
	return get_database_name(dbid);
}

char *
org_role_name(Oid roleid)
{
	org_check_no_lock_held("GetUserNameFromId");
	return GetUserNameFromId(roleid, true);
}
