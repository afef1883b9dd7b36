/*
 * wsprobe: the command-line front end. It parses the command line by the
 * library's option table (wsp_option_*) and hands every value to a plan
 * (wsp_plan_*), which checks them. `wsprobe URL` builds the campaign, runs
 * it on its own loop with SIGINT and SIGTERM interrupting it, and writes
 * the reports of its report model; `wsprobe merge REPORT...` merges the
 * reports of shards into one model and writes the same reports. Options,
 * defaults, help texts and every check live in the library
 * (lib/options.c, lib/plan.c): a new option needs no code here.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "wsprobe.h"

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
/* Could not run: a report cannot be written (refused before the run, or
 * after it), or the start time was missed beyond its tolerance. */
#define EXIT_CANNOT_WRITE 3
/* wsprobe merge: the merge was refused. */
#define EXIT_MERGE 4
/* Interrupted by signal N: 128 + N (130 SIGINT, 143 SIGTERM), as shells
 * and schedulers report a process a signal ended. */
#define EXIT_SIGNAL 128

extern char **environ;

/* The help text's columns: options, then their help from HELP_COL on. */
#define HELP_COL 27
#define HELP_WIDTH 79

/* Prints "wsprobe: MESSAGE (see --help)" on one line and exits with 2. */
static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...) {
  char line[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  /* One line, whatever the offending argument held. */
  for (char *c = line; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      *c = '?';
  fprintf(stderr, "wsprobe: %s (see --help)\n", line);
  exit(EXIT_USAGE);
}

/* Prints `text` from column `col`, wrapped at HELP_WIDTH. */
static void wrap(FILE *out, const char *text, int col) {
  int at = col;
  while (*text) {
    size_t word = strcspn(text, " ");
    if (at > col && at + 1 + (int)word > HELP_WIDTH) {
      fprintf(out, "\n%*s", col, "");
      at = col;
    } else if (at > col) {
      fputc(' ', out);
      at++;
    }
    fwrite(text, 1, word, out);
    at += (int)word;
    text += word;
    text += strspn(text, " ");
  }
  fputc('\n', out);
}

/* One option's lines of the help, from the table. */
static void help_entry(FILE *out, const wsp_option *o) {
  const char *meta = wsp_option_text(o, WSP_OPTION_METAVAR);
  const char *dflt = wsp_option_text(o, WSP_OPTION_DEFAULT);
  char head[96], help[600];
  int n = wsp_option_short(o)
              ? snprintf(head, sizeof(head), "  -%c, --%s", wsp_option_short(o),
                         wsp_option_text(o, WSP_OPTION_NAME))
              : snprintf(head, sizeof(head), "      --%s",
                         wsp_option_text(o, WSP_OPTION_NAME));
  if (meta != NULL)
    snprintf(head + n, sizeof(head) - (size_t)n,
             wsp_option_flags(o) & WSP_OPTION_OPTIONAL ? "[=%s]" : " %s", meta);
  snprintf(help, sizeof(help), "%s%s%s%s%s",
           wsp_option_text(o, WSP_OPTION_HELP),
           wsp_option_flags(o) & WSP_OPTION_REPEATABLE ? " (repeatable)" : "",
           dflt ? " (default " : "", dflt ? dflt : "", dflt ? ")" : "");
  fputs(head, out);
  if ((int)strlen(head) >= HELP_COL - 1)
    fprintf(out, "\n%*s", HELP_COL, "");
  else
    fprintf(out, "%*s", HELP_COL - (int)strlen(head), "");
  wrap(out, help, HELP_COL);
}

/* The help, made from the library's option table: a run's options by
 * group, then those of wsprobe merge. */
static void help(FILE *out) {
  const char *group = NULL;
  fputs("usage: wsprobe [options] URL\n"
        "       wsprobe merge [merge options] REPORT.json...\n"
        "\n"
        "Probe a WebSocket server: connect, upgrade, optionally send a "
        "first\nmessage and await the reply or expected events, close. "
        "Every probe ends\nin one outcome (ok, handshake_rejected, "
        "closed_by_server, ...) and the\nphase it happened in; only ok "
        "passes.\n",
        out);
  for (size_t i = 0; i < wsp_option_count(); i++) {
    const wsp_option *o = wsp_option_at(i);
    const char *g = wsp_option_text(o, WSP_OPTION_GROUP);
    if (wsp_option_flags(o) & WSP_OPTION_MERGE_ONLY)
      continue;
    if (group == NULL || strcmp(group, g) != 0)
      fprintf(out, "\n%s:\n", group = g);
    help_entry(out, o);
  }
  fputs("\nmerge: combines the JSON reports of the shards (--shard I/N) of "
        "one\ncampaign into one report: counts add up, histograms merge "
        "exactly,\nprobes return to index order. Reports are streamed (any "
        "size). A\nmissing or repeated shard, or reports of different "
        "campaigns, are\nrefused. Prints the summary and writes the "
        "reports asked for; one\nreport alone is rendered as it is. Merge "
        "options:\n",
        out);
  for (size_t i = 0; i < wsp_option_count(); i++)
    if (wsp_option_flags(wsp_option_at(i)) & WSP_OPTION_MERGE)
      help_entry(out, wsp_option_at(i));
  fputs("\nThe shard may also come from the environment: WSPROBE_SHARD=I/N, "
        "a Kubernetes\nIndexed Job's JOB_COMPLETION_INDEX with "
        "WSPROBE_SHARD_COUNT, or a Slurm job\narray's "
        "SLURM_ARRAY_TASK_ID/_MIN/_COUNT; several shards need --seed.\n"
        "\nExit status: 0 every probe passed, 1 a probe failed, 2 usage or "
        "configuration\nerror (do not retry), 3 could not run (a report "
        "cannot be written, --start-at missed), 4 merge\nrefused or partial, "
        "130/143 "
        "interrupted by SIGINT/SIGTERM (reports written).\n",
        out);
}

/* The option whose long name is exactly `name` (keywords are not names). */
static const wsp_option *by_name(const char *name, size_t len) {
  for (size_t i = 0; i < wsp_option_count(); i++) {
    const char *n = wsp_option_text(wsp_option_at(i), WSP_OPTION_NAME);
    if (strlen(n) == len && strncmp(n, name, len) == 0)
      return wsp_option_at(i);
  }
  return NULL;
}

/*
 * Whether `arg` can be the value of an option whose value may be left out
 * ("--find-window 0:500"): only something of the value's form, so that
 * "--find-window ws://host/" leaves the URL alone.
 */
static int is_value_of(const wsp_option *o, const char *arg) {
  const char *sep = wsp_option_text(o, WSP_OPTION_SEPARATOR);
  size_t a;
  if (sep == NULL || (a = strspn(arg, "0123456789")) == 0 || arg[a] != *sep)
    return 0;
  arg += a + 1;
  return *arg != '\0' && strspn(arg, "0123456789") == strlen(arg);
}

/* Gives one option its value, or exits with the plan's message. */
static void give(wsp_plan *plan, const wsp_option *o, const char *value) {
  const char *name = wsp_option_text(o, WSP_OPTION_NAME);
  if (strcmp(name, "help") == 0) {
    help(stdout);
    exit(EXIT_PASS);
  }
  if (strcmp(name, "version") == 0) {
    printf("wsprobe %s\n", wsp_version_string());
    exit(EXIT_PASS);
  }
  if (wsp_plan_set(plan, name, value) != 0)
    usage_error("%s", wsp_plan_last_error(plan));
}

/*
 * The command line from argv[first] on, by the option table: --name VALUE,
 * --name=VALUE, -x VALUE, -xVALUE, bundled flags (-kq), "--" before
 * arguments that start with a dash. The arguments that are no options are
 * moved to the front of argv, in order; returns how many there are.
 */
static int parse(wsp_plan *plan, int argc, char **argv, int first) {
  int only_args = 0, nargs = 0;
  for (int i = first; i < argc; i++) {
    char *arg = argv[i];
    const wsp_option *o;
    if (only_args || arg[0] != '-' || arg[1] == '\0') {
      argv[nargs++] = arg;
    } else if (strcmp(arg, "--") == 0) {
      only_args = 1;
    } else if (arg[1] == '-') {
      const char *eq = strchr(arg + 2, '=');
      size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
      if ((o = by_name(arg + 2, len)) == NULL)
        usage_error("unknown option '%.*s'", (int)len + 2, arg);
      if (wsp_option_type_of(o) == WSP_OPTION_FLAG) {
        if (eq != NULL)
          usage_error("--%s takes no value",
                      wsp_option_text(o, WSP_OPTION_NAME));
        give(plan, o, NULL);
      } else if (eq != NULL) {
        give(plan, o, eq + 1);
      } else if (wsp_option_flags(o) & WSP_OPTION_OPTIONAL) {
        give(plan, o,
             i + 1 < argc && is_value_of(o, argv[i + 1]) ? argv[++i] : NULL);
      } else if (i + 1 < argc) {
        give(plan, o, argv[++i]);
      } else {
        usage_error("option %s needs a value", arg);
      }
    } else {
      /* Short options: flags may share one dash, a value may follow. */
      for (const char *c = arg + 1; *c; c++) {
        if ((o = wsp_option_find_short((unsigned char)*c)) == NULL)
          usage_error("unknown option '-%c'", *c);
        if (wsp_option_type_of(o) == WSP_OPTION_FLAG) {
          give(plan, o, NULL);
        } else if (c[1] != '\0') {
          give(plan, o, c + 1);
          break;
        } else if (i + 1 < argc) {
          give(plan, o, argv[++i]);
          break;
        } else {
          usage_error("option -%c needs a value", *c);
        }
      }
    }
  }
  return nargs;
}

/* The campaign being run, for the signal handler. */
static wsp_campaign *volatile running;
/* The signal that interrupted it, or 0. */
static volatile sig_atomic_t caught;

/*
 * SIGINT and SIGTERM interrupt the campaign: probes in flight are
 * cancelled, the reports of what ran are still written. A second signal
 * ends the process at once (the handler is reset).
 */
static void on_signal(int signum) {
  if (caught == 0)
    caught = signum;
  wsp_campaign_interrupt(running);
  signal(signum, SIG_DFL);
}

typedef struct {
  uv_timer_t progress;         /* Redraws the progress line. */
  int show_progress;           /* stderr is a terminal and not --quiet. */
  atomic_uint_fast64_t done;   /* Probes ended (counted on any thread). */
  atomic_uint_fast64_t failed; /* Of which did not pass. */
  uint64_t total;              /* Planned, 0 when open-ended. */
  uint64_t t0;                 /* uv_hrtime() at start. */
} app;

static void on_probe_done(wsp_campaign *c, const wsp_result *r, void *ud) {
  app *a = ud;
  (void)c;
  atomic_fetch_add_explicit(&a->done, 1, memory_order_relaxed);
  if (!wsp_result_passed(r))
    atomic_fetch_add_explicit(&a->failed, 1, memory_order_relaxed);
}

static void draw_progress(app *a, int final) {
  double secs = (double)(uv_hrtime() - a->t0) / 1e9;
  uint64_t done = atomic_load(&a->done), failed = atomic_load(&a->failed);
  double rate = secs > 0 ? (double)done / secs : 0;
  if (a->total > 0 && rate > 0 && done < a->total)
    fprintf(stderr, "\r%llu/%llu probes, %.0f/s, %llu failed, ETA %.0fs   ",
            (unsigned long long)done, (unsigned long long)a->total, rate,
            (unsigned long long)failed, (double)(a->total - done) / rate);
  else
    fprintf(stderr, "\r%llu probes, %.0f/s, %llu failed            ",
            (unsigned long long)done, rate, (unsigned long long)failed);
  if (final)
    fputs("\r\033[K", stderr);
}

static void on_progress(uv_timer_t *t) { draw_progress(t->data, 0); }

static void on_done(wsp_campaign *c, void *ud) {
  app *a = ud;
  (void)c;
  if (a->show_progress) {
    draw_progress(a, 1);
    uv_close((uv_handle_t *)&a->progress, NULL);
  }
}

/* A campaign on several threads, run from one more. */
typedef struct {
  wsp_campaign *c;    /* The campaign. */
  app *a;             /* The progress it feeds. */
  uv_thread_t thread; /* Runs wsp_campaign_run(). */
  uv_async_t done;    /* Tells this loop it returned. */
  int rc;             /* What it returned. */
} threaded;

static void threads_main(void *arg) {
  threaded *t = arg;
  t->rc = wsp_campaign_run(t->c);
  uv_async_send(&t->done);
}

static void on_threads_done(uv_async_t *h) {
  threaded *t = h->data;
  uv_close((uv_handle_t *)h, NULL);
  on_done(t->c, t->a);
}

/* Runs the campaign on a loop of its own; 0 or the error. */
static int run(wsp_campaign *c, int quiet) {
  uv_loop_t loop;
  wsp_ctx *ctx = NULL;
  struct sigaction sa;
  app a;
  int rc;
  memset(&a, 0, sizeof(a));
  if ((rc = uv_loop_init(&loop)) != 0)
    return rc;
  if ((rc = wsp_ctx_new(&loop, &ctx)) != 0) {
    uv_loop_close(&loop);
    return rc;
  }
  a.total = wsp_campaign_planned(c);
  a.t0 = uv_hrtime();
  a.show_progress = !quiet && isatty(STDERR_FILENO);
  wsp_campaign_set_probe_cb(c, on_probe_done, &a);
  if (a.show_progress) {
    uv_timer_init(&loop, &a.progress);
    a.progress.data = &a;
    uv_timer_start(&a.progress, on_progress, 200, 200);
    uv_unref((uv_handle_t *)&a.progress);
  }
  /* A plain handler: wsp_campaign_interrupt() is async-signal-safe. */
  running = c;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  if (wsp_campaign_threads(c) > 1) {
    /* Loops of its own, one a thread, run from another thread while
     * this loop draws the progress. */
    threaded t = {.c = c, .a = &a};
    uv_async_init(&loop, &t.done, on_threads_done);
    t.done.data = &t;
    if ((rc = uv_thread_create(&t.thread, threads_main, &t)) != 0) {
      uv_close((uv_handle_t *)&t.done, NULL);
      on_done(c, &a);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (rc == 0) {
      uv_thread_join(&t.thread);
      rc = t.rc;
    }
  } else {
    if ((rc = wsp_campaign_start(c, ctx, on_done, &a)) != 0 && a.show_progress)
      uv_close((uv_handle_t *)&a.progress, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  running = NULL;
  wsp_ctx_close(ctx);
  if (uv_loop_close(&loop) != 0)
    fputs("wsprobe: warning: handles left open on the loop\n", stderr);
  return rc;
}

static int fwrite_cb(const char *data, size_t len, void *ud) {
  return fwrite(data, 1, len, ud) == len ? 0 : -1;
}

/*
 * Writes the reports the plan asks for and, unless quiet, the summary:
 * on stdout, or on stderr when a report goes to stdout. Returns the exit
 * status: the verdict's; for an interrupted run 128 + the signal (130,
 * 143), or 1 when no signal interrupted it; 3 when a report could not be
 * written.
 */
static int output(wsp_plan *plan, const wsp_report *rep, int interrupted) {
  static const char *const reports[] = {"json", "html", "junit"};
  int status = wsp_verdict_exit_code(wsp_report_verdict(rep));
  FILE *out = stdout;
  if (interrupted)
    status = caught ? EXIT_SIGNAL + caught : EXIT_FAIL;
  /* Reports are written after an interrupt too: partial, but true. */
  if (wsp_plan_save_reports(plan, rep) != 0) {
    fprintf(stderr, "wsprobe: %s\n", wsp_plan_last_error(plan));
    status = EXIT_CANNOT_WRITE;
  }
  if (wsp_plan_given(plan, "quiet") > 0)
    return status;
  for (size_t i = 0; i < sizeof(reports) / sizeof(*reports); i++) {
    const char *v = wsp_plan_value(plan, reports[i]);
    if (v != NULL && strcmp(v, "-") == 0)
      out = stderr;
  }
  /* The report itself says whether it was interrupted. */
  wsp_report_write(rep, WSP_REPORT_TEXT, 0, fwrite_cb, out);
  fflush(out);
  return status;
}

/* A plan's failure before anything ran: a report path that cannot be
 * written is exit 3, anything else a usage error. */
static void refuse(wsp_plan *plan, int rc) {
  if (rc == WSP_EIO) {
    fprintf(stderr, "wsprobe: %s\n", wsp_plan_last_error(plan));
    exit(EXIT_CANNOT_WRITE);
  }
  usage_error("%s", wsp_plan_last_error(plan));
}

/* wsprobe merge [merge options] REPORT... */
static int merge(int argc, char **argv) {
  wsp_plan *plan;
  wsp_report *rep = NULL;
  int n, rc, status;
  if (wsp_plan_new_merge(&plan) != 0) {
    fputs("wsprobe: out of memory\n", stderr);
    return EXIT_USAGE;
  }
  if ((n = parse(plan, argc, argv, 2)) == 0)
    usage_error("merge: no reports given");
  /* An unwritable report is refused before the reports are read. */
  if ((rc = wsp_plan_check_reports(plan)) != 0)
    refuse(plan, rc);
  if (wsp_plan_merge(plan, (const char *const *)argv, (size_t)n, &rep) != 0) {
    fprintf(stderr, "wsprobe merge: %s\n", wsp_plan_last_error(plan));
    wsp_plan_free(plan);
    return EXIT_MERGE;
  }
  status = output(plan, rep, 0);
  wsp_report_free(rep);
  wsp_plan_free(plan);
  return status;
}

int main(int argc, char **argv) {
  wsp_plan *plan;
  wsp_campaign *c;
  wsp_report *rep = NULL;
  int n, status, rc;
  char *text = NULL;

  signal(SIGPIPE, SIG_IGN); /* A reset connection is an outcome. */
  if (argc > 1 && strcmp(argv[1], "merge") == 0)
    return merge(argc, argv);
  if (wsp_plan_new(&plan) != 0) {
    fputs("wsprobe: out of memory\n", stderr);
    return EXIT_USAGE;
  }
  if ((n = parse(plan, argc, argv, 1)) == 0)
    usage_error("missing URL");
  if (n > 1)
    usage_error("unexpected argument '%s' after the URL", argv[1]);
  if (wsp_plan_set_url(plan, argv[0]) != 0 ||
      wsp_plan_set_environment(plan, (const char *const *)environ) != 0)
    usage_error("%s", wsp_plan_last_error(plan));
  if (wsp_plan_given(plan, "dry-run") > 0) {
    if ((rc = wsp_plan_to_json(plan, &text)) != 0)
      refuse(plan, rc);
    puts(text);
    wsp_free(text);
    wsp_plan_free(plan);
    return EXIT_PASS;
  }
  if ((rc = wsp_plan_build(plan, &c)) != 0)
    refuse(plan, rc);
  if ((rc = run(c, wsp_plan_given(plan, "quiet") > 0)) != 0) {
    fprintf(stderr, "wsprobe: cannot start: %s\n",
            rc == WSP_ESTATE || rc == WSP_EINVAL || rc == WSP_ELATE
                ? wsp_campaign_last_error(c)
                : wsp_strerror(rc));
    wsp_campaign_close(c);
    wsp_plan_free(plan);
    return rc == WSP_ELATE ? EXIT_CANNOT_WRITE : EXIT_FAIL;
  }
  if ((rc = wsp_report_new(c, &rep)) != 0) {
    fprintf(stderr, "wsprobe: cannot report: %s\n", wsp_strerror(rc));
    status = EXIT_FAIL;
  } else {
    status = output(plan, rep, wsp_campaign_interrupted(c));
    wsp_report_free(rep);
  }
  wsp_campaign_close(c);
  wsp_plan_free(plan);
  return status;
}
