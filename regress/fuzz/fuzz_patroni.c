/*
 * fuzz_patroni.c: Patroni's REST /cluster answer (and its description),
 * a member's role, and the patroni_auth_file text.
 */
#include "fuzz.h"
#include "runbooks/patroni_plan.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_text(data, size);
	patroni_cluster c;
	char		err[256];
	char		user[128],
				password[256];

	memset(&c, 0, sizeof(c));
	if (patroni_cluster_parse(text, &c, err, sizeof(err)))
	{
		char	   *d = patroni_describe(&c);

		free(d);
	}
	patroni_cluster_free(&c);
	(void) patroni_role_parse(text);
	if (patroni_auth_parse(text, user, sizeof(user), password, sizeof(password)))
	{
		FUZZ_ASSERT(memchr(user, '\0', sizeof(user)) != NULL);
		FUZZ_ASSERT(memchr(password, '\0', sizeof(password)) != NULL);
	}
	free(text);
	return 0;
}
