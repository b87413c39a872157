/*
 * fuzz_config.c: agent.conf text through the INI reader and the whole
 * configuration interpretation (config_parse), as check-config and SIGHUP
 * read it.  Every error must name the file.
 */
#include "fuzz.h"
#include "common/config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_text(data, size);
	agent_cfg	cfg;
	config_errors errs = {0};

	config_parse("/fuzz/agent.conf", text, &cfg, &errs);
	for (int i = 0; i < errs.n; i++)
		FUZZ_ASSERT(strncmp(errs.msg[i], "/fuzz/agent.conf:", 17) == 0);
	/* whatever was accepted is within its documented range */
	if (errs.n == 0)
	{
		FUZZ_ASSERT(cfg.top_n >= 1 && cfg.top_n <= 100000);
		FUZZ_ASSERT(cfg.interval_s >= 0.1 && cfg.interval_s <= 86400);
		for (int i = 0; i < cfg.n_rules; i++)
			FUZZ_ASSERT(cfg.rules[i].flap_count >= 0 && cfg.rules[i].flap_count <= 16);
		for (int i = 0; i < cfg.n_pagers; i++)
			FUZZ_ASSERT(cfg.pagers[i].name[0] != '.' && !strchr(cfg.pagers[i].name, '/'));
	}
	config_errors_free(&errs);
	config_free(&cfg);
	free(text);
	return 0;
}
