-- Without shared_preload_libraries, CREATE EXTENSION fails with a hint.
\set ON_ERROR_STOP 1
\o /dev/null
CREATE EXTENSION pgtap;
CREATE FUNCTION pg_temp.create_ext_error(OUT msg text, OUT hint text, OUT state text)
LANGUAGE plpgsql AS $$
BEGIN
	CREATE EXTENSION odoo_retail_guard;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT, state = RETURNED_SQLSTATE;
END
$$;
CREATE TEMP TABLE err AS SELECT * FROM pg_temp.create_ext_error();
\o

SELECT plan(4);
SELECT is((SELECT state FROM err), '55000', 'SQLSTATE object_not_in_prerequisite_state');
SELECT is((SELECT msg FROM err), 'odoo_retail_guard must be loaded via shared_preload_libraries', 'clear message');
SELECT matches((SELECT hint FROM err), 'shared_preload_libraries', 'the hint names shared_preload_libraries');
SELECT hasnt_extension('odoo_retail_guard', 'nothing was half-installed');
SELECT * FROM finish();
