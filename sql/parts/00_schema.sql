-- odoo_retail_guard install script, assembled at build time from sql/parts/.
\echo Use "CREATE EXTENSION odoo_retail_guard" to load this file. \quit

-- Fail early, with a hint, when the library was not preloaded.
CREATE FUNCTION odoo_retail_guard._check_preloaded()
RETURNS void
AS 'MODULE_PATHNAME', 'org_check_preloaded'
LANGUAGE C STRICT;
SELECT odoo_retail_guard._check_preloaded();

-- Roles (cluster-wide, so another database may have created them already):
--   odoo_retail_guard_admin   may change the guard's state (reset, throttle rules)
--   odoo_retail_guard_reader  may read the views but never sees query texts;
--                             pg_monitor reads them too, and since pg_monitor
--                             includes pg_read_all_stats its members see texts
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'odoo_retail_guard_admin') THEN
		CREATE ROLE odoo_retail_guard_admin NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'odoo_retail_guard_reader') THEN
		CREATE ROLE odoo_retail_guard_reader NOLOGIN;
	END IF;
END
$$;

GRANT USAGE ON SCHEMA odoo_retail_guard
	TO pg_monitor, odoo_retail_guard_reader, odoo_retail_guard_admin;
REVOKE ALL ON FUNCTION odoo_retail_guard._check_preloaded() FROM PUBLIC;
