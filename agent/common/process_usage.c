/*
 * process_usage.c: the agent's own CPU time and resident memory from
 * /proc (see process_usage.h).
 */
#include "common/process_usage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool
process_usage_parse(const char *stat, const char *statm, long ticks_per_s, long page_size,
					process_usage *out)
{
	/* the command name is in parentheses and may hold spaces and ')': fields follow the last one */
	const char *p = stat ? strrchr(stat, ')') : NULL;
	unsigned long utime,
				stime;
	unsigned long size,
				resident;

	if (!p || !statm || ticks_per_s <= 0 || page_size <= 0)
		return false;
	/* after ") ": state (3), then fields 4 to 13, utime (14) and stime (15) */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
		return false;
	if (sscanf(statm, "%lu %lu", &size, &resident) != 2)
		return false;
	out->cpu_seconds = (double) (utime + stime) / (double) ticks_per_s;
	out->resident_bytes = (double) resident * (double) page_size;
	return true;
}

/* a small /proc file's text; false when it cannot be read */
static bool
read_small(const char *path, char *buf, size_t size)
{
	FILE	   *f = fopen(path, "r");
	size_t		n;

	if (!f)
		return false;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n > 0;
}

bool
process_usage_read(process_usage *out)
{
	char		stat[1024];
	char		statm[256];

	if (!read_small("/proc/self/stat", stat, sizeof(stat)) ||
		!read_small("/proc/self/statm", statm, sizeof(statm)))
		return false;
	return process_usage_parse(stat, statm, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), out);
}
