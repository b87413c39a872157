/*
 * fuzz_pgbackrest_info.c: the output of `pgbackrest info --output=json`
 * as the pgBackRest PITR backend reads it, and its listing of backups.
 */
#include "fuzz.h"
#include "runbooks/pgbackrest_plan.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_text(data, size);
	pgbr_backups b = {0};
	char		err[256];

	if (pgbr_parse_info(text, "shop", &b, err, sizeof(err)))
	{
		char	   *d = pgbr_describe_backups(&b);

		for (int i = 1; i < b.n; i++)
			FUZZ_ASSERT(b.v[i - 1].stop_lsn <= b.v[i].stop_lsn);
		free(d);
	}
	else
		FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
	pgbr_backups_free(&b);
	free(text);
	return 0;
}
