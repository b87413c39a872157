/*
 * fuzz_runbook_settings.c: [runbook NAME] sections as `orguard-agent
 * runbook check-config` validates them (rb_settings_load for each), after
 * the configuration around them is parsed.
 */
#include "fuzz.h"
#include "common/config.h"
#include "runbooks/settings.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_text(data, size);
	agent_cfg	cfg;
	config_errors errs = {0};
	config_errors rb_errs = {0};

	config_parse("/fuzz/agent.conf", text, &cfg, &errs);
	rb_settings_check_all(&cfg, &rb_errs);
	for (int i = 0; i < cfg.n_runbooks; i++)
	{
		char		err[256];

		(void) rb_settings_find(&cfg, cfg.runbooks[i].name, RB_KIND_PROMOTE, err, sizeof(err));
		(void) rb_settings_find(&cfg, NULL, RB_KIND_PITR, err, sizeof(err));
	}
	config_errors_free(&rb_errs);
	config_errors_free(&errs);
	config_free(&cfg);
	free(text);
	return 0;
}
