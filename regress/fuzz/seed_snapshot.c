/*
 * seed_snapshot.c: writes corpus/snapshot/full, a packed Snapshot with an
 * entry in each repeated field the agent reads ("make seed-snapshot"),
 * since the fuzzer finds protobuf framing slowly on its own.
 */
#include "odoo_retail_guard.pb-c.h"

#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	OdooRetailGuard__Snapshot s = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	OdooRetailGuard__NodeIdentity id = ODOO_RETAIL_GUARD__NODE_IDENTITY__INIT;
	OdooRetailGuard__ConnectionStats cs = ODOO_RETAIL_GUARD__CONNECTION_STATS__INIT;
	OdooRetailGuard__BlockingChain c1 = ODOO_RETAIL_GUARD__BLOCKING_CHAIN__INIT;
	OdooRetailGuard__BlockingChain *chains[1] = {&c1};
	int32_t		chain[2] = {501, 400};
	OdooRetailGuard__AutovacuumLag av = ODOO_RETAIL_GUARD__AUTOVACUUM_LAG__INIT;
	OdooRetailGuard__AutovacuumLag *avs[1] = {&av};
	OdooRetailGuard__ReplicationStandby rs = ODOO_RETAIL_GUARD__REPLICATION_STANDBY__INIT;
	OdooRetailGuard__ReplicationStandby *rss[1] = {&rs};
	OdooRetailGuard__ReplicationSlot sl = ODOO_RETAIL_GUARD__REPLICATION_SLOT__INIT;
	OdooRetailGuard__ReplicationSlot *sls[1] = {&sl};
	OdooRetailGuard__ModelStat ms = ODOO_RETAIL_GUARD__MODEL_STAT__INIT;
	OdooRetailGuard__ModelStat *mss[1] = {&ms};
	OdooRetailGuard__QueryStat qs = ODOO_RETAIL_GUARD__QUERY_STAT__INIT;
	OdooRetailGuard__QueryStat *qss[1] = {&qs};
	OdooRetailGuard__DestructiveEvent de = ODOO_RETAIL_GUARD__DESTRUCTIVE_EVENT__INIT;
	OdooRetailGuard__DestructiveEvent *des[1] = {&de};
	OdooRetailGuard__VacuumHorizon vh = ODOO_RETAIL_GUARD__VACUUM_HORIZON__INIT;
	OdooRetailGuard__StandbyStatus st = ODOO_RETAIL_GUARD__STANDBY_STATUS__INIT;
	uint8_t    *buf;
	size_t		len;
	FILE	   *f;

	if (argc != 2)
		return 2;
	s.schema_version = 1;
	s.next_cursor = 17;
	id.system_identifier = 7300000000000000001ULL;
	id.timeline = 1;
	id.time_us = 1764000000000000LL;
	s.node = &id;
	cs.max_connections = 100;
	cs.total = 90;
	s.connections = &cs;
	c1.waiter_pid = 600;
	c1.database = "odoo";
	c1.relation = "stock_quant";
	c1.model = "";
	c1.wait_ms = 42000;
	c1.n_chain = 2;
	c1.chain = chain;
	c1.root_pid = 400;
	c1.root_application_name = "odoo-cron";
	c1.root_state = "idle in transaction";
	c1.root_xact_age_ms = 600000;
	c1.root_query = "UPDATE stock_quant SET quantity = $1 WHERE id = $2";
	s.n_blocking_chains = 1;
	s.blocking_chains = chains;
	av.database = "odoo";
	av.relation = "mail_message";
	av.model = "mail.message";
	av.dead_tuples = 123456;
	av.over_threshold_since_us = 1;
	av.lag_s = 7200;
	av.xid_age = 1500000000;
	s.n_autovacuum_lag = 1;
	s.autovacuum_lag = avs;
	rs.application_name = "replica1";
	rs.replay_lag_bytes = 2147483648LL;
	rs.replay_lag_ms = 400000;
	s.n_replication = 1;
	s.replication = rss;
	sl.slot_name = "old_slot";
	sl.retained_bytes = 5368709120LL;
	s.n_replication_slots = 1;
	s.replication_slots = sls;
	ms.database = "odoo";
	ms.model = "sale.order";
	ms.operation = "select";
	ms.slow_calls = 100;
	ms.calls = 1000;
	ms.p95_ms = 12;
	s.n_models = 1;
	s.models = mss;
	qs.database = "odoo";
	qs.relation = "sale_order";
	qs.operation = "select";
	qs.calls = 10;
	s.n_queries = 1;
	s.queries = qss;
	de.id = 9;
	de.kind = "truncate";
	de.database = "odoo";
	de.relation = "account_move_line";
	de.role = "odoo";
	de.rows = 1000;
	s.n_destructive_events = 1;
	s.destructive_events = des;
	vh.age_s = 4000;
	vh.xmin_age = 5000;
	vh.holder_kind = "replication_slot";
	vh.name = "old_slot";
	s.vacuum_horizon = &vh;
	st.receiver_state = "stopping";
	st.replay_delay_ms = 90000;
	s.standby = &st;
	len = odoo_retail_guard__snapshot__get_packed_size(&s);
	buf = malloc(len);
	odoo_retail_guard__snapshot__pack(&s, buf);
	f = fopen(argv[1], "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		return 1;
	free(buf);
	return 0;
}
