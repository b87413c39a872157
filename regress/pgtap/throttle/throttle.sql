-- Connection throttle: rules refuse exactly the matching connections over
-- their limit with SQLSTATE 53300, let superusers, exempt roles and others
-- through, count sessions already open, expire on time, drain sessions idle
-- in transaction, and refuse bad arguments and callers who are not admins.
-- Connection attempts go through dblink, as a client would make them.
\set ON_ERROR_STOP 1
\o /dev/null
CREATE EXTENSION pgtap;
CREATE EXTENSION odoo_retail_guard;
CREATE EXTENSION dblink;
CREATE ROLE org_t_odoo LOGIN;
CREATE ROLE org_t_agent LOGIN;
CREATE ROLE org_t_plain LOGIN;
CREATE ROLE org_t_admin LOGIN IN ROLE odoo_retail_guard_admin;
-- may call throttle() without being an admin member (EXECUTE granted directly)
CREATE ROLE org_t_setter LOGIN;
GRANT USAGE ON SCHEMA odoo_retail_guard TO org_t_setter;
GRANT EXECUTE ON FUNCTION odoo_retail_guard.throttle(text, integer, interval, text, text, text, text, text, interval),
	odoo_retail_guard.release(text) TO org_t_setter;
-- admitted as a plain role, made superuser while its session is open
CREATE ROLE org_t_promoted LOGIN;
CREATE ROLE org_t_monitor LOGIN IN ROLE pg_monitor;

CREATE FUNCTION conninfo(app text, usr text, db text DEFAULT current_database())
RETURNS text LANGUAGE sql AS $$
	SELECT format('host=%s port=%s dbname=%s user=%s application_name=%s',
				  current_setting('unix_socket_directories'), current_setting('port'),
				  db, usr, app)
$$;

-- 'ok' when admitted (the connection stays open under conn_name), else the
-- server's message as the client saw it
CREATE FUNCTION try_connect(conn_name text, app text, usr text DEFAULT 'org_t_odoo',
							db text DEFAULT current_database())
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	detail text;
BEGIN
	PERFORM dblink_connect(conn_name, conninfo(app, usr, db));
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	RETURN coalesce(detail, SQLERRM);
END
$$;

CREATE FUNCTION wait_for(cond text, secs float8 DEFAULT 10)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + make_interval(secs => secs);
	ok boolean;
BEGIN
	LOOP
		PERFORM pg_stat_clear_snapshot();
		EXECUTE cond INTO ok;
		IF ok THEN RETURN true; END IF;
		IF clock_timestamp() > deadline THEN RETURN false; END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;

CREATE FUNCTION logged_sqlstate(msg text)
RETURNS text LANGUAGE sql AS $$
	SELECT (regexp_match(pg_read_file(current_setting('unix_socket_directories') || '/server.log'),
						 'FATAL:  ([0-9A-Z]{5}): ' || msg))[1]
$$;
\o

SELECT plan(99);

-- ---- limit ----
SELECT cmp_ok(odoo_retail_guard.throttle('t_limit', 2, '10 min', 'lock storm on stock_quant',
	application_name => 'odoo-t-*', database => current_database()), '>', 0, 'throttle() returns the rule id');
SELECT is(try_connect('l1', 'odoo-t-1'), 'ok', 'first matching connection admitted');
SELECT is(try_connect('l2', 'odoo-t-2'), 'ok', 'second matching connection admitted');
SELECT matches(try_connect('l3', 'odoo-t-3'),
	'FATAL:  connection refused by throttle rule "t_limit": lock storm on stock_quant',
	'the third is refused with a message naming the rule and its reason');
SELECT matches(try_connect('l3', 'odoo-t-3'), 'HINT:  .*odoo_retail_guard.release\(''t_limit''\)',
	'the refusal carries a hint');
SELECT is(logged_sqlstate('connection refused by throttle rule "t_limit"'), '53300',
	'the refusal has SQLSTATE 53300 (too_many_connections)');
SELECT is(try_connect('o1', 'psql-admin'), 'ok', 'a connection the rule does not match is admitted');
SELECT is(try_connect('s1', 'odoo-t-4', 'postgres'), 'ok', 'a superuser is never refused');
SELECT is(try_connect('a1', 'odoo-t-5', 'org_t_agent'), 'ok',
	'a role in odoo_retail_guard.exempt_roles is never refused');
SELECT is((SELECT current_connections FROM odoo_retail_guard.throttle_rules WHERE name = 't_limit'),
	2, 'throttle_rules counts the connections admitted under the rule');
SELECT is((SELECT refused FROM odoo_retail_guard.throttle_rules WHERE name = 't_limit'),
	2::bigint, 'throttle_rules counts the refusals');
SELECT ok((SELECT remaining > interval '9 min' FROM odoo_retail_guard.throttle_rules WHERE name = 't_limit'),
	'throttle_rules shows the remaining time to live');
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.throttle_events
	WHERE kind = 'refused' AND rule_name = 't_limit' AND application_name = 'odoo-t-3'
	AND role = 'org_t_odoo' AND database = current_database()),
	2, 'throttle_events records each refusal with who was refused');
SELECT dblink_disconnect('l1');
SELECT ok(wait_for($$SELECT current_connections = 1 FROM odoo_retail_guard.throttle_rules WHERE name = 't_limit'$$),
	'a session that ends gives its place back');
SELECT is(try_connect('l3', 'odoo-t-3'), 'ok', 'then a new matching connection is admitted');
SELECT dblink_exec('l3', 'SET application_name = ''renamed''');
SELECT matches(try_connect('l4', 'odoo-t-6'), 'refused by throttle rule "t_limit"',
	'a session that changes its application_name still counts as admitted');
SELECT is(odoo_retail_guard.throttle('t_limit', 3, '10 min', 'lock storm on stock_quant',
	application_name => 'odoo-t-*', database => current_database()),
	(SELECT rule_id FROM odoo_retail_guard.throttle_rules WHERE name = 't_limit'),
	'setting a rule of the same name and match keeps its id');
SELECT is((SELECT (current_connections, max_connections)::text FROM odoo_retail_guard.throttle_rules
	WHERE name = 't_limit'), '(2,3)', '... and its count, under the new limit');
SELECT is(try_connect('l4', 'odoo-t-6'), 'ok', 'the raised limit admits one more');
SELECT ok(odoo_retail_guard.release('t_limit'), 'release() lifts a rule');
SELECT is(try_connect('l5', 'odoo-t-7'), 'ok', 'no limit after release');
SELECT ok(NOT odoo_retail_guard.release('t_limit'), 'release() of an unknown rule returns false');

-- ---- sessions already open, zero limit, classes, databases ----
SELECT is(try_connect('e1', 'odoo-seed-1'), 'ok', 'sessions open before a rule...');
SELECT is(try_connect('e2', 'odoo-seed-2'), 'ok', '... are admitted freely');
SELECT lives_ok($$SELECT odoo_retail_guard.throttle('t_seed', 2, '10 min', 'seed', application_name => 'odoo-seed-*', database => current_database())$$,
	'a rule set while matching sessions are open');
SELECT is((SELECT current_connections FROM odoo_retail_guard.throttle_rules WHERE name = 't_seed'),
	2, 'counts the sessions already open');
SELECT matches(try_connect('e3', 'odoo-seed-3'), 'refused by throttle rule "t_seed"',
	'and refuses the next one');
SELECT lives_ok($$SELECT odoo_retail_guard.throttle('t_zero', 0, '10 min', 'maintenance', role => 'org_t_plain')$$,
	'a rule with max_connections 0 by role');
SELECT matches(try_connect('z1', 'anything', 'org_t_plain'), 'refused by throttle rule "t_zero": maintenance',
	'refuses every new connection of the role');
SELECT lives_ok($$SELECT odoo_retail_guard.throttle('t_cron', 0, '10 min', 'crons off', worker_class => 'cron')$$,
	'a rule by Odoo worker class');
SELECT matches(try_connect('c1', 'odoo-cron-17'), 'refused by throttle rule "t_cron"',
	'refuses the cron workers');
SELECT is(try_connect('c2', 'odoo-17'), 'ok', 'and admits the HTTP workers');
SELECT lives_ok($$SELECT odoo_retail_guard.throttle('t_db', 0, '10 min', 'bus storm', database => 'postgres', role => 'org_t_odoo')$$,
	'a rule by database and role');
SELECT matches(try_connect('d1', 'odoo-17', 'org_t_odoo', 'postgres'), 'refused by throttle rule "t_db"',
	'refuses the role on that database');

-- ---- rule changes while sessions hold places ----
SELECT is(try_connect('g1', 'odoo-g-1'), 'ok', 'sessions admitted under a rule...');
SELECT is(try_connect('g2', 'odoo-g-2'), 'ok', '... two of them');
SELECT lives_ok($$SELECT odoo_retail_guard.throttle('t_gen', 5, '10 min', 'gen', application_name => 'odoo-g-*', database => current_database())$$,
	'a rule over them');
SELECT lives_ok($$SELECT odoo_retail_guard.throttle('t_gen', 5, '10 min', 'gen', application_name => 'odoo-g-1*', database => current_database())$$,
	'the rule set again with a narrower match');
SELECT is((SELECT current_connections FROM odoo_retail_guard.throttle_rules WHERE name = 't_gen'), 1,
	'counts only the sessions the new match covers');
SELECT dblink_disconnect('g2');
SELECT wait_for($$SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'odoo-g-2')$$);
SELECT is((SELECT current_connections FROM odoo_retail_guard.throttle_rules WHERE name = 't_gen'), 1,
	'a session admitted under the former rule does not give its place to the new one');
SELECT ok(odoo_retail_guard.release('t_gen'), 'released...');
SELECT lives_ok($$SELECT odoo_retail_guard.throttle('t_gen', 5, '10 min', 'gen', application_name => 'odoo-g-1*', database => current_database())$$,
	'... and set again');
SELECT is((SELECT current_connections FROM odoo_retail_guard.throttle_rules WHERE name = 't_gen'), 1,
	'counts the session still open');
SELECT dblink_disconnect('g1');
SELECT ok(wait_for($$SELECT current_connections = 0 FROM odoo_retail_guard.throttle_rules WHERE name = 't_gen'$$),
	'which gives its place back exactly once when it ends');

-- ---- expiry ----
SELECT lives_ok($$SELECT odoo_retail_guard.throttle('t_exp', 0, '1 second', 'short', application_name => 'odoo-exp-*', database => current_database())$$,
	'a rule with a one second time to live');
SELECT matches(try_connect('x1', 'odoo-exp-1'), 'refused by throttle rule "t_exp"', 'refuses while it lives');
SELECT pg_sleep(1.2);
SELECT is(try_connect('x1', 'odoo-exp-1'), 'ok', 'admits once it expired');
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.throttle_rules WHERE name = 't_exp'), 0,
	'an expired rule is gone from throttle_rules');

-- ---- drain ----
SELECT is(try_connect('dr1', 'odoo-drain-1'), 'ok', 'a session that will sit idle in transaction');
SELECT is(try_connect('dr2', 'odoo-drain-2'), 'ok', 'a session that will sit idle');
SELECT dblink_exec('dr1', 'BEGIN');
SELECT * FROM dblink('dr1', 'SELECT 1') AS t(x int);
SELECT lives_ok($$SELECT odoo_retail_guard.throttle('t_drain', 10, '10 min', 'drain crons',
	application_name => 'odoo-drain-*', database => current_database(),
	drain_idle_in_transaction => '1 second')$$,
	'a rule with a drain');
SELECT pg_sleep(1.2);
SELECT is(odoo_retail_guard.drain(), 1, 'drain() terminates only the session idle in transaction');
SELECT ok(wait_for($$SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'odoo-drain-1')$$)
	AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'odoo-drain-2'),
	'the drained session is gone, the idle one stays');
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.throttle_events
	WHERE kind = 'drained' AND rule_name = 't_drain' AND application_name = 'odoo-drain-1'), 1,
	'throttle_events records the drain');

-- ---- nobody who may set rules can be locked out ----
-- (exempt_roles names only org_t_agent: the admin member relies on nothing else)
SET ROLE org_t_admin;
SELECT throws_ok($$SELECT odoo_retail_guard.throttle('t_star', 0, '10 min', 'everyone out', application_name => '*')$$,
	'22023', 'a throttle rule must name a role, a database or a worker_class',
	'application_name => ''*'' alone is refused: it would match every role');
SELECT throws_ok($$SELECT odoo_retail_guard.throttle('t_star', 0, '10 min', 'everyone out', application_name => 'odoo-*')$$,
	'22023', 'a throttle rule must name a role, a database or a worker_class',
	'so is any application_name pattern alone: clients choose their application_name');
SELECT lives_ok($$SELECT odoo_retail_guard.throttle('t_star', 0, '10 min', 'everyone out',
	application_name => '*', database => current_database())$$,
	'a non-superuser admin member sets a rule refusing every connection to this database');
RESET ROLE;
\o /dev/null
SELECT current_connections AS star_before FROM odoo_retail_guard.throttle_rules WHERE name = 't_star' \gset
\o
SELECT matches(try_connect('st1', 'odoo-st-1'), 'refused by throttle rule "t_star"',
	'it refuses the Odoo role');
SELECT is(try_connect('st2', 'psql', 'org_t_admin'), 'ok',
	'but never a member of odoo_retail_guard_admin, who can always connect to lift it');
SELECT is((SELECT current_connections FROM odoo_retail_guard.throttle_rules WHERE name = 't_star'), :star_before,
	'an admin member is not counted either');
SELECT dblink_disconnect('st2');
SELECT ok(odoo_retail_guard.release('t_star'), 'released');
SET ROLE org_t_setter;
SELECT lives_ok($$SELECT odoo_retail_guard.throttle('t_self', 0, '10 min', 'everyone else out',
	database => current_database())$$,
	'a role with EXECUTE on throttle() but outside odoo_retail_guard_admin sets a rule');
RESET ROLE;
SELECT is(try_connect('se1', 'psql', 'org_t_setter'), 'ok', 'the rule never refuses the role that set it');
SELECT matches(try_connect('se2', 'odoo-se-2'), 'refused by throttle rule "t_self"', 'it refuses the others');
SELECT dblink_disconnect('se1');
SELECT ok(odoo_retail_guard.release('t_self'), 'released');

-- ---- drain() has pg_terminate_backend()'s permission checks ----
SELECT is(try_connect('dn1', 'odoo-dn-1'), 'ok', 'an Odoo session...');
SELECT is(try_connect('dn2', 'odoo-dn-2', 'org_t_promoted'), 'ok', '... and a session of a role made superuser later');
SELECT dblink_exec('dn1', 'BEGIN');
SELECT * FROM dblink('dn1', 'SELECT 1') AS t(x int);
SELECT dblink_exec('dn2', 'BEGIN');
SELECT * FROM dblink('dn2', 'SELECT 1') AS t(x int);
ALTER ROLE org_t_promoted SUPERUSER;
SET ROLE org_t_admin;
SELECT lives_ok($$SELECT odoo_retail_guard.throttle('t_dn', 10, '10 min', 'drain', application_name => 'odoo-dn-*',
	database => current_database(), drain_idle_in_transaction => '1 second')$$,
	'a non-superuser admin member sets a rule with a drain');
RESET ROLE;
SELECT is((SELECT current_connections FROM odoo_retail_guard.throttle_rules WHERE name = 't_dn'), 2,
	'both sessions are counted under it');
SELECT ok(wait_for($$SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name LIKE 'odoo-dn-%'
	AND state = 'idle in transaction' AND state_change < clock_timestamp() - interval '1.1 s'$$),
	'both sit idle in transaction longer than the drain allows');
SET ROLE org_t_admin;
SELECT is(odoo_retail_guard.drain(), 0,
	'without pg_signal_backend an admin member may not terminate other roles'' sessions');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_stat_activity WHERE application_name LIKE 'odoo-dn-%'), 2,
	'both sessions are still there');
GRANT pg_signal_backend TO org_t_admin;
SET ROLE org_t_admin;
SELECT is(odoo_retail_guard.drain(), 1, 'with pg_signal_backend it terminates the Odoo session only');
RESET ROLE;
SELECT ok(wait_for($$SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'odoo-dn-1')$$)
	AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'odoo-dn-2'),
	'a superuser''s session is never terminated by a non-superuser');
REVOKE pg_signal_backend FROM org_t_admin;
ALTER ROLE org_t_promoted NOSUPERUSER;
SELECT ok(odoo_retail_guard.release('t_dn'), 'released');

-- ---- arguments and privileges ----
SELECT throws_ok($$SELECT odoo_retail_guard.throttle('bad', -1, '1 min', 'r', application_name => 'x*')$$,
	'22023', 'max_connections must be zero or positive', 'a negative limit is refused');
SELECT throws_ok($$SELECT odoo_retail_guard.throttle('bad', 1, '1 min', 'r')$$,
	'22023', 'a throttle rule must name a role, a database or a worker_class',
	'a rule without a match is refused');
SELECT throws_like($$SELECT odoo_retail_guard.throttle('bad', 1, '0', 'r', application_name => 'x*')$$,
	'ttl must be positive%', 'a zero ttl is refused');
SELECT throws_like($$SELECT odoo_retail_guard.throttle('bad', 1, '2 hours', 'r', application_name => 'x*')$$,
	'ttl must be positive and at most odoo_retail_guard.throttle_max_ttl (3600 s)',
	'a ttl over odoo_retail_guard.throttle_max_ttl is refused');
SELECT throws_ok($$SELECT odoo_retail_guard.throttle('bad', 1, NULL, 'r', application_name => 'x*')$$,
	'22023', NULL, 'a missing ttl is refused');
SELECT throws_ok($$SELECT odoo_retail_guard.throttle('bad', 1, '1 min', '', application_name => 'x*')$$,
	'22023', 'a throttle rule needs a reason', 'an empty reason is refused');
SELECT throws_ok($$SELECT odoo_retail_guard.throttle('', 1, '1 min', 'r', application_name => 'x*')$$,
	'22023', 'a throttle rule needs a name', 'an empty name is refused');
SELECT throws_ok($$SELECT odoo_retail_guard.throttle(E'bad\nFATAL:  fake', 1, '1 min', 'r', database => 'x')$$,
	'22023', 'rule name must not contain control characters', 'a name with a newline is refused');
SELECT throws_ok($$SELECT odoo_retail_guard.throttle('bad', 1, '1 min', E'r\x1b[2J', database => 'x')$$,
	'22023', 'reason must not contain control characters', 'a reason with an escape sequence is refused');
SELECT throws_ok($$SELECT odoo_retail_guard.throttle('bad', 1, '1 min', E'r\rDETAIL: fake', database => 'x')$$,
	'22023', 'reason must not contain control characters', 'a reason with a carriage return is refused');
SELECT is(odoo_retail_guard.throttle('t_utf8', 1, '1 min', 'склад переполнен: ' || repeat('очередь ', 40),
	database => 'x') > 0, true, 'a long Cyrillic reason is accepted...');
SELECT is((SELECT (octet_length(reason) <= 255 AND reason = left('склад переполнен: ' || repeat('очередь ', 40), length(reason)))
	FROM odoo_retail_guard.throttle_rules WHERE name = 't_utf8'), true, '... and cut at a character boundary');
SELECT ok(odoo_retail_guard.release('t_utf8'), 'released');
SELECT throws_ok($$SELECT odoo_retail_guard.throttle('bad', 1, '1 min', 'r', worker_class => 'batch')$$,
	'22023', 'unknown Odoo worker class "batch"', 'an unknown worker class is refused');
SELECT is((SELECT count(*)::int FROM odoo_retail_guard.throttle_rules WHERE name = 'bad'), 0,
	'no refused call left a rule behind');

SET ROLE org_t_plain;
SELECT throws_ok($$SELECT odoo_retail_guard.throttle('p', 1, '1 min', 'r', application_name => 'x*')$$,
	'42501', NULL, 'others may not set rules');
SELECT throws_ok($$SELECT odoo_retail_guard.release('t_seed')$$, '42501', NULL, 'others may not release rules');
SELECT throws_ok($$SELECT * FROM odoo_retail_guard.throttle_rules$$, '42501', NULL, 'others may not read rules');
RESET ROLE;
SET ROLE org_t_monitor;
SELECT throws_ok($$SELECT odoo_retail_guard.throttle('p', 1, '1 min', 'r', application_name => 'x*')$$,
	'42501', NULL, 'pg_monitor members may not set rules');
SELECT cmp_ok((SELECT count(*)::int FROM odoo_retail_guard.throttle_rules), '>=', 1,
	'pg_monitor members read throttle_rules');
SELECT lives_ok($$SELECT * FROM odoo_retail_guard.throttle_events$$, 'and throttle_events');
RESET ROLE;
SET ROLE org_t_admin;
SELECT lives_ok($$SELECT odoo_retail_guard.throttle('t_admin', 5, '1 min', 'by admin', application_name => 'x*', database => 'x')$$,
	'odoo_retail_guard_admin members set rules');
SELECT is((SELECT set_by FROM odoo_retail_guard.throttle_rules WHERE name = 't_admin'), 'org_t_admin',
	'the rule records who set it');
SELECT ok(odoo_retail_guard.release('t_admin'), 'odoo_retail_guard_admin members release rules');
RESET ROLE;

SELECT dblink_disconnect(c) FROM unnest(dblink_get_connections()) c;
SELECT * FROM finish();
