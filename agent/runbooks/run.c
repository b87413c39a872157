/*
 * run.c: lock, journal and reporting around a runbook run.
 */
#include "runbooks/run.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static rb_run_observer observer;
static rb_format output_format = RB_FORMAT_TEXT;

void
rb_run_set_format(rb_format f)
{
	output_format = f;
}

rb_format
rb_run_format(void)
{
	return output_format;
}

/* where a dry run hands its plan instead of printing it (rb_run_keep_plan) */
static rb_plan *kept_plan;

void
rb_run_keep_plan(rb_plan *out)
{
	kept_plan = out;
}

/* a dry run in JSON format prints nothing until it finishes */
static bool
dry_json(const rb_run *r)
{
	return r->dry_run && output_format == RB_FORMAT_JSON;
}

/* a dry run whose plan is kept as data prints nothing at all */
static bool
dry_quiet(const rb_run *r)
{
	return r->dry_run && (output_format == RB_FORMAT_JSON || kept_plan);
}

/* text output: printed, and in a dry run kept in the plan's output too */
static void
emit(rb_run *r, const char *text)
{
	if (r->dry_run)
		rb_plan_add_output(&r->plan, text);
	if (!dry_quiet(r))
	{
		fputs(text, stdout);
		fflush(stdout);
	}
}

void
rb_plan_text(rb_run *r, const char *fmt,...)
{
	strbuf		sb;
	va_list		ap;

	sb_init(&sb);
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	rb_plan_add_text(&r->plan, sb.data);
	emit(r, sb.data);
	sb_free(&sb);
}

void
rb_run_observe(rb_run_observer fn)
{
	observer = fn;
}

static void
observe(const rb_settings *s, const char *run, const char *step, const char *target,
		const char *result, const char *detail, bool final, int64_t started_us)
{
	rb_run_line l = {s, run, step, target, result, detail, final, started_us};

	if (observer)
		observer(&l);
}

static int
take_lock(const rb_settings *s, char *err, size_t errlen)
{
	char	   *path = xasprintf("%s.%s.lock", s->journal, s->cluster);
	int			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
	{
		snprintf(err, errlen, "cannot open lock %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		char		holder[32] = "";
		ssize_t		n = pread(fd, holder, sizeof(holder) - 1, 0);

		holder[n > 0 ? n : 0] = '\0';
		holder[strcspn(holder, "\n")] = '\0';
		snprintf(err, errlen, "another runbook is running on cluster %s (pid %s)", s->cluster,
				 *holder ? holder : "?");
		close(fd);
		free(path);
		return -2;
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%d\n", (int) getpid());
	free(path);
	return fd;
}

/*
 * A refusal before the run could begin still leaves its trace: a run of its
 * own, opened and refused at once (O_APPEND keeps concurrent lines whole).
 */
static void
journal_refusal(const rb_settings *s, const char *params, const char *guard, const char *why)
{
	rb_journal	j;
	char		err[256];
	char	   *run = journal_new_run_id(now_us(), (int) getpid());

	if (journal_open(&j, s->journal, s->name, run, err, sizeof(err)))
	{
		journal_write(&j, "runbook", s->cluster, "started", "%s", params);
		journal_write(&j, "runbook", s->cluster, "refused", "%s: %s", guard, why);
		journal_close(&j);
	}
	{
		char	   *detail = xasprintf("%s: %s", guard, why);

		observe(s, run, "runbook", s->cluster, "refused", detail, true, now_us());
		free(detail);
	}
	free(run);
}

int
rb_run_begin(rb_run *r, const rb_settings *s, const char *params, bool dry_run, char *err, size_t errlen)
{
	const char *open_run,
			   *open_params = NULL;

	memset(r, 0, sizeof(*r));
	r->s = s;
	r->runbook = s->name;
	r->dry_run = dry_run;
	r->lock_fd = -1;
	r->j.fd = -1;
	r->t0_ms = mono_ms();
	r->started_us = now_us();
	if (!journal_read(s->journal, &r->past, err, errlen))
		return RB_EXIT_FAILED;
	open_run = journal_unfinished_run(&r->past, s->name, &open_params);
	if (dry_run)
	{
		rb_plan_init(&r->plan, s->name, s->cluster);
		if (open_run)
		{
			char	   *note = xasprintf("run %s of %s was interrupted; a real run %s", open_run, s->name,
										 strcmp(open_params, params) ? "would refuse (other parameters)" : "would resume it");

			char	   *line = xasprintf("note: %s\n", note);

			rb_plan_add_note(&r->plan, note);
			emit(r, line);
			free(line);
			free(note);
		}
		r->run = xstrdup("dry-run");
		return RB_EXIT_DONE;
	}
	r->lock_fd = take_lock(s, err, errlen);
	if (r->lock_fd == -2)
	{
		journal_refusal(s, params, "lock", err);
		return RB_EXIT_REFUSED;
	}
	if (r->lock_fd < 0)
		return RB_EXIT_FAILED;
	if (open_run && strcmp(open_params, params) != 0)
	{
		snprintf(err, errlen,
				 "run %s of %s was interrupted with other parameters (%s); "
				 "resume it with the same ones or close it with: orguard-agent runbook abandon %s",
				 open_run, s->name, open_params, s->name);
		journal_refusal(s, params, "unfinished_run", err);
		close(r->lock_fd);
		r->lock_fd = -1;
		return RB_EXIT_REFUSED;
	}
	if (open_run)
	{
		r->run = xstrdup(open_run);
		r->resumed = true;
	}
	else
		r->run = journal_new_run_id(now_us(), (int) getpid());
	if (!journal_open(&r->j, s->journal, s->name, r->run, err, errlen))
		return RB_EXIT_FAILED;
	if (r->resumed)
		rb_run_step(r, "runbook", s->cluster, "resumed", "%s", params);
	else
		rb_run_step(r, "runbook", s->cluster, "started", "%s", params);
	return RB_EXIT_DONE;
}

bool
rb_run_step_done(const rb_run *r, const char *step, const char *target)
{
	return r->resumed && journal_step_done(&r->past, r->run, step, target);
}

bool
rb_run_step_started(const rb_run *r, const char *step, const char *target)
{
	if (!r->resumed)
		return false;
	for (int i = 0; i < r->past.n; i++)
	{
		const journal_entry *e = &r->past.v[i];

		if (e->run && !strcmp(e->run, r->run) && e->step && !strcmp(e->step, step) &&
			e->target && !strcmp(e->target, target))
			return true;
	}
	return false;
}

static void
record(rb_run *r, const char *step, const char *target, const char *result, const char *detail,
	   bool final)
{
	char	   *line = xasprintf("%-12s %-22s %-9s %s\n", step, target ? target : "", result,
								 detail ? detail : "");

	if (r->dry_run)
		rb_plan_add_step(&r->plan, step, target, result, detail);
	emit(r, line);
	free(line);
	if (r->dry_run)
		return;
	/* stdout is the operator's view; the log repeats only what needs attention */
	log_msg(!strcmp(result, "failed") || !strcmp(result, "refused") ? LOG_WARN : LOG_DEBUG,
			"runbook %s run %s: %s %s %s%s%s", r->runbook, r->run, step, target ? target : "", result,
			detail && *detail ? ": " : "", detail ? detail : "");
	if (r->j.fd >= 0 && !journal_write(&r->j, step, target, result, "%s", detail ? detail : ""))
		log_error("runbook %s: journal %s is not durable: %s", r->runbook, r->s->journal, strerror(errno));
	observe(r->s, r->run, step, target, result, detail, final, r->started_us);
}

void
rb_run_step(rb_run *r, const char *step, const char *target, const char *result, const char *fmt,...)
{
	strbuf		sb;
	va_list		ap;

	sb_init(&sb);
	if (fmt)
	{
		va_start(ap, fmt);
		sb_vprintf(&sb, fmt, ap);
		va_end(ap);
	}
	record(r, step, target, result, sb.data, false);
	sb_free(&sb);
}

int
rb_run_finish(rb_run *r, const char *result, const char *fmt,...)
{
	strbuf		sb;
	va_list		ap;
	int			code = !strcmp(result, "done") ? RB_EXIT_DONE
		: !strcmp(result, "refused") ? RB_EXIT_REFUSED : RB_EXIT_FAILED;

	sb_init(&sb);
	if (fmt)
	{
		va_start(ap, fmt);
		sb_vprintf(&sb, fmt, ap);
		va_end(ap);
	}
	/* one code per cause: a node that does not answer is not a guard's judgement */
	if (code == RB_EXIT_REFUSED && !strncmp(sb.data, RB_GUARD_UNREACHABLE ":", strlen(RB_GUARD_UNREACHABLE) + 1))
		code = RB_EXIT_UNREACHABLE;
	if (r->dry_run)
	{
		char	   *line;

		rb_plan_finish(&r->plan, !strcmp(result, "done") ? "planned" : result, sb.data, code);
		line = xasprintf("%-12s %-22s %-9s %s\n", "dry-run", r->s->cluster, r->plan.result, sb.data);
		if (kept_plan)
		{
			/* handed over whole: the caller frees it */
			rb_plan_add_output(&r->plan, line);
			rb_plan_free(kept_plan);
			*kept_plan = r->plan;
			memset(&r->plan, 0, sizeof(r->plan));
		}
		else if (dry_json(r))
		{
			char	   *json = rb_plan_json(&r->plan);

			printf("%s\n", json ? json : "null");
			free(json);
		}
		else
			emit(r, line);
		free(line);
		fflush(stdout);
	}
	else
		record(r, "runbook", r->s->cluster, result, sb.data, true);
	sb_free(&sb);
	journal_close(&r->j);
	journal_entries_free(&r->past);
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	r->lock_fd = -1;
	free(r->run);
	r->run = NULL;
	rb_plan_free(&r->plan);
	return code;
}

int
rb_run_abandon(const rb_settings *s, char *err, size_t errlen)
{
	journal_entries es;
	const char *open_run;
	rb_journal	j;
	int			fd = take_lock(s, err, errlen);

	if (fd < 0)
		return fd == -2 ? RB_EXIT_REFUSED : RB_EXIT_FAILED;
	if (!journal_read(s->journal, &es, err, errlen))
	{
		close(fd);
		return RB_EXIT_FAILED;
	}
	open_run = journal_unfinished_run(&es, s->name, NULL);
	if (!open_run)
	{
		printf("%s: no interrupted run\n", s->name);
		journal_entries_free(&es);
		close(fd);
		return RB_EXIT_DONE;
	}
	if (!journal_open(&j, s->journal, s->name, open_run, err, errlen) ||
		!journal_write(&j, "runbook", s->cluster, "abandoned", "closed by hand; its steps were not undone"))
	{
		journal_entries_free(&es);
		close(fd);
		return RB_EXIT_FAILED;
	}
	printf("%s: run %s abandoned (its steps were not undone)\n", s->name, open_run);
	journal_close(&j);
	journal_entries_free(&es);
	close(fd);
	return RB_EXIT_DONE;
}

double
rb_run_elapsed(const rb_run *r)
{
	return (double) (mono_ms() - r->t0_ms) / 1000.0;
}

bool
rb_run_progress_tty(void)
{
	return isatty(STDERR_FILENO) == 1;
}

void
rb_run_progress(rb_run *r, rb_progress *p, const char *step, const char *target, uint64_t done)
{
	int64_t		now = mono_ms();
	int			due = rb_progress_due(p, done, now);
	char		line[256];

	if (!due)
		return;
	rb_progress_format(p, done, now, line, sizeof(line));
	if (p->tty)
	{
		/* like pg_basebackup -P: one line, redrawn */
		fprintf(stderr, "\r%s\033[K", line);
		p->drawn = true;
	}
	else
		fprintf(stderr, "%s\n", line);
	fflush(stderr);
	/* an audit record, bounded (progress.h); the operator's stdout keeps the steps only */
	if ((due & RB_PROGRESS_JOURNAL) && !r->dry_run && r->j.fd >= 0 &&
		!journal_write(&r->j, step, target, "progress", "%s", line))
		log_error("runbook %s: journal %s is not durable: %s", r->runbook, r->s->journal, strerror(errno));
}

void
rb_run_progress_end(rb_progress *p)
{
	if (p->drawn)
		fputc('\n', stderr);
	p->drawn = false;
}
