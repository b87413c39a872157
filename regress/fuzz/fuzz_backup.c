/*
 * fuzz_backup.c: what the PITR and rejoin runbooks read about a backup or
 * a data directory: backup_label, backup_manifest, the backup.json the
 * backup runbook writes (written back, it must read the same), and the
 * output of pg_controldata.
 */
#include "fuzz.h"
#include "runbooks/pitr_plan.h"
#include "runbooks/promote_plan.h"
#include "runbooks/rbutil.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_text(data, size);
	pitr_backup b = {0};
	controldata cd;
	char		reason[512];

	(void) pitr_parse_backup_label(text, &b);
	(void) pitr_parse_manifest(text, &b);
	pitr_backup_free(&b);
	memset(&b, 0, sizeof(b));
	if (pitr_backup_from_json(text, &b))
	{
		char	   *again = pitr_backup_to_json(&b);
		pitr_backup b2 = {0};

		FUZZ_ASSERT(pitr_backup_from_json(again, &b2));
		FUZZ_ASSERT(b2.sysid == b.sysid && b2.stop_lsn == b.stop_lsn && b2.timeline == b.timeline);
		pitr_backup_free(&b2);
		free(again);
	}
	pitr_backup_free(&b);
	memset(&cd, 0, sizeof(cd));
	if (controldata_parse(text, &cd))
	{
		FUZZ_ASSERT(memchr(cd.state, '\0', sizeof(cd.state)) != NULL);
		(void) rejoin_guard(&cd, false, cd.sysid, reason, sizeof(reason));
	}
	(void) rb_line_value(text, "START WAL LOCATION");
	free(text);
	return 0;
}
