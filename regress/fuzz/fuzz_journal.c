/*
 * fuzz_journal.c: a runbook journal as a re-run or an approval reads it:
 * journal_read on the file, the unfinished run and its steps, and the
 * proposals (ids, states, the pending one of a runbook).
 */
#include "fuzz.h"
#include "runbooks/journal.h"
#include "runbooks/proposal.h"

#include <unistd.h>

static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	snprintf(path, sizeof(path), "/tmp/orguard-fuzz-journal-%d", (int) getpid());
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE	   *f = fopen(path, "w");
	journal_entries es = {0};
	char		err[256];
	const char *params = NULL;
	const char *run;
	const char **ids = NULL;
	int			n;

	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	if (!journal_read(path, &es, err, sizeof(err)))
	{
		unlink(path);
		return 0;
	}
	unlink(path);
	for (int i = 0; i < es.n; i++)
	{
		char	   *line = journal_format(&es.v[i]);
		journal_entry e = {0};

		/* what the journal writes, it reads back */
		FUZZ_ASSERT(journal_parse_line(line, &e));
		journal_entry_free(&e);
		free(line);
	}
	run = journal_unfinished_run(&es, "promote", &params);
	if (run)
	{
		(void) journal_step_done(&es, run, "promote", "s1");
		(void) journal_step_detail(&es, run, "fence");
	}
	n = rb_proposal_ids(&es, &ids);
	for (int i = 0; i < n; i++)
	{
		rb_proposal p;

		(void) rb_proposal_find(&es, ids[i], 1764000000000000LL, 1800, &p);
	}
	free(ids);
	(void) rb_proposal_pending_for(&es, "promote", "", 1764000000000000LL, 1800);
	journal_entries_free(&es);
	return 0;
}
