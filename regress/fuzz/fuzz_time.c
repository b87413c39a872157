/*
 * fuzz_time.c: the small value parsers: timestamps with a zone
 * (--target-time, backup times; written back they read the same), the
 * journal's timestamps, LSNs, recovery targets, schedules
 * (raise_during/mute_during), durations and quantities, listen addresses.
 */
#include "fuzz.h"
#include "common/config.h"
#include "common/listen_addr.h"
#include "common/schedule.h"
#include "runbooks/pitr_plan.h"
#include "runbooks/proposal.h"
#include "runbooks/rbutil.h"

#include <math.h>
#include <string.h>
#include <time.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_text(data, size);
	int64_t		us,
				us2;
	uint64_t	lsn,
				lsn2;
	double		d;
	char		buf[64];
	char		err[256];
	pitr_target t;
	schedule	sch = {0};
	listen_addr la;

	if (rb_time_parse(text, &us))
	{
		rb_time_format(us, buf, sizeof(buf));
		FUZZ_ASSERT(rb_time_parse(buf, &us2) && us2 == us);
	}
	(void) rb_journal_time_parse(text, &us);
	if (rb_lsn_parse(text, &lsn))
	{
		rb_lsn_format(lsn, buf, sizeof(buf));
		FUZZ_ASSERT(rb_lsn_parse(buf, &lsn2) && lsn2 == lsn);
	}
	for (int k = PITR_TARGET_TIME; k <= PITR_TARGET_EVENT; k++)
		if (pitr_target_parse((pitr_target_kind) k, text, &t, err, sizeof(err)))
			pitr_target_describe(&t, buf, sizeof(buf));
	if (schedule_parse(text, &sch) == NULL)
		(void) schedule_active_at(&sch, (time_t) 1764000000);
	schedule_free(&sch);
	if (parse_duration(text, &d))
		FUZZ_ASSERT(d >= 0 && isfinite(d));
	(void) parse_quantity(text, &d);
	/* a size is a whole, finite, non-negative count of bytes, and never minutes */
	if (parse_size(text, &d))
		FUZZ_ASSERT(d >= 0 && isfinite(d) && d == floor(d) && text[strlen(text) - 1] != 'm');
	if (parse_number(text, &d))
		FUZZ_ASSERT(isfinite(d));
	(void) listen_addr_parse(text, &la, err, sizeof(err));
	free(text);
	return 0;
}
