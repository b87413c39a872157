/*-------------------------------------------------------------------------
 *
 * relation_label.c
 *	  The one naming rule for relations in snapshots, views and events.
 *
 *-------------------------------------------------------------------------
 */
#include "relation_label.h"

#include <stdio.h>
#include <string.h>

#include "odoo_classify.h"

bool
org_relation_label_needs_schema(unsigned int nspid)
{
	return nspid != ORG_PUBLIC_NAMESPACE_OID;
}

bool
org_relation_label(unsigned int nspid, const char *nspname,
				   const char *relname,
				   char *relation, size_t relation_len,
				   char *model, size_t model_len)
{
	if (model != NULL && model_len > 0)
		model[0] = '\0';
	if (relation == NULL || relation_len == 0)
		return false;
	if (relname == NULL)
		relname = "";

	if (!org_relation_label_needs_schema(nspid))
	{
		/* truncating copy, as strlcpy */
		size_t		len = strlen(relname);

		if (len >= relation_len)
			len = relation_len - 1;
		memcpy(relation, relname, len);
		relation[len] = '\0';
		return org_model_from_table(relname, model, model_len);
	}

	snprintf(relation, relation_len, "%s.%s",
			 nspname != NULL ? nspname : "?", relname);
	return false;
}
