/*-------------------------------------------------------------------------
 *
 * destructive_xact.c
 *		The destructive journal's per-transaction table.  Odoo's ORM removes
 *		or rewrites records in batches of at most 1000 ids, one statement per
 *		batch, all in the request's one transaction; so DELETE and UPDATE rows
 *		are summed here per (relation, kind, cause) over the top-level
 *		transaction and journaled at commit, one event per relation over
 *		odoo_retail_guard.destructive_min_rows.  DROP TABLE and TRUNCATE wait
 *		here for the commit too.
 *
 * Cause: rows changed by a DELETE or UPDATE that ran while another one was
 * executing (ON DELETE CASCADE / SET NULL through the RI triggers, or a
 * trigger) are counted on the relation they hit under the entry of the
 * outermost statement, which is journaled too when they are over the
 * threshold, so the event of the cascade can name the event that caused it.
 *
 * Subtransactions: a change made inside a savepoint saves the entry's
 * previous counts on an undo stack; ROLLBACK TO SAVEPOINT restores them,
 * RELEASE hands the saved counts to the parent.
 *
 * Commit: events are written at XACT_EVENT_COMMIT, after the commit record,
 * not at XACT_EVENT_PRE_COMMIT: after PRE_COMMIT the transaction can still
 * fail (serializable conflict, NOTIFY queue full), and an event for a
 * transaction that rolled back would send an engineer to restore data that
 * was never lost.  After the commit record an ERROR would be a PANIC, so
 * everything the write needs (names, model, normalized text, xid) is
 * prepared at statement time and the write itself only fills counts, takes
 * the ring's lock and copies.  The price: a backend killed between its
 * commit record and the ring loses that transaction's events.
 * PREPARE TRANSACTION journals like a commit (the changes are durable and
 * COMMIT PREPARED may run in another session, where this table is gone);
 * a prepared transaction rolled back later leaves its events behind.
 *
 * Memory: at most odoo_retail_guard.destructive_max_relations entries per
 * transaction (relations past it are counted as untracked), an undo stack
 * of at most four records per entry, the first statement's text (at most
 * RAW_TEXT_MAX bytes, normalized only once over the threshold) and prepared
 * events in a context reset at the end of every transaction that used it.  Nothing is
 * allocated in a way that can fail the user's statement.
 *
 * Locking: none here; the ring's LWLock is taken by org_destructive_write()
 * only to copy one prepared event.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/queryjumble.h"

#include "destructive.h"
#include "normalize.h"
#include "odoo_retail_guard.h"

/* undo records allowed per entry of the table */
#define UNDO_PER_ENTRY		4

/*
 * Bytes of a statement's text kept until it is known whether it is
 * journaled: normalizing every first statement of every transaction costs
 * more than the rest of the journal, copying it almost nothing.  Room for a
 * batch of 1000 seven-digit ids.
 */
#define RAW_TEXT_MAX		16384

typedef struct JournalEntry
{
	Oid			relid;
	int16		kind;			/* OrgDestructiveKind */
	int16		level;			/* subtransaction level of its latest change */
	int			cause;			/* entry whose statement caused these rows; -1 */
	bool		utility;		/* DROP TABLE or TRUNCATE: always journaled */
	bool		forced;			/* a cascade it caused is journaled */
	int64		rows;
	int32		statements;
	XLogRecPtr	lsn_before;
	char	   *raw;			/* first statement's text, journal_cxt */
	int			raw_len;
	DestructivePayload *event;	/* prepared once over the threshold */
	uint64		event_id;		/* once written */
} JournalEntry;

typedef struct UndoRecord
{
	int			entry;
	int16		level;			/* the subtransaction whose change it undoes */
	int16		prev_level;
	bool		created;
	int64		rows;
	int32		statements;
} UndoRecord;

static MemoryContext journal_cxt = NULL;
static bool journal_cxt_used = false;
static char *norm_buf = NULL;

static JournalEntry *entries = NULL;
static int	entries_cap = 0;
static int	n_entries = 0;
static int	last_hit = -1;

static UndoRecord *undo = NULL;
static int	undo_cap = 0;
static int	n_undo = 0;

static uint64 untracked = 0;
static Oid	last_untracked = InvalidOid;

static bool
over_threshold(const JournalEntry *e)
{
	return e->utility || e->rows > (int64) org_destructive_min_rows;
}

MemoryContext
org_journal_context(void)
{
	if (journal_cxt == NULL)
		journal_cxt = AllocSetContextCreate(TopMemoryContext,
											"odoo_retail_guard journal",
											ALLOCSET_SMALL_SIZES);
	journal_cxt_used = true;
	return journal_cxt;
}

static void *
journal_alloc(Size size)
{
	return MemoryContextAllocExtended(org_journal_context(), size,
									  MCXT_ALLOC_NO_OOM);
}

/* sized when a transaction adds its first entry: the GUC may have changed */
static bool
ensure_entries(void)
{
	if (n_entries == 0 && entries_cap != org_destructive_max_relations)
	{
		if (entries != NULL)
			pfree(entries);
		entries = MemoryContextAllocExtended(TopMemoryContext,
											 sizeof(JournalEntry) * org_destructive_max_relations,
											 MCXT_ALLOC_NO_OOM);
		entries_cap = entries ? org_destructive_max_relations : 0;
		if (undo != NULL)
			pfree(undo);
		undo = NULL;
		undo_cap = 0;
	}
	return n_entries < entries_cap;
}

static void
count_untracked(Oid relid)
{
	/* a run of batches on one relation counts once */
	if (relid != last_untracked)
		untracked++;
	last_untracked = relid;
}

int
org_journal_find(Oid relid, int16 kind, int cause)
{
	int			i;

	if (last_hit >= 0 && last_hit < n_entries &&
		entries[last_hit].relid == relid && entries[last_hit].kind == kind &&
		entries[last_hit].cause == cause)
		return last_hit;
	for (i = n_entries - 1; i >= 0; i--)
	{
		if (entries[i].relid == relid && entries[i].kind == kind &&
			entries[i].cause == cause)
			return last_hit = i;
	}
	return -1;
}

/* room for one more undo record; false when the stack is at its cap */
static bool
ensure_undo(void)
{
	int			max = entries_cap * UNDO_PER_ENTRY;
	int			want;
	UndoRecord *grown;

	if (n_undo < undo_cap)
		return true;
	if (undo_cap >= max)
		return false;
	want = Min(Max(undo_cap * 2, 16), max);
	grown = MemoryContextAllocExtended(TopMemoryContext, sizeof(UndoRecord) * want,
									   MCXT_ALLOC_NO_OOM);
	if (grown == NULL)
		return false;
	if (undo != NULL)
	{
		memcpy(grown, undo, sizeof(UndoRecord) * n_undo);
		pfree(undo);
	}
	undo = grown;
	undo_cap = want;
	return true;
}

/*
 * Save an entry's counts before its first change in the current
 * subtransaction.  Without room the change stays counted even if the
 * savepoint rolls back: an event too many rather than a mass change missed.
 */
static void
save_for_undo(int i, bool created)
{
	JournalEntry *e = &entries[i];
	int			level = GetCurrentTransactionNestLevel();
	UndoRecord *u;

	if (!created && e->level >= level)
		return;
	if (level > 1 && ensure_undo())
	{
		u = &undo[n_undo++];
		u->entry = i;
		u->level = level;
		u->prev_level = created ? 0 : e->level;
		u->created = created;
		u->rows = e->rows;
		u->statements = e->statements;
	}
	e->level = level;
}

/*
 * A new entry for rows about to be counted.  The statement's text is kept:
 * the event names the first statement of the batch.  -1 when the table is
 * full (counted as untracked).
 */
int
org_journal_add(Oid relid, int16 kind, int cause, XLogRecPtr lsn,
				const char *source, int location, int len)
{
	JournalEntry *e;
	int			i;

	if (!ensure_entries())
	{
		count_untracked(relid);
		return -1;
	}
	i = n_entries++;
	e = &entries[i];
	memset(e, 0, sizeof(*e));
	e->relid = relid;
	e->kind = kind;
	e->cause = cause;
	e->lsn_before = lsn;
	if (source != NULL)
	{
		/* copied now, normalized only if the entry crosses the threshold */
		const char *src = CleanQuerytext(source, &location, &len);

		e->raw_len = Min(len, RAW_TEXT_MAX);
		e->raw = journal_alloc(e->raw_len + 1);
		if (e->raw != NULL)
		{
			memcpy(e->raw, src, e->raw_len);
			e->raw[e->raw_len] = '\0';
		}
	}
	save_for_undo(i, true);
	last_hit = i;
	return i;
}

static void
prepare_event(JournalEntry *e)
{
	if (e->event != NULL)
		return;
	if (norm_buf == NULL)
		norm_buf = MemoryContextAllocExtended(TopMemoryContext,
											  org_query_text_length + 1,
											  MCXT_ALLOC_NO_OOM);
	if (e->raw != NULL && norm_buf != NULL)
		org_normalize_query(e->raw, e->raw_len, norm_buf, org_query_text_length + 1);
	e->event = org_destructive_prepare(e->relid, e->kind,
									   e->raw != NULL && norm_buf != NULL ? norm_buf : NULL,
									   org_journal_context());
}

/*
 * Count one statement's rows.  Crossing the threshold prepares the event
 * (and its cause's) now, while the catalog may still be read.
 */
void
org_journal_count_rows(int i, int64 rows)
{
	JournalEntry *e = &entries[i];

	save_for_undo(i, false);
	e->rows += rows;
	e->statements++;
	if (e->event == NULL && over_threshold(e))
	{
		prepare_event(e);
		if (e->cause >= 0)
			prepare_event(&entries[e->cause]);
	}
}

/* DROP TABLE or TRUNCATE, its event prepared before the statement ran */
void
org_journal_add_event(Oid relid, int16 kind, XLogRecPtr lsn,
					  int64 rows_estimate, DestructivePayload *p)
{
	int			i = org_journal_find(relid, kind, -1);

	if (i < 0)
	{
		if (!ensure_entries())
		{
			count_untracked(relid);
			return;
		}
		i = n_entries++;
		memset(&entries[i], 0, sizeof(JournalEntry));
		entries[i].relid = relid;
		entries[i].kind = kind;
		entries[i].cause = -1;
		entries[i].utility = true;
		entries[i].rows = rows_estimate;
		entries[i].lsn_before = lsn;
		entries[i].event = p;
		save_for_undo(i, true);
		last_hit = i;
	}
	else
		pfree(p);				/* the first statement's event stands */
	save_for_undo(i, false);
	entries[i].statements++;
}

/* ---- transaction ends ---- */

static void
write_events(void)
{
	int			i;

	for (i = 0; i < n_entries; i++)
		entries[i].forced = false;
	for (i = 0; i < n_entries; i++)
		if (entries[i].cause >= 0 && over_threshold(&entries[i]))
			entries[entries[i].cause].forced = true;

	/* a cause precedes its cascades: its id is known when they are written */
	for (i = 0; i < n_entries; i++)
	{
		JournalEntry *e = &entries[i];
		uint64		cause_id = 0;

		if (e->event == NULL || !(over_threshold(e) || e->forced))
			continue;
		if (e->cause >= 0)
			cause_id = entries[e->cause].event_id;
		e->event_id = org_destructive_write(e->event, e->rows, e->statements,
											e->lsn_before, cause_id);
	}
}

static bool
any_over_threshold(void)
{
	int			i;

	for (i = 0; i < n_entries; i++)
		if (over_threshold(&entries[i]))
			return true;
	return false;
}

static void
journal_reset(void)
{
	n_entries = 0;
	n_undo = 0;
	last_hit = -1;
	untracked = 0;
	last_untracked = InvalidOid;
	if (journal_cxt_used)
	{
		MemoryContextReset(journal_cxt);
		journal_cxt_used = false;
	}
}

static void
journal_xact_callback(XactEvent event, void *arg)
{
	if (n_entries == 0 && untracked == 0 && !journal_cxt_used)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PREPARE:
			write_events();
			org_destructive_count(0, untracked);
			journal_reset();
			break;
		case XACT_EVENT_ABORT:
			org_destructive_count(any_over_threshold() ? 1 : 0, untracked);
			journal_reset();
			break;
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			journal_reset();
			break;
		default:
			break;
	}
}

static void
forget_entry(int i)
{
	JournalEntry *e = &entries[i];

	/* entries made in a subtransaction are the newest: the table's tail */
	Assert(i == n_entries - 1);
	if (e->raw != NULL)
		pfree(e->raw);
	if (e->event != NULL)
		pfree(e->event);
	n_entries = i;
	if (last_hit >= n_entries)
		last_hit = -1;
}

/* ROLLBACK TO SAVEPOINT: its changes are undone, newest first */
static void
undo_subxact(int level)
{
	while (n_undo > 0 && undo[n_undo - 1].level == level)
	{
		UndoRecord *u = &undo[--n_undo];
		JournalEntry *e = &entries[u->entry];

		if (u->created)
			forget_entry(u->entry);
		else
		{
			e->rows = u->rows;
			e->statements = u->statements;
			e->level = u->prev_level;
		}
	}
}

/* RELEASE SAVEPOINT: its changes become the parent's */
static void
release_subxact(int level)
{
	int			first = n_undo;
	int			kept;
	int			i;

	while (first > 0 && undo[first - 1].level == level)
		first--;
	kept = first;
	for (i = first; i < n_undo; i++)
	{
		UndoRecord	u = undo[i];

		entries[u.entry].level = level - 1;
		/* the parent already saved this entry, or is the top level */
		if (level - 1 <= 1 || (!u.created && u.prev_level == level - 1))
			continue;
		u.level = level - 1;
		undo[kept++] = u;
	}
	n_undo = kept;
}

static void
journal_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	int			level;

	if (n_undo == 0)
		return;
	level = GetCurrentTransactionNestLevel();
	if (event == SUBXACT_EVENT_ABORT_SUB)
		undo_subxact(level);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		release_subxact(level);
}

void
org_journal_register_callbacks(void)
{
	RegisterXactCallback(journal_xact_callback, NULL);
	RegisterSubXactCallback(journal_subxact_callback, NULL);
}
