/*
 * journal_runs.h: the runbook journal read back as runs, for the status
 * page.  Pure: the caller hands over the text (usually the tail of the
 * file) and gets a JSON array of the newest runs with their steps.
 */
#ifndef ORGUARD_RB_JOURNAL_RUNS_H
#define ORGUARD_RB_JOURNAL_RUNS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* steps kept per run (the newest); the rest are counted in steps_omitted */
#define JOURNAL_RUN_STEPS_KEPT 40

/*
 * The runs found in text[0..len), newest first, at most max_runs:
 * [{"run", "runbook", "kind" ("run" or "proposal"), "target", "params",
 *   "started", "finished", "result", "detail", "in_progress", "partial",
 *   "steps": [{"time", "step", "target", "result", "detail"}],
 *   "steps_omitted"}].
 * mid_file: text does not start at the beginning of the file, so its first
 * line may be cut and is dropped.  A last line without its newline (a write
 * under way or torn by a crash) is not read.  *torn receives the number of
 * lines that are not journal entries (odd bytes, cut lines).  A run whose
 * "started" line lies before text is "partial"; a run without its closing
 * line is "in_progress" (or was interrupted and not yet resumed).
 */
json_t	   *journal_runs_json(const char *text, size_t len, bool mid_file, int max_runs, int *torn);

#endif
