/*
 * bench_status_mem.c: what the status page's model state costs for one
 * node: the heap bytes the board holds after POLLS polls of a node of
 * 1,000 model groups, and (under callgrind, collecting measured_poll only)
 * the instructions of status_board_node per poll.  Run by
 * "make -C regress/unit/agent bench-status-mem", which builds it against
 * the current status_json.c and an earlier one and prints both.  Not a
 * test (make test does not run it), but the run fails when the two
 * builds' status documents differ.
 *
 * The node polls every 10 s and about 270 of its models grow per poll:
 * "rotating", models 0-199 at every poll and 70 of the other 800 in turn
 * (every model grows within the window: a key and points for each);
 * "steady", the same 270 at every poll.  One model a poll is missing from
 * the snapshot (listed again at the next).
 *
 *   bench_status_mem rotating|steady      (BENCH_DOC set: the last document too)
 *       prints: heap bytes, points kept, hash of the documents
 */
#include "export/status_json.h"
#include "common/config.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_MODELS 1000
#define POLLS 40
#define WARM_POLLS 20
#define INTERVAL_S 10
#define S(x) ((int64_t) (x) * 1000000)
#define T0 ((int64_t) 1795435200 * 1000000)

static OdooRetailGuard__ModelStat ms[N_MODELS];
static OdooRetailGuard__ModelStat *listed[N_MODELS];
static char names[N_MODELS][40];

static void
make_models(void)
{
	static const char *const ops[] = {"read", "write", "create", "unlink"};

	for (int i = 0; i < N_MODELS; i++)
	{
		OdooRetailGuard__ModelStat m = ODOO_RETAIL_GUARD__MODEL_STAT__INIT;

		snprintf(names[i], sizeof(names[i]), "x_model.m%03d", i / 4);
		m.database = "odoo";
		m.model = names[i];
		m.operation = (char *) ops[i % 4];
		m.calls = 1000;
		m.total_ms = 1000.0 + i * 3.25;
		ms[i] = m;
	}
}

/* the models this poll lists, their totals grown */
static size_t
next_poll(int p, bool steady)
{
	size_t		n = 0;

	for (int i = 0; i < N_MODELS; i++)
	{
		if (steady ? i < 270 : i < 200 || (i - 200 + 800 - (70 * p) % 800) % 800 < 70)
			ms[i].total_ms += i < 200 ? 0.25 + (i * 7 + p) % 13 * 1.5 : 40 + i % 17 * 7.3;
		if (i != (p * 37) % N_MODELS)
			listed[n++] = &ms[i];
	}
	return n;
}

static size_t
heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static uint64_t
fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}

/* the measured work: one poll recorded by the board */
__attribute__((noinline)) void measured_poll(status_board *b, const node_observation *obs,
											 const OdooRetailGuard__Snapshot *snap, int64_t t);

__attribute__((noinline)) void
measured_poll(status_board *b, const node_observation *obs, const OdooRetailGuard__Snapshot *snap, int64_t t)
{
	status_board_node(b, "store0042", "c1", obs, "", snap, t);
}

int
main(int argc, char **argv)
{
	bool		steady = argc > 1 && !strcmp(argv[1], "steady");
	OdooRetailGuard__Snapshot snap = ODOO_RETAIL_GUARD__SNAPSHOT__INIT;
	node_observation obs = {.reachable = true, .max_connections = 100, .connections = 7};
	uint64_t	doc_hash = 14695981039346656037ULL;
	size_t		before,
				base,
				held;
	status_board *b;

	make_models();
	snap.models = listed;
	/* what the board holds for the node without models: its document */
	before = heap_bytes();
	b = status_board_new();
	status_board_node(b, "store0042", "c1", &obs, "", &snap, T0);
	base = heap_bytes() - before;
	status_board_free(b);
	before = heap_bytes();
	b = status_board_new();
	for (int p = 0; p < POLLS; p++)
	{
		int64_t		t = T0 + S(INTERVAL_S * (p + 1));

		snap.n_models = next_poll(p, steady);
		if (p < WARM_POLLS)
			status_board_node(b, "store0042", "c1", &obs, "", &snap, t);
		else
			measured_poll(b, &obs, &snap, t);
		if (p % 5 == 4)
		{
			char	   *text = status_board_json(b, NULL, t);

			doc_hash = fnv(doc_hash, text);
			if (getenv("BENCH_DOC") && p == POLLS - 1)
				puts(text);
			free(text);
		}
	}
	held = heap_bytes() - before;
	printf("heap held for one node of %d models after %d polls (%s): %zu bytes\n", N_MODELS, POLLS,
		   steady ? "steady" : "rotating", held);
	printf("of which the model state: %zu bytes\n", held - base);
	printf("model points kept: %d\n", status_board_model_points(b));
	printf("status documents hash: %016llx\n", (unsigned long long) doc_hash);
	printf("measured polls: %d\n", POLLS - WARM_POLLS);
	status_board_free(b);
	return 0;
}
