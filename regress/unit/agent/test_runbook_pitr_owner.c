/*
 * test_runbook_pitr_owner.c
 *	  Unit tests for the proof that a directory is a PITR run's own restore
 *	  (pitr_owner.c): the pure decision, and the staging directory on disk
 *	  (a temporary directory): a copy cut short is removed only when its
 *	  marker names the run and its data is the backup's; a directory
 *	  without the marker, another run's, or another cluster's is never
 *	  touched; the commit never replaces an existing destination.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "runbooks/pitr_owner.h"
#include "runbooks/rbfile.h"
#include "common/util.h"

static char dir[64];

static int
setup(void **state)
{
	(void) state;
	snprintf(dir, sizeof(dir), "/tmp/orguard-owner.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char	   *cmd = xasprintf("rm -rf '%s'", dir);
	int			rc = system(cmd);

	(void) state;
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static const pitr_identity id = {"20261206T101010Z-42", 7716304127394776112ULL, "15"};

static pitr_dir_facts
ours_complete(void)
{
	pitr_dir_facts f = {true, true, "20261206T101010Z-42", true, "15", true, 7716304127394776112ULL};

	return f;
}

static void
test_decide(void **state)
{
	char		why[512];
	pitr_dir_facts f = ours_complete();
	pitr_dir_facts absent = {0};

	(void) state;
	assert_int_equal(pitr_dir_owner_decide(&absent, &id, false, why, sizeof(why)), PITR_DIR_ABSENT);
	assert_int_equal(pitr_dir_owner_decide(&f, &id, false, why, sizeof(why)), PITR_DIR_OURS);
	/* a live data directory moved back: no marker, same cluster */
	f.has_marker = false;
	assert_int_equal(pitr_dir_owner_decide(&f, &id, false, why, sizeof(why)), PITR_DIR_FOREIGN);
	assert_non_null(strstr(why, "this run did not create it"));
	/* another run's marker (copied along in a backup of a restored cluster) */
	f = ours_complete();
	strcpy(f.marker_run, "20261101T000000Z-7");
	assert_int_equal(pitr_dir_owner_decide(&f, &id, true, why, sizeof(why)), PITR_DIR_FOREIGN);
	/* our marker, another cluster's data */
	f = ours_complete();
	f.sysid = 1;
	assert_int_equal(pitr_dir_owner_decide(&f, &id, true, why, sizeof(why)), PITR_DIR_FOREIGN);
	assert_non_null(strstr(why, "system identifier"));
	f = ours_complete();
	strcpy(f.pg_version, "14");
	assert_int_equal(pitr_dir_owner_decide(&f, &id, true, why, sizeof(why)), PITR_DIR_FOREIGN);
	/* a copy cut short before pg_control: ours as staging, never as the restore */
	f = ours_complete();
	f.has_control = false;
	f.has_pg_version = false;
	assert_int_equal(pitr_dir_owner_decide(&f, &id, true, why, sizeof(why)), PITR_DIR_OURS);
	assert_int_equal(pitr_dir_owner_decide(&f, &id, false, why, sizeof(why)), PITR_DIR_FOREIGN);
	/* the backup's identity unknown: a complete restore cannot be proven */
	{
		pitr_identity unknown = {id.run, 0, ""};

		f = ours_complete();
		assert_int_equal(pitr_dir_owner_decide(&f, &unknown, false, why, sizeof(why)), PITR_DIR_FOREIGN);
	}
}

static void
write_text(const char *path, const char *text)
{
	assert_true(rb_file_write(path, text, false));
}

/* a data directory with PG_VERSION and a pg_control of system identifier sysid */
static void
make_data(const char *data, uint64_t sysid)
{
	char	   *p;
	char		control[8192] = {0};
	int			fd;

	assert_int_equal(mkdir(data, 0700), 0);
	p = xasprintf("%s/PG_VERSION", data);
	write_text(p, "15\n");
	free(p);
	p = xasprintf("%s/global", data);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	memcpy(control, &sysid, sizeof(sysid));
	p = xasprintf("%s/global/pg_control", data);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, control, sizeof(control)), (ssize_t) sizeof(control));
	close(fd);
	free(p);
}

static void
test_staging_cycle(void **state)
{
	char	   *dest = xasprintf("%s/data", dir);
	char	   *staging = pitr_staging_path(dest, id.run);
	char	   *sdata = pitr_staging_data(dest, id.run);
	char	   *keep = xasprintf("%s/keep", staging);
	char		err[1024],
				why[512];

	(void) state;
	/* first run: staging created and marked, then a copy cut short */
	assert_true(pitr_staging_begin(dest, &id, err, sizeof(err)));
	make_data(sdata, id.sysid);
	assert_int_equal(pitr_staging_owner(dest, &id, why, sizeof(why)), PITR_DIR_OURS);
	/* the resumed run throws its own cut-short copy away and starts again */
	write_text(keep, "half\n");
	assert_true(pitr_staging_begin(dest, &id, err, sizeof(err)));
	assert_int_not_equal(access(keep, F_OK), 0);
	make_data(sdata, id.sysid);
	assert_true(pitr_staging_commit(dest, &id, err, sizeof(err)));
	assert_int_not_equal(access(staging, F_OK), 0);
	assert_int_equal(pitr_dest_owner(dest, &id, why, sizeof(why)), PITR_DIR_OURS);
	/* a second commit never replaces the destination */
	assert_true(pitr_staging_begin(dest, &id, err, sizeof(err)));
	make_data(sdata, id.sysid);
	assert_false(pitr_staging_commit(dest, &id, err, sizeof(err)));
	assert_true(pitr_staging_remove(dest, &id, err, sizeof(err)));
	/* once done, the marker goes: the directory is nobody's restore any more */
	pitr_marker_remove(dest);
	assert_int_equal(pitr_dest_owner(dest, &id, why, sizeof(why)), PITR_DIR_FOREIGN);
	free(dest);
	free(staging);
	free(sdata);
	free(keep);
}

static void
test_foreign_staging_untouched(void **state)
{
	char	   *dest = xasprintf("%s/other", dir);
	char	   *staging = pitr_staging_path(dest, id.run);
	char	   *sdata = pitr_staging_data(dest, id.run);
	char	   *marker = xasprintf("%s/%s", staging, PITR_MARKER);
	char	   *pgv = xasprintf("%s/PG_VERSION", sdata);
	char		err[1024];

	(void) state;
	/* no marker: someone else's directory under our staging name */
	assert_int_equal(mkdir(staging, 0700), 0);
	make_data(sdata, id.sysid);
	assert_false(pitr_staging_begin(dest, &id, err, sizeof(err)));
	assert_non_null(strstr(err, "not this run's copy"));
	assert_int_equal(access(pgv, F_OK), 0);
	/* our marker but another cluster's files: untouched too */
	write_text(marker, "run 20261206T101010Z-42\n");
	{
		char	   *cmd = xasprintf("rm -rf '%s'", sdata);

		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
	make_data(sdata, 12345);
	assert_false(pitr_staging_remove(dest, &id, err, sizeof(err)));
	assert_non_null(strstr(err, "system identifier"));
	assert_int_equal(access(pgv, F_OK), 0);
	free(dest);
	free(staging);
	free(sdata);
	free(marker);
	free(pgv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_staging_cycle),
		cmocka_unit_test(test_foreign_staging_untouched),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
