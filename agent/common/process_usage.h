/*
 * process_usage.h: the agent's own CPU time and resident memory, as
 * Prometheus's process collector names them (process_cpu_seconds_total,
 * process_resident_memory_bytes), so that what the agent costs at a
 * site's scale is on its own /metrics.
 *
 * The parser is pure; process_usage_read() reads /proc/self.
 */
#ifndef ORGUARD_PROCESS_USAGE_H
#define ORGUARD_PROCESS_USAGE_H

#include <stdbool.h>

typedef struct process_usage
{
	double		cpu_seconds;	/* user + system */
	double		resident_bytes;
} process_usage;

/*
 * From the texts of /proc/<pid>/stat and /proc/<pid>/statm, clock ticks
 * per second and the page size.  False when a text is not in that format.
 */
bool		process_usage_parse(const char *stat, const char *statm, long ticks_per_s,
								long page_size, process_usage *out);

/* this process's, from /proc/self; false when /proc cannot be read */
bool		process_usage_read(process_usage *out);

#endif
