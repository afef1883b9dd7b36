/*
 * The HTML report: one self-contained page (inline CSS and SVG, no script,
 * nothing fetched) that shows a campaign the way a person looks for a
 * race: the summary, the failure rate against the first-message delay, a
 * timeline of every connection, and outcomes over time.
 *
 * The page stays small however many probes ran: above TIMELINE_ALL probes
 * the timeline shows a sample in which every outcome appears, and an
 * aggregated chart covers them all.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_model.h"

/* Up to this many probes the timeline has a row for every one. */
#define TIMELINE_ALL 500
/* Above it, the rows of the sample... */
#define TIMELINE_SAMPLE 400
/* ...of which up to this many per outcome, however rare. */
#define SAMPLE_PER_OUTCOME 12
/* Columns of the outcomes-over-time chart at most. */
#define MAX_COLUMNS 240
/* Failure groups listed. */
#define MAX_GROUPS 20

/* The width of every chart's viewBox; CSS scales it to the page. */
#define W 1300

/* One colour per outcome, chosen to be told apart and read on white. */
static const char *const colors[WSP_OUTCOME_COUNT] = {
    [WSP_OUTCOME_OK] = "#2f9e44",
    [WSP_OUTCOME_DNS_FAILED] = "#7b3fa0",
    [WSP_OUTCOME_CONNECT_REFUSED] = "#6f4e37",
    [WSP_OUTCOME_CONNECT_TIMEOUT] = "#5f6b7a",
    [WSP_OUTCOME_CONNECT_FAILED] = "#a0522d",
    [WSP_OUTCOME_TLS_FAILED] = "#c2255c",
    [WSP_OUTCOME_HANDSHAKE_REJECTED] = "#f08c00",
    [WSP_OUTCOME_HANDSHAKE_INVALID] = "#b8860b",
    [WSP_OUTCOME_CLOSED_BY_SERVER] = "#e03131",
    [WSP_OUTCOME_ABNORMAL_CLOSURE] = "#862e2e",
    [WSP_OUTCOME_PROTOCOL_ERROR] = "#d6336c",
    [WSP_OUTCOME_TIMEOUT] = "#8f969e",
    [WSP_OUTCOME_EXPECTATION_FAILED] = "#1c7ed6",
    [WSP_OUTCOME_CANCELLED] = "#adb5bd",
    [WSP_OUTCOME_INTERNAL_ERROR] = "#212529",
    [WSP_OUTCOME_PROXY_REJECTED] = "#e8590c",
    [WSP_OUTCOME_PROXY_FAILED] = "#495057",
};

/* What a stretch of a timeline bar shows; drawn in the outcome's colour,
 * told apart by opacity and height (CSS classes k0..k6). */
typedef enum {
  SEG_CONNECT, /* Resolving and connecting. */
  SEG_TLS,     /* The TLS handshake. */
  SEG_UPGRADE, /* Upgrade request sent, waiting for the response. */
  SEG_WAIT,    /* Open, waiting out the delay or the hold. */
  SEG_REPLY,   /* First message sent, awaiting the reply. */
  SEG_MSG,     /* Reply received, more messages. */
  SEG_CLOSE,   /* Closing. */
  SEG_COUNT
} seg_kind;

static const char *const seg_names[SEG_COUNT] = {
    "connect",        "tls",      "upgrade", "open, waiting",
    "awaiting reply", "messages", "closing"};

static const char css[] =
    ":root{--ink:#1d2330;--muted:#5c6370;--line:#e3e6ea;--bg:#f4f5f7}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--ink);"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',"
    "sans-serif}"
    ".wrap{max-width:1400px;margin:0 auto;padding:0 20px}"
    "header.top{background:#1f2633;color:#f1f3f5;padding:18px 0 16px}"
    "header h1{margin:0;font-size:22px;font-weight:650;letter-spacing:.2px}"
    "header .url{font-family:ui-monospace,'DejaVu Sans Mono',monospace;"
    "font-size:15px;color:#c9d1dc;margin-top:2px;word-break:break-all}"
    ".verdict{display:inline-block;margin-top:10px;padding:3px 12px;"
    "border-radius:14px;font-weight:700;font-size:14px}"
    ".pass{background:#2f9e44;color:#fff}.fail{background:#e03131;"
    "color:#fff}"
    ".facts{display:flex;flex-wrap:wrap;gap:6px 22px;margin:12px 0 0;"
    "font-size:13px;color:#c9d1dc}.facts b{color:#fff;font-weight:600}"
    ".card{background:#fff;border:1px solid var(--line);border-radius:10px;"
    "padding:16px 20px;margin:16px 0;box-shadow:0 1px 2px rgba(0,0,0,.04)}"
    ".card h2{font-size:16px;margin:0 0 4px}"
    ".card p.note{margin:2px 0 10px;color:var(--muted);font-size:13px}"
    ".grid{display:grid;grid-template-columns:1.3fr 1fr;gap:16px}"
    ".grid .card{margin:0}"
    ".split{display:grid;grid-template-columns:1fr 1fr;gap:28px;"
    "align-items:start}"
    "@media(max-width:1100px){.grid,.split{grid-template-columns:1fr}}"
    "tr.grp td{font-weight:600;color:var(--muted);background:#f8f9fa;"
    "font-size:12px;padding-top:6px}"
    "table{border-collapse:collapse;width:100%;font-size:13px}"
    "th,td{padding:4px 8px;border-bottom:1px solid var(--line);"
    "text-align:left;vertical-align:top}"
    "th{color:var(--muted);font-weight:600;font-size:12px}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    "td.err{font-family:ui-monospace,'DejaVu Sans Mono',monospace;"
    "font-size:12px;word-break:break-word}"
    ".sw{display:inline-block;width:11px;height:11px;border-radius:3px;"
    "margin-right:6px;vertical-align:-1px}"
    ".chip{display:inline-block;padding:0 7px;border-radius:9px;color:#fff;"
    "font-size:12px;font-weight:600;white-space:nowrap}"
    ".share{height:8px;border-radius:4px;background:var(--line);"
    "min-width:60px}.share i{display:block;height:8px;border-radius:4px}"
    ".legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:6px 0 8px;"
    "font-size:13px;align-items:center}"
    ".legend .seg{display:inline-flex;align-items:center;gap:5px}"
    ".legend svg{vertical-align:middle}"
    "svg.chart{width:100%;height:auto;display:block}"
    "svg text{font-family:system-ui,-apple-system,'Segoe UI',Roboto,"
    "'DejaVu Sans',sans-serif;font-size:12px;fill:#3b4250}"
    "svg .ax{stroke:#9aa1ab;stroke-width:1}"
    "svg .gr{stroke:#edf0f3;stroke-width:1}"
    "svg .st{fill:#f7f8fa}"
    "svg text.lbl{font-size:13px;fill:#5c6370}"
    "svg text.big{font-size:13px;font-weight:600;fill:#1d2330}"
    "svg .tick{fill:#1d2330}"
    ".warn{background:#fff4e6;border:1px solid #ffc078;border-radius:8px;"
    "padding:8px 12px;margin:10px 0;color:#7a4100}"
    ".tabs input{position:absolute;opacity:0;pointer-events:none}"
    ".tabs label{display:inline-block;padding:5px 12px;border:1px solid "
    "var(--line);border-radius:8px;margin:0 6px 8px 0;cursor:pointer;"
    "font-size:13px;color:var(--muted);background:#fafbfc}"
    ".tabs input:checked+label{background:#1f2633;color:#fff;"
    "border-color:#1f2633}"
    ".tabs .view{display:none}"
    "#tl-a:checked~.v-a,#tl-b:checked~.v-b{display:block}"
    "details summary{cursor:pointer;color:var(--muted);margin:4px 0}"
    ".facts2{margin:12px 0 0;padding-left:18px;color:var(--muted);"
    "font-size:13px}.facts2 b{color:var(--ink)}"
    "footer{color:var(--muted);font-size:12px;padding:8px 0 28px}";

/* ---- small helpers ---- */

/* A millisecond figure with as many decimals as it deserves. */
static const char *fmt_ms(char *buf, size_t len, double ms) {
  if (ms < 0)
    snprintf(buf, len, "-");
  else if (ms > 0 && ms < 0.01)
    snprintf(buf, len, "%.4f", ms);
  else if (ms < 10)
    snprintf(buf, len, "%.3f", ms);
  else if (ms < 1000)
    snprintf(buf, len, "%.1f", ms);
  else
    snprintf(buf, len, "%.0f", ms);
  return buf;
}

static double pct(uint64_t a, uint64_t b) {
  return b ? 100.0 * (double)a / (double)b : 0.0;
}

static void chip(wsp__out *o, wsp_outcome k) {
  wsp__out_printf(o, "<span class=\"chip\" style=\"background:%s\">%s</span>",
                  colors[k], wsp_outcome_name(k));
}

/* A legend of the outcomes that occurred, with their counts. */
static void legend(wsp__out *o, const uint64_t *counts) {
  wsp__out_puts(o, "<div class=\"legend\">");
  for (int k = 0; k < WSP_OUTCOME_COUNT; k++)
    if (counts[k])
      wsp__out_printf(o,
                      "<span><span class=\"sw\" style=\"background:%s\">"
                      "</span>%s (%llu)</span>",
                      colors[k], wsp_outcome_name((wsp_outcome)k),
                      (unsigned long long)counts[k]);
  wsp__out_puts(o, "</div>\n");
}

/* A linear axis from 0 with round steps. */
typedef struct {
  double max;       /* Axis end, in units. */
  double step;      /* Between ticks, in units. */
  double div;       /* Milliseconds per unit (1 or 1000). */
  const char *unit; /* "ms" or "s". */
  int decimals;     /* For tick labels. */
} axis;

static axis make_axis(double max_ms, int ticks, int seconds_ok) {
  axis a;
  double raw, p, f;
  a.div = seconds_ok && max_ms >= 10000 ? 1000 : 1;
  a.unit = a.div > 1 ? "s" : "ms";
  a.max = max_ms / a.div;
  if (!(a.max > 0))
    a.max = 1;
  raw = a.max / ticks;
  p = pow(10, floor(log10(raw)));
  f = raw / p;
  a.step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  a.max = ceil(a.max / a.step - 1e-9) * a.step;
  a.decimals = a.step >= 1 ? 0 : (int)ceil(-log10(a.step) - 1e-9);
  return a;
}

/* Vertical grid lines and labels of an x axis at [x0, x0 + pw]. */
static void x_axis(wsp__out *o, const axis *a, double x0, double pw, double top,
                   double bottom, const char *label) {
  for (int i = 0;; i++) {
    double v = a->step * i, x;
    if (v > a->max + a->step * 1e-6)
      break;
    x = x0 + v / a->max * pw;
    wsp__out_printf(o,
                    "<line class=\"gr\" x1=\"%.1f\" y1=\"%.1f\" "
                    "x2=\"%.1f\" y2=\"%.1f\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                    "%.*f</text>\n",
                    x, top, x, bottom, x, bottom + 16, a->decimals, v);
  }
  wsp__out_printf(o,
                  "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                  "y2=\"%.1f\"/>",
                  x0, bottom, x0 + pw, bottom);
  wsp__out_printf(o,
                  "<text class=\"lbl\" x=\"%.1f\" y=\"%.1f\" "
                  "text-anchor=\"middle\">%s (%s)</text>\n",
                  x0 + pw / 2, bottom + 36, label, a->unit);
}

static void y_label(wsp__out *o, double x, double y, const char *label) {
  wsp__out_printf(o,
                  "<text class=\"lbl\" transform=\"translate(%.1f %.1f) "
                  "rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
                  x, y, label);
}

/* ---- header and summary ---- */

static void header(wsp__out *o, const wsp__secrets *sec,
                   const wsp_report *rep) {
  char buf[32];
  int pass = wsp_report_verdict(rep) == WSP_VERDICT_PASS;
  wsp__out_puts(o, "<header class=\"top\"><div class=\"wrap\">"
                   "<h1>wsprobe report</h1><div class=\"url\">");
  wsp__out_escs(o, sec, rep->url, WSP__ESC_TEXT);
  wsp__out_printf(o,
                  "</div><div class=\"verdict %s\">%s &middot; %llu of "
                  "%llu probe%s passed</div>\n<div class=\"facts\">",
                  pass ? "pass" : "fail", pass ? "PASS" : "FAIL",
                  (unsigned long long)rep->passed,
                  (unsigned long long)rep->total, rep->total == 1 ? "" : "s");
  if (rep->nmissing > 0) {
    wsp__out_puts(o, "<span><b>PARTIAL: missing shard");
    for (size_t i = 0; i < rep->nmissing; i++)
      wsp__out_printf(o, "%s %u",
                      i                   ? ","
                      : rep->nmissing > 1 ? "s"
                                          : "",
                      rep->missing[i]);
    wsp__out_printf(o, " of %u</b></span>", rep->shards);
  }
  if (rep->interrupted && rep->planned >= 0)
    wsp__out_printf(o,
                    "<span><b>INTERRUPTED: %llu of %lld planned probes "
                    "ran</b></span>",
                    (unsigned long long)rep->total, (long long)rep->planned);
  else if (rep->interrupted)
    wsp__out_printf(o, "<span><b>INTERRUPTED: %llu probes ran</b></span>",
                    (unsigned long long)rep->total);
  if (rep->merged)
    wsp__out_printf(o, "<span>merged from <b>%zu</b> shards</span>",
                    rep->nparts);
  wsp__out_printf(o, "<span>mode <b>%s</b></span>", wsp__mode_name(rep->mode));
  wsp__out_printf(o, "<span>concurrency <b>%llu</b></span>",
                  (unsigned long long)rep->concurrency);
  if (rep->burst)
    wsp__out_printf(o, "<span>bursts <b>%llu</b></span>",
                    (unsigned long long)rep->bursts);
  if (rep->rate > 0)
    wsp__out_printf(o, "<span>rate <b>%g/s</b></span>", rep->rate);
  if (rep->timed_ms > 0)
    wsp__out_printf(o, "<span>duration <b>%g s</b></span>",
                    rep->timed_ms / 1000.0);
  if (rep->duration_ms > 0) {
    double ran = rep->duration_ms;
    if (ran >= 10000)
      wsp__out_printf(o, "<span>ran <b>%.2f s</b></span>", ran / 1000);
    else
      wsp__out_printf(o, "<span>ran <b>%s ms</b></span>",
                      fmt_ms(buf, sizeof(buf), ran));
  }
  if (rep->has_message)
    wsp__out_printf(o, "<span>first message after <b>%u ms</b></span>",
                    rep->delay_ms);
  if (rep->jitter_ms)
    wsp__out_printf(o, "<span>jitter <b>0..%u ms</b></span>", rep->jitter_ms);
  if (rep->shards > 1 && !rep->merged)
    wsp__out_printf(o, "<span>shard <b>%u/%u</b> (from %s)</span>", rep->shard,
                    rep->shards, wsp_shard_source_name(rep->shard_from));
  {
    char words[256];
    if (wsp__rep_start_words(rep, words, sizeof(words))) {
      wsp__out_puts(o, "<span>start <b>");
      wsp__out_escs(o, NULL, words, WSP__ESC_TEXT);
      wsp__out_puts(o, "</b></span>");
    }
  }
  wsp__out_printf(o, "<span>seed <b>%llu</b></span>",
                  (unsigned long long)rep->seed);
  if (rep->insecure)
    wsp__out_puts(o, "<span><b>TLS NOT VERIFIED</b></span>");
  wsp__out_printf(o, "<span>wsprobe <b>%s</b></span>", rep->version);
  wsp__out_puts(o, "</div></div></header>\n<main class=\"wrap\">\n");
}

static void outcomes_card(wsp__out *o, const wsp_report *rep) {
  const wsp__summary *s = &rep->sum;
  double x = 0;
  wsp__out_puts(o, "<section class=\"card\"><h2>Outcomes</h2>"
                   "<p class=\"note\">Every probe ends in one outcome, "
                   "decided in one phase; only ok passes.</p>\n");
  /* One bar of proportions. */
  wsp__out_puts(o, "<svg class=\"chart\" viewBox=\"0 0 600 18\" "
                   "role=\"img\" aria-label=\"outcome shares\">");
  if (rep->total == 0)
    wsp__out_puts(o, "<rect x=\"0\" y=\"0\" width=\"600\" height=\"18\" "
                     "rx=\"4\" fill=\"#e3e6ea\"/>");
  for (int k = 0; k < WSP_OUTCOME_COUNT; k++) {
    double w;
    if (s->outcomes[k] == 0)
      continue;
    w = 600.0 * (double)s->outcomes[k] / (double)rep->total;
    wsp__out_printf(o,
                    "<rect x=\"%.2f\" y=\"0\" width=\"%.2f\" "
                    "height=\"18\" fill=\"%s\"><title>%s: %llu</title>"
                    "</rect>",
                    x, w < 0.5 ? 0.5 : w, colors[k],
                    wsp_outcome_name((wsp_outcome)k),
                    (unsigned long long)s->outcomes[k]);
    x += w;
  }
  wsp__out_puts(o, "</svg>\n<table><tr><th>outcome</th><th class=\"n\">"
                   "probes</th><th class=\"n\">share</th><th></th>"
                   "<th>phase</th></tr>\n");
  for (int k = 0; k < WSP_OUTCOME_COUNT; k++) {
    const char *sep = "";
    if (s->outcomes[k] == 0)
      continue;
    wsp__out_printf(o,
                    "<tr><td><span class=\"sw\" style=\"background:%s\">"
                    "</span>%s</td><td class=\"n\">%llu</td>"
                    "<td class=\"n\">%.1f%%</td><td style=\"width:22%%\">"
                    "<div class=\"share\"><i style=\"width:%.1f%%;"
                    "background:%s\"></i></div></td><td>",
                    colors[k], wsp_outcome_name((wsp_outcome)k),
                    (unsigned long long)s->outcomes[k],
                    pct(s->outcomes[k], rep->total),
                    pct(s->outcomes[k], rep->total), colors[k]);
    for (int i = 0; i < WSP_PHASE_COUNT; i++) {
      wsp_phase p = wsp__phase_in_order(i);
      if (s->phases[k][p] == 0)
        continue;
      wsp__out_printf(o, "%s%s", sep, wsp_phase_name((wsp_phase)p));
      if (s->phases[k][p] != s->outcomes[k])
        wsp__out_printf(o, " (%llu)", (unsigned long long)s->phases[k][p]);
      sep = ", ";
    }
    wsp__out_puts(o, "</td></tr>\n");
  }
  if (rep->total == 0)
    wsp__out_puts(o, "<tr><td colspan=\"5\">no probe ran</td></tr>");
  wsp__out_puts(o, "</table>\n<ul class=\"facts2\">");
  wsp__out_printf(o,
                  "<li><b>%llu</b> of <b>%llu</b> passed (%.1f%%), "
                  "<b>%llu</b> failed</li>",
                  (unsigned long long)rep->passed,
                  (unsigned long long)rep->total, pct(rep->passed, rep->total),
                  (unsigned long long)(rep->total - rep->passed));
  if (rep->bursts > 0)
    wsp__out_printf(o,
                    "<li>%llu burst%s released; first messages sent within "
                    "<b>%.3f ms</b> of each other (p50), %.3f ms at most"
                    "</li>",
                    (unsigned long long)rep->bursts,
                    rep->bursts == 1 ? "" : "s",
                    (double)wsp__hist_quantile(&rep->spread, 0.5) / 1e6,
                    rep->spread.count ? (double)rep->spread.max / 1e6 : 0);
  if (rep->nthreads > 1 && rep->has_bursts && rep->release_lag.count > 0)
    wsp__out_printf(o,
                    "<li>run on <b>%u</b> threads, each burst released on "
                    "every one at one deadline: a thread's first send came "
                    "%.3f ms after it (p50), %.3f ms at most</li>",
                    rep->nthreads,
                    (double)wsp__hist_quantile(&rep->release_lag, 0.5) / 1e6,
                    (double)rep->release_lag.max / 1e6);
  else if (rep->nthreads > 1)
    wsp__out_printf(o, "<li>run on <b>%u</b> threads</li>", rep->nthreads);
  for (uint32_t i = 0;
       rep->nthreads > 1 && rep->loops != NULL && i < rep->nthreads; i++) {
    const wsp__loop_fig *l = &rep->loops[i];
    wsp__out_printf(o, "<li>thread %u: %llu probes, its loop's lag p99 %.3f ms",
                    i, (unsigned long long)l->probes,
                    (double)wsp__hist_quantile(&l->lag, 0.99) / 1e6);
    if (rep->has_bursts && l->bursts > 0 && l->held_bursts > 0)
      wsp__out_printf(o, "; held CPU %d in %llu of %llu bursts", l->held_cpu,
                      (unsigned long long)l->held_bursts,
                      (unsigned long long)l->bursts);
    else if (rep->has_bursts && l->bursts > 0)
      wsp__out_printf(o, "; released with no CPU of its own");
    wsp__out_printf(o, "</li>");
  }
  if (rep->lag.count > 0)
    wsp__out_printf(o,
                    "<li>the prober's own loop lag: p99 <b>%.3f ms</b>, "
                    "max %.3f ms (probes flagged above %u ms: %llu)</li>",
                    (double)wsp__hist_quantile(&rep->lag, 0.99) / 1e6,
                    (double)rep->lag.max / 1e6, rep->lag_threshold_ms,
                    (unsigned long long)rep->flagged);
  wsp__out_puts(o, "</ul></section>\n");
}

static const char *close_meaning(int code) {
  switch (code) {
  case 1000:
    return "normal";
  case 1001:
    return "going away";
  case 1002:
    return "protocol error";
  case 1003:
    return "unsupported data";
  case 1005:
    return "no code";
  case 1006:
    return "no close frame";
  case 1007:
    return "invalid data";
  case 1008:
    return "policy violation";
  case 1009:
    return "message too big";
  case 1010:
    return "extension required";
  case 1011:
    return "internal error";
  case 1012:
    return "service restart";
  case 1013:
    return "try again later";
  case 1014:
    return "bad gateway";
  default:
    return "";
  }
}

static void tally_rows(wsp__out *o, const char *title, const wsp__tally *t,
                       int close_codes) {
  uint64_t total = t->other;
  for (size_t i = 0; i < t->len; i++)
    total += t->n[i];
  wsp__out_printf(o, "<tr class=\"grp\"><td colspan=\"4\">%s</td></tr>\n",
                  title);
  if (t->len == 0)
    wsp__out_puts(o, "<tr><td colspan=\"4\">none</td></tr>\n");
  for (size_t i = 0; i < t->len; i++) {
    int k = t->key[i];
    const char *meaning = "";
    if (close_codes)
      meaning = close_meaning(k);
    else if (k == 101)
      meaning = "switching protocols";
    else if (k == 503)
      meaning = "service unavailable";
    else if (k == 401)
      meaning = "unauthorized";
    else if (k == 403)
      meaning = "forbidden";
    else if (k == 429)
      meaning = "too many requests";
    wsp__out_printf(o,
                    "<tr><td><b>%d</b> %s</td><td class=\"n\">%llu</td>"
                    "<td class=\"n\">%.1f%%</td><td style=\"width:30%%\">"
                    "<div class=\"share\"><i style=\"width:%.1f%%;"
                    "background:#74879c\"></i></div></td></tr>\n",
                    k, meaning, (unsigned long long)t->n[i],
                    pct(t->n[i], total), pct(t->n[i], total));
  }
  if (t->other)
    wsp__out_printf(o,
                    "<tr><td>other</td><td class=\"n\">%llu</td><td>"
                    "</td><td></td></tr>\n",
                    (unsigned long long)t->other);
}

/* Outcomes per value of one fact, when there is more than one value: the
 * address or replica that fails shows itself. */
static void groups_card(wsp__out *o, const wsp__secrets *sec, const char *name,
                        const char *what, const wsp__groups *g) {
  if (g->n + (g->other > 0) < 2)
    return;
  wsp__out_puts(o, "<section class=\"card\"><h2>Outcomes by ");
  wsp__out_escs(o, sec, name, WSP__ESC_TEXT);
  wsp__out_puts(o, "</h2><p class=\"note\">Grouped by ");
  wsp__out_escs(o, sec, what, WSP__ESC_TEXT);
  wsp__out_puts(o, ".</p>\n<table><tr><th>");
  wsp__out_escs(o, sec, name, WSP__ESC_TEXT);
  wsp__out_puts(o, "</th><th class=\"n\">probes</th><th class=\"n\">"
                   "passed</th><th>outcomes</th></tr>\n");
  for (size_t i = 0; i < g->n; i++) {
    const wsp__group *x = &g->v[i];
    wsp__out_puts(o, "<tr><td>");
    wsp__out_escs(o, sec, x->value ? x->value : "(none)", WSP__ESC_TEXT);
    wsp__out_printf(o,
                    "</td><td class=\"n\">%llu</td><td class=\"n\">%llu"
                    "</td><td>",
                    (unsigned long long)x->total,
                    (unsigned long long)x->passed);
    for (int k = 0; k < WSP_OUTCOME_COUNT; k++)
      if (x->outcomes[k] > 0) {
        chip(o, (wsp_outcome)k);
        wsp__out_printf(o, " %llu ", (unsigned long long)x->outcomes[k]);
      }
    wsp__out_puts(o, "</td></tr>\n");
  }
  if (g->other > 0)
    wsp__out_printf(o,
                    "<tr><td>(other values)</td><td class=\"n\">%llu</td>"
                    "<td></td><td></td></tr>\n",
                    (unsigned long long)g->other);
  wsp__out_puts(o, "</table></section>\n");
}

static void codes_card(wsp__out *o, const wsp__summary *s) {
  wsp__out_puts(o, "<section class=\"card\"><h2>What the server said</h2>"
                   "<p class=\"note\">The HTTP status of the upgrade "
                   "response, and the close codes of the close frames.</p>\n"
                   "<table><tr><th>code</th><th class=\"n\">probes</th>"
                   "<th class=\"n\">share</th><th></th></tr>\n");
  tally_rows(o, "HTTP status of the upgrade", &s->http, 0);
  tally_rows(o, "close code received from the server", &s->close_recv, 1);
  tally_rows(o, "close code sent by wsprobe", &s->close_sent, 1);
  wsp__out_puts(o, "</table></section>\n");
}

/* Health polled beside the probes: the one line, then its statuses. */
static void health_card(wsp__out *o, const wsp_report *rep) {
  const wsp__secrets *sec = &rep->secrets;
  const wsp__hsamples *hs = &rep->health;
  char words[512];
  wsp__rep_health_words(rep, words, sizeof(words));
  wsp__out_puts(o, "<section class=\"card\"><h2>Health</h2>"
                   "<p class=\"note\">");
  wsp__out_escs(o, sec, rep->health_url, WSP__ESC_TEXT);
  wsp__out_printf(o,
                  ", asked every %u ms beside the probes (drawn above the "
                  "timeline's probes). It never changes the verdict.</p>\n"
                  "<p><b>health:</b> ",
                  rep->health_interval);
  wsp__out_escs(o, sec, words, WSP__ESC_TEXT);
  wsp__out_puts(o, "</p>\n<table><tr><th>answer</th>"
                   "<th class=\"n\">samples</th></tr>\n");
  for (int code = 100; code < 600; code++)
    if (hs->status[code])
      wsp__out_printf(o,
                      "<tr><td>HTTP %d</td><td class=\"n\">%llu</td>"
                      "</tr>\n",
                      code, (unsigned long long)hs->status[code]);
  wsp__out_printf(o,
                  "<tr><td>error</td><td class=\"n\">%llu</td></tr>\n"
                  "<tr><td>tick skipped (a request still running)</td>"
                  "<td class=\"n\">%llu</td></tr>\n",
                  (unsigned long long)hs->errors,
                  (unsigned long long)hs->skipped);
  if (hs->ms.count > 0)
    wsp__out_printf(o,
                    "<tr><td>time, p50 / max</td><td class=\"n\">%.3f / "
                    "%.3f ms</td></tr>\n",
                    (double)wsp__hist_quantile(&hs->ms, 0.5) / 1e6,
                    (double)hs->ms.max / 1e6);
  wsp__out_puts(o, "</table></section>\n");
}

static const double quantiles[] = {0.5, 0.9, 0.99, 0.999};

static void latency_card(wsp__out *o, const wsp_report *rep) {
  double lo = INFINITY, hi = 0;
  int rows = 0;
  char b[32];
  wsp__out_puts(o, "<section class=\"card\"><h2>Latency per span</h2>"
                   "<p class=\"note\">Milliseconds, from log-linear "
                   "histograms (within 1%). The chart shows min&ndash;max "
                   "and a box from p50 to p99 on a log scale.</p>\n"
                   "<div class=\"split\"><div><table><tr><th>span</th><th "
                   "class=\"n\">count</th>"
                   "<th class=\"n\">min</th><th class=\"n\">p50</th>"
                   "<th class=\"n\">p90</th><th class=\"n\">p99</th>"
                   "<th class=\"n\">p99.9</th><th class=\"n\">max</th></tr>\n");
  for (int i = 0; i < WSP_SPAN_COUNT; i++) {
    wsp_span sp = wsp__span_in_order(i);
    const wsp__hist *h = &rep->spans[sp];
    if (h->count == 0)
      continue;
    rows++;
    if ((double)h->min / 1e6 < lo)
      lo = (double)h->min / 1e6;
    if ((double)h->max / 1e6 > hi)
      hi = (double)h->max / 1e6;
    wsp__out_printf(o, "<tr><td>%s</td><td class=\"n\">%llu</td>",
                    wsp_span_name((wsp_span)sp), (unsigned long long)h->count);
    wsp__out_printf(o, "<td class=\"n\">%s</td>",
                    fmt_ms(b, sizeof(b), (double)h->min / 1e6));
    for (size_t q = 0; q < WSP__ARRAY_SIZE(quantiles); q++)
      wsp__out_printf(
          o, "<td class=\"n\">%s</td>",
          fmt_ms(b, sizeof(b),
                 (double)wsp__hist_quantile(h, quantiles[q]) / 1e6));
    wsp__out_printf(o, "<td class=\"n\">%s</td></tr>\n",
                    fmt_ms(b, sizeof(b), (double)h->max / 1e6));
  }
  if (rows == 0) {
    wsp__out_puts(o, "<tr><td colspan=\"8\">no timings</td></tr></table>"
                     "</div></div></section>\n");
    return;
  }
  wsp__out_puts(o, "</table></div><div>\n");
  {
    /* Decades from below the fastest to above the slowest. */
    double d0 = floor(log10(lo > 1e-4 ? lo : 1e-4));
    double d1 = ceil(log10(hi > 1e-4 ? hi : 1e-4));
    double L = 96, PW = 560, T = 8, RH = 20;
    double H = T + RH * rows + 40;
    int row = 0;
    if (d1 <= d0)
      d1 = d0 + 1;
#define LX(ms) (L + (log10((ms) > 1e-4 ? (ms) : 1e-4) - d0) / (d1 - d0) * PW)
    wsp__out_printf(o,
                    "<svg class=\"chart\" viewBox=\"0 0 680 %.0f\" "
                    "role=\"img\" aria-label=\"latency ranges\">\n",
                    H);
    for (double d = d0; d <= d1 + 1e-9; d++) {
      double x = L + (d - d0) / (d1 - d0) * PW;
      wsp__out_printf(o,
                      "<line class=\"gr\" x1=\"%.1f\" y1=\"%.1f\" "
                      "x2=\"%.1f\" y2=\"%.1f\"/><text x=\"%.1f\" "
                      "y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                      x, T, x, T + RH * rows, x, T + RH * rows + 15,
                      pow(10, d));
    }
    wsp__out_printf(o,
                    "<text class=\"lbl\" x=\"%.1f\" y=\"%.1f\" "
                    "text-anchor=\"middle\">milliseconds (log "
                    "scale)</text>\n",
                    L + PW / 2, T + RH * rows + 33);
    for (int i = 0; i < WSP_SPAN_COUNT; i++) {
      wsp_span sp = wsp__span_in_order(i);
      const wsp__hist *h = &rep->spans[sp];
      double y, mn, mx, p50, p99;
      if (h->count == 0)
        continue;
      y = T + RH * row++ + RH / 2;
      mn = (double)h->min / 1e6;
      mx = (double)h->max / 1e6;
      p50 = (double)wsp__hist_quantile(h, 0.5) / 1e6;
      p99 = (double)wsp__hist_quantile(h, 0.99) / 1e6;
      wsp__out_printf(o,
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">"
                      "%s</text>",
                      L - 8, y + 4, wsp_span_name((wsp_span)sp));
      wsp__out_printf(o,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                      "y2=\"%.1f\" stroke=\"#868e96\" "
                      "stroke-width=\"1.5\"/>",
                      LX(mn), y, LX(mx), y);
      wsp__out_printf(o,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                      "height=\"10\" rx=\"2\" fill=\"#4c6ef5\" "
                      "opacity=\".55\"/>",
                      LX(p50), y - 5,
                      LX(p99) - LX(p50) < 2 ? 2 : LX(p99) - LX(p50));
      wsp__out_printf(o,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"2.5\" "
                      "height=\"14\" fill=\"#1d2330\"><title>p50 %.3f "
                      "ms</title></rect>\n",
                      LX(p50) - 1.25, y - 7, p50);
    }
#undef LX
    wsp__out_puts(o, "</svg>\n");
  }
  wsp__out_puts(o, "</div></div></section>\n");
}

/* ---- bar charts: sweeps, levels, outcomes over time ---- */

/* One column of a stacked bar chart. */
typedef struct {
  char label[24];                /* Under the column. */
  uint64_t n[WSP_OUTCOME_COUNT]; /* Probes per outcome. */
  uint64_t total;                /* Their sum. */
} column;

/* How a bar chart stacks its columns. */
typedef enum {
  CHART_RATE, /* Failing outcomes stacked to the failure rate, 0..100%. */
  CHART_COUNT /* Every outcome stacked to the column's count. */
} chart_kind;

/*
 * Columns evenly spaced. `band_from`..`band_to` (column indexes, from <
 * to) shades the gap between failing and passing columns, labelled
 * `band_label`; the failures lie left of it when `fails_left`.
 */
static void bar_chart(wsp__out *o, const column *cols, size_t n,
                      chart_kind kind, const char *xlabel, const char *ylabel,
                      long band_from, long band_to, const char *band_label,
                      int fails_left) {
  const double L = 64, R = 16, T = 40, PH = 230, B = 52;
  const double PW = W - L - R;
  double band = PW / (double)(n ? n : 1), bw = band * 0.68, ymax = 100;
  size_t every = n > 16 ? (n + 15) / 16 : 1;
  if (bw > 90)
    bw = 90;
  if (bw < 1)
    bw = band > 1 ? band - 0.5 : band;
  if (kind == CHART_COUNT) {
    uint64_t m = 1;
    for (size_t i = 0; i < n; i++)
      if (cols[i].total > m)
        m = cols[i].total;
    ymax = make_axis((double)m, 5, 0).max;
  }
  wsp__out_printf(o,
                  "<svg class=\"chart\" viewBox=\"0 0 %d %.0f\" "
                  "role=\"img\" aria-label=\"%s\">\n",
                  W, T + PH + B, ylabel);
  if (band_from >= 0 && band_to > band_from && (size_t)band_to < n) {
    /* Failing side tinted red, the gap amber, the passing side green. */
    const char *left = fails_left ? "#fff5f5" : "#f4fcf5";
    const char *right = fails_left ? "#f4fcf5" : "#fff5f5";
    double xa = L + band * ((double)band_from + 0.5) + bw / 2;
    double xb = L + band * ((double)band_to + 0.5) - bw / 2;
    wsp__out_printf(o,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"%s\"/>",
                    L, T, xa - L, PH, left);
    wsp__out_printf(o,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"#ffe8cc\"/>",
                    xa, T, xb - xa, PH);
    wsp__out_printf(o,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"%s\"/>",
                    xb, T, L + PW - xb, PH, right);
    if (band_label != NULL && xb - xa >= 7.5 * (double)strlen(band_label))
      wsp__out_printf(o,
                      "<text class=\"big\" x=\"%.1f\" y=\"%.1f\" "
                      "text-anchor=\"middle\">%s</text>\n",
                      (xa + xb) / 2, T + PH / 2, band_label);
  }
  for (int i = 0; i <= 4; i++) {
    double v = ymax * i / 4, y = T + PH - PH * i / 4;
    wsp__out_printf(o,
                    "<line class=\"gr\" x1=\"%.1f\" y1=\"%.1f\" "
                    "x2=\"%.1f\" y2=\"%.1f\"/><text x=\"%.1f\" y=\"%.1f\" "
                    "text-anchor=\"end\">%g%s</text>\n",
                    L, y, L + PW, y, L - 6, y + 4, v,
                    kind == CHART_RATE ? "%" : "");
  }
  for (size_t i = 0; i < n; i++) {
    const column *col = &cols[i];
    double x = L + band * ((double)i + 0.5) - bw / 2, y = T + PH;
    uint64_t failed = col->total - col->n[WSP_OUTCOME_OK];
    wsp__out_printf(o, "<g><title>%s: %llu probe%s, %llu failed", col->label,
                    (unsigned long long)col->total, col->total == 1 ? "" : "s",
                    (unsigned long long)failed);
    for (int k = 0; k < WSP_OUTCOME_COUNT; k++)
      if (col->n[k])
        wsp__out_printf(o, "; %s %llu", wsp_outcome_name((wsp_outcome)k),
                        (unsigned long long)col->n[k]);
    wsp__out_puts(o, "</title>");
    if (kind == CHART_RATE && col->total > 0)
      /* The passing share, faint, so that the column reads as a whole. */
      wsp__out_printf(o,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                      "height=\"%.1f\" fill=\"%s\" opacity=\".3\"/>",
                      x, T, bw, PH, colors[WSP_OUTCOME_OK]);
    for (int k = kind == CHART_RATE ? 1 : 0; k < WSP_OUTCOME_COUNT; k++) {
      double h;
      if (col->n[k] == 0 || col->total == 0)
        continue;
      h = kind == CHART_RATE ? PH * (double)col->n[k] / (double)col->total
                             : PH * (double)col->n[k] / ymax;
      y -= h;
      wsp__out_printf(o,
                      "<rect x=\"%.1f\" y=\"%.2f\" width=\"%.1f\" "
                      "height=\"%.2f\" fill=\"%s\"/>",
                      x, y, bw, h, colors[k]);
    }
    if (n <= 40 && kind == CHART_RATE)
      wsp__out_printf(o,
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                      "class=\"big\">%.0f%%</text>"
                      "<text x=\"%.1f\" y=\"%.1f\" "
                      "text-anchor=\"middle\">%llu/%llu</text>",
                      x + bw / 2, y - 20, pct(failed, col->total), x + bw / 2,
                      y - 6, (unsigned long long)failed,
                      (unsigned long long)col->total);
    wsp__out_puts(o, "</g>");
    if (i % every == 0)
      wsp__out_printf(o,
                      "<text x=\"%.1f\" y=\"%.1f\" "
                      "text-anchor=\"middle\">%s</text>",
                      x + bw / 2, T + PH + 17, col->label);
    wsp__out_puts(o, "\n");
  }
  wsp__out_printf(o,
                  "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                  "y2=\"%.1f\"/>",
                  L, T + PH, L + PW, T + PH);
  wsp__out_printf(o,
                  "<text class=\"lbl\" x=\"%.1f\" y=\"%.1f\" "
                  "text-anchor=\"middle\">%s</text>\n",
                  L + PW / 2, T + PH + 40, xlabel);
  y_label(o, 16, T + PH / 2, ylabel);
  wsp__out_puts(o, "</svg>\n");
}

static int cmp_point(const void *a, const void *b) {
  const wsp__point *x = a, *y = b;
  return x->value < y->value ? -1 : x->value > y->value;
}

static void sweep_card(wsp__out *o, const wsp_report *rep) {
  size_t n = rep->npoints;
  wsp__point *p;
  column *cols;
  long last_fail = -1;
  char label[160];
  if (n == 0 || (p = malloc(n * sizeof(*p))) == NULL)
    return;
  if ((cols = calloc(n, sizeof(*cols))) == NULL) {
    free(p);
    return;
  }
  memcpy(p, rep->points, n * sizeof(*p));
  qsort(p, n, sizeof(*p), cmp_point);
  for (size_t i = 0; i < n; i++) {
    snprintf(cols[i].label, sizeof(cols[i].label), "%u ms", p[i].value);
    memcpy(cols[i].n, p[i].outcomes, sizeof(cols[i].n));
    cols[i].total = p[i].total;
    if (p[i].failed > 0)
      last_fail = (long)i;
  }
  wsp__out_puts(o, "<section class=\"card\"><h2>Failure rate against the "
                   "first-message delay</h2>");
  if (last_fail < 0)
    snprintf(label, sizeof(label), "No failures at any delay");
  else if ((size_t)last_fail + 1 == n)
    snprintf(label, sizeof(label),
             "Failures even at %u ms: the race window is longer",
             p[n - 1].value);
  else
    snprintf(label, sizeof(label),
             "Estimated race window: failures stop between %u and %u ms",
             p[last_fail].value, p[last_fail + 1].value);
  wsp__out_printf(o,
                  "<p class=\"note\">%llu probe%s per delay, run in a "
                  "shuffled order. <b>%s</b>.</p>\n",
                  (unsigned long long)rep->per_delay,
                  rep->per_delay == 1 ? "" : "s", label);
  legend(o, rep->sum.outcomes);
  bar_chart(o, cols, n, CHART_RATE, "first-message delay after the open",
            "probes that failed", last_fail,
            last_fail >= 0 && (size_t)last_fail + 1 < n ? last_fail + 1 : -1,
            "race window edge", 1);
  wsp__out_puts(o, "<table><tr><th class=\"n\">delay (ms)</th>"
                   "<th class=\"n\">probes</th><th class=\"n\">failed</th>"
                   "<th class=\"n\">rate</th><th>outcomes</th></tr>\n");
  for (size_t i = 0; i < n; i++) {
    const char *sep = "";
    wsp__out_printf(o,
                    "<tr><td class=\"n\">%u</td><td class=\"n\">%llu</td>"
                    "<td class=\"n\">%llu</td><td class=\"n\">%.1f%%</td>"
                    "<td>",
                    p[i].value, (unsigned long long)p[i].total,
                    (unsigned long long)p[i].failed,
                    pct(p[i].failed, p[i].total));
    for (int k = 0; k < WSP_OUTCOME_COUNT; k++)
      if (p[i].outcomes[k]) {
        wsp__out_printf(o,
                        "%s<span class=\"sw\" style=\"background:%s\">"
                        "</span>%s %llu",
                        sep, colors[k], wsp_outcome_name((wsp_outcome)k),
                        (unsigned long long)p[i].outcomes[k]);
        sep = " &nbsp; ";
      }
    wsp__out_puts(o, "</td></tr>\n");
  }
  wsp__out_puts(o, "</table></section>\n");
  free(cols);
  free(p);
}

/* Where a window point sits on the chart: the delays its probes achieved
 * (their largest), or the one asked for when none was sent. */
static double point_ms(const wsp__evidence *e) {
  return e->achieved_max >= 0 ? (double)e->achieved_max / 1e6 : e->delay_ms;
}

/* The bisection: the delay tried at each step, converging on the edge. */
static void window_card(wsp__out *o, const wsp_report *rep) {
  const double L = 72, R = 200, T = 20, PH = 260, B = 84;
  const double PW = W - L - R;
  const wsp__window *w = &rep->window;
  const char *conclusion = w->conclusion;
  int overlapping = strcmp(conclusion, "overlapping") == 0;
  int bounded = overlapping || strcmp(conclusion, "bounded") == 0;
  double from = (double)w->from / 1e6, to = (double)w->to / 1e6;
  double lo = w->lo, hi = w->hi, span;
  size_t n = w->nevidence;
  double step = PW / (double)(n > 1 ? n - 1 : 1);
  size_t every = n > 24 ? (n + 23) / 24 : 1;
  wsp__out_puts(o, "<section class=\"card\"><h2>Race-window search</h2>"
                   "<p class=\"note\">Bisection between ");
  wsp__out_printf(o,
                  "%u and %u ms to %u ms, %u probe%s per point; a point "
                  "fails when any of its probes fails. Delays are those the "
                  "probes achieved: first message sent minus the 101's "
                  "arrival. <b>",
                  w->lo, w->hi, w->res, w->trials, w->trials == 1 ? "" : "s");
  if (overlapping)
    wsp__out_printf(o,
                    "Failures and passes overlap between %.3f and %.3f ms: "
                    "the server is not exact there",
                    from, to);
  else if (bounded)
    wsp__out_printf(o,
                    "Estimated race window: failures stop between %.3f and "
                    "%.3f ms",
                    from, to);
  else if (strcmp(conclusion, "above_range") == 0)
    wsp__out_printf(o,
                    "Failures even at %u ms: the window is longer than the "
                    "range",
                    w->hi);
  else if (strcmp(conclusion, "below_range") == 0)
    wsp__out_printf(o, "No failures at %u ms: no window at or above it", w->lo);
  else if (strcmp(conclusion, "inconclusive") == 0)
    wsp__out_puts(o, "Inconclusive: the failing probes sent no message");
  else
    wsp__out_puts(o, "The search did not run");
  wsp__out_printf(o, "</b> (%llu probes).</p>\n", (unsigned long long)w->spent);
  for (size_t i = 0; i < n; i++)
    if (point_ms(&w->evidence[i]) > hi)
      hi = point_ms(&w->evidence[i]);
  if (hi <= lo)
    hi = lo + 1;
  span = hi - lo;
#define WY(ms) (T + PH - ((double)(ms)-lo) / span * PH)
  wsp__out_printf(o,
                  "<svg class=\"chart\" viewBox=\"0 0 %d %.0f\" "
                  "role=\"img\" aria-label=\"window search\">\n",
                  W, T + PH + B);
  if (bounded) {
    double ylo = WY(from), yhi = WY(to);
    if (ylo - yhi < 3) {
      yhi -= 1.5;
      ylo += 1.5;
    }
    wsp__out_printf(o,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"#ebfbee\"/>",
                    L, T, PW, yhi - T);
    wsp__out_printf(o,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"#fff5f5\"/>",
                    L, ylo, PW, T + PH - ylo);
    wsp__out_printf(o,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"#ffa94d\" opacity=\".55\"/>",
                    L, yhi, PW + 8, ylo - yhi);
    wsp__out_printf(o,
                    "<text class=\"big\" x=\"%.1f\" y=\"%.1f\">"
                    "race window edge</text><text x=\"%.1f\" y=\"%.1f\">"
                    "%.3f&ndash;%.3f ms</text>\n",
                    L + PW + 14, (ylo + yhi) / 2 - 2, L + PW + 14,
                    (ylo + yhi) / 2 + 14, from, to);
    wsp__out_printf(o,
                    "<text x=\"%.1f\" y=\"%.1f\" fill=\"#2f9e44\">"
                    "passes above</text><text x=\"%.1f\" y=\"%.1f\">"
                    "fails below</text>\n",
                    L + PW + 14, T + 14, L + PW + 14, T + PH - 6);
  }
  for (int i = 0; i <= 4; i++) {
    double v = lo + span * i / 4;
    wsp__out_printf(o,
                    "<line class=\"gr\" x1=\"%.1f\" y1=\"%.1f\" "
                    "x2=\"%.1f\" y2=\"%.1f\"/><text x=\"%.1f\" y=\"%.1f\" "
                    "text-anchor=\"end\">%.0f</text>\n",
                    L, WY(v), L + PW, WY(v), L - 6, WY(v) + 4, v);
  }
  if (n > 1) {
    wsp__out_puts(o, "<polyline fill=\"none\" stroke=\"#adb5bd\" "
                     "stroke-width=\"1.5\" stroke-dasharray=\"4 3\" "
                     "points=\"");
    for (size_t i = 0; i < n; i++)
      wsp__out_printf(o, "%.1f,%.1f ", L + step * (double)i,
                      WY(point_ms(&w->evidence[i])));
    wsp__out_puts(o, "\"/>\n");
  }
  for (size_t i = 0; i < n; i++) {
    const wsp__evidence *e = &w->evidence[i];
    double x = n > 1 ? L + step * (double)i : L + PW / 2;
    double y = WY(point_ms(e));
    int fail = e->failures > 0;
    wsp__out_printf(o,
                    "<g><title>step %zu: asked %u ms, achieved %.3f-%.3f "
                    "ms, %u of %u failed%s</title><circle cx=\"%.1f\" "
                    "cy=\"%.1f\" r=\"7\" fill=\"%s\" stroke=\"#fff\" "
                    "stroke-width=\"2\"/></g>\n",
                    i + 1, e->delay_ms, (double)e->achieved_min / 1e6,
                    (double)e->achieved_max / 1e6, e->failures, e->trials,
                    e->lag_flagged ? " (the prober lagged)" : "", x, y,
                    fail ? colors[WSP_OUTCOME_CLOSED_BY_SERVER]
                         : colors[WSP_OUTCOME_OK]);
    /* Under each step: its number, its delay, failed of run. */
    if (i % every == 0)
      wsp__out_printf(
          o,
          "<text class=\"big\" x=\"%.1f\" y=\"%.1f\" "
          "text-anchor=\"middle\">%zu</text>"
          "<text x=\"%.1f\" y=\"%.1f\" "
          "text-anchor=\"middle\">%u ms</text>"
          "<text x=\"%.1f\" y=\"%.1f\" "
          "text-anchor=\"middle\" fill=\"%s\">%u/%u</text>",
          x, T + PH + 17, i + 1, x, T + PH + 32, e->delay_ms, x, T + PH + 47,
          fail ? colors[WSP_OUTCOME_CLOSED_BY_SERVER] : colors[WSP_OUTCOME_OK],
          e->failures, e->trials);
  }
#undef WY
  wsp__out_printf(o,
                  "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                  "y2=\"%.1f\"/>",
                  L, T + PH, L + PW, T + PH);
  wsp__out_printf(o,
                  "<text class=\"lbl\" x=\"%.1f\" y=\"%.1f\" "
                  "text-anchor=\"middle\">step of the search, the delay "
                  "it tried, probes failed/run (red: some failed, green: "
                  "all passed)</text>\n",
                  L + PW / 2, T + PH + 72);
  y_label(o, 18, T + PH / 2, "first-message delay (ms)");
  wsp__out_puts(o, "</svg>\n</section>\n");
}

static void levels_card(wsp__out *o, const wsp_report *rep) {
  column *cols = calloc(rep->nlevels ? rep->nlevels : 1, sizeof(*cols));
  long first = -1;
  char label[96];
  if (cols == NULL)
    return;
  for (size_t i = 0; i < rep->nlevels; i++) {
    snprintf(cols[i].label, sizeof(cols[i].label), "%u", rep->levels[i].level);
    memcpy(cols[i].n, rep->levels[i].outcomes, sizeof(cols[i].n));
    for (int k = 0; k < WSP_OUTCOME_COUNT; k++)
      cols[i].total += cols[i].n[k];
    if (first < 0 && rep->levels[i].failures > 0)
      first = (long)i;
  }
  if (first < 0)
    snprintf(label, sizeof(label), "No failures up to %u connections",
             rep->max_level);
  else
    snprintf(label, sizeof(label),
             "Failures start at %u simultaneous connections",
             rep->levels[first].level);
  wsp__out_printf(o,
                  "<section class=\"card\"><h2>Concurrency sweep</h2>"
                  "<p class=\"note\">Bursts of simultaneous connections. "
                  "<b>%s</b>.</p>\n",
                  label);
  legend(o, rep->sum.outcomes);
  bar_chart(o, cols, rep->nlevels, CHART_RATE, "simultaneous connections",
            "probes that failed", first > 0 ? first - 1 : -1,
            first > 0 ? first : -1, "failures start", 0);
  wsp__out_puts(o, "</section>\n");
  free(cols);
}

/* One probe in the page: a copy of its facts, and when it started. */
typedef struct sample {
  wsp_result *r;     /* A copy (rows read back do not last). */
  uint64_t start_ns; /* Since the campaign started. */
} sample;

/*
 * What the page shows of the probes themselves, gathered in one walk: the
 * rows of the timeline (every probe, or a sample), the failure groups, and
 * the probes' start times binned for "Outcomes over time".
 */
typedef struct gather {
  sample *rows;               /* The timeline's rows. */
  size_t nrows;               /* How many. */
  sample first[MAX_GROUPS];   /* The first probe of each failure group. */
  uint64_t count[MAX_GROUPS]; /* Probes per group. */
  size_t groups;              /* Groups. */
  uint64_t other;             /* Failures beyond MAX_GROUPS kinds. */
  column *bins;               /* Start times binned, or NULL. */
  size_t nbins;               /* Columns. */
  size_t per_bin;             /* Bins of width_ms merged per column. */
  size_t nraw;                /* Bins before merging. */
  double width_ms;            /* A bin's width. */
} gather;

/* Outcomes per time slice (duration runs), or per bin of start times. */
static void time_card(wsp__out *o, const wsp_report *rep, const gather *g,
                      int from_slices) {
  size_t n, bins;
  double width_ms;
  column *cols;
  if (from_slices) {
    n = rep->nslices;
    width_ms = rep->slice_ms;
    /* Merge slices so that columns stay wide enough to see. */
    bins = n > MAX_COLUMNS ? (n + MAX_COLUMNS - 1) / MAX_COLUMNS : 1;
    if (n == 0 || (cols = calloc((n + bins - 1) / bins, sizeof(*cols))) == NULL)
      return;
    for (size_t i = 0; i < n; i++)
      for (int k = 0; k < WSP_OUTCOME_COUNT; k++) {
        cols[i / bins].n[k] += rep->slices[i].outcomes[k];
        cols[i / bins].total += rep->slices[i].outcomes[k];
      }
  } else {
    if (g->bins == NULL)
      return;
    n = g->nraw;
    bins = g->per_bin;
    width_ms = g->width_ms;
    cols = g->bins;
  }
  width_ms *= (double)bins;
  n = (n + bins - 1) / bins;
  {
    /* One unit along the axis: seconds once it is long. */
    int secs = width_ms >= 1000 || width_ms * (double)n >= 10000;
    double unit = secs ? width_ms / 1000 : width_ms;
    int decimals = unit >= 1 ? 0 : unit >= 0.1 ? 1 : 2;
    for (size_t i = 0; i < n; i++) {
      double t = width_ms * (double)i;
      snprintf(cols[i].label, sizeof(cols[i].label), "%.*f %s", decimals,
               secs ? t / 1000 : t, secs ? "s" : "ms");
    }
  }
  wsp__out_puts(o, "<section class=\"card\"><h2>Outcomes over time</h2>");
  if (from_slices)
    wsp__out_printf(o,
                    "<p class=\"note\">Probes by the time slice they "
                    "started in (%u ms slices%s), e.g. to watch a "
                    "deployment turn 503 &rarr; 1011 &rarr; ok.</p>\n",
                    rep->slice_ms, bins > 1 ? ", merged" : "");
  else
    wsp__out_printf(o,
                    "<p class=\"note\">All %llu probes by when they "
                    "started (%.1f ms per column).</p>\n",
                    (unsigned long long)rep->total, width_ms);
  legend(o, rep->sum.outcomes);
  bar_chart(o, cols, n, CHART_COUNT, "time since the campaign started",
            "probes started", -1, -1, NULL, 0);
  wsp__out_puts(o, "</section>\n");
  if (cols != g->bins)
    free(cols);
}

/* The bins of start times: about 120 columns of a round width (1, 2 or 5
 * times a power of ten milliseconds), so that their labels are round too. */
static int bins_init(gather *g, const wsp_report *rep) {
  uint64_t last = rep->last_start_ns > 1 ? rep->last_start_ns : 1;
  double raw = (double)last / 1e6 / 120, p = pow(10, floor(log10(raw)));
  g->width_ms = raw <= 0.01    ? 0.01
                : raw <= p     ? p
                : raw <= 2 * p ? 2 * p
                : raw <= 5 * p ? 5 * p
                               : 10 * p;
  g->nraw = (size_t)((double)last / 1e6 / g->width_ms) + 1;
  g->per_bin =
      g->nraw > MAX_COLUMNS ? (g->nraw + MAX_COLUMNS - 1) / MAX_COLUMNS : 1;
  g->nbins = (g->nraw + g->per_bin - 1) / g->per_bin;
  g->bins = calloc(g->nbins, sizeof(*g->bins));
  return g->bins ? 0 : WSP_ENOMEM;
}

static void bins_add(gather *g, const wsp__row *row) {
  size_t b = (size_t)((double)row->start_ns / 1e6 / g->width_ms);
  if (b >= g->nraw)
    b = g->nraw - 1;
  g->bins[b / g->per_bin].n[row->r->outcome]++;
  g->bins[b / g->per_bin].total++;
}

/* ---- the timeline ---- */

/* Where a stretch of the bar begins, and what it is. */
typedef struct {
  int64_t t; /* ns since the probe's start. */
  int kind;  /* seg_kind. */
} edge;

/* The probe's stretches in time order; returns how many edges (the last
 * one, kind -1, is the end). */
static size_t edges_of(const wsp_result *r, edge *e) {
  const int64_t *m = r->marks;
  int64_t closing = m[WSP_MARK_CLOSE_SENT];
  /* Through a proxy, the CONNECT exchange is drawn as part of connecting:
   * the server is reached when the tunnel is up. */
  int64_t linked = r->proxy_status > 0 || r->phase == WSP_PHASE_PROXY
                       ? m[WSP_MARK_TUNNEL]
                       : m[WSP_MARK_CONNECTED];
  int64_t end = (int64_t)wsp__end_ns(r);
  size_t n = 0;
  if (m[WSP_MARK_CLOSE_RECEIVED] >= 0 &&
      (closing < 0 || m[WSP_MARK_CLOSE_RECEIVED] < closing))
    closing = m[WSP_MARK_CLOSE_RECEIVED];
  e[n++] = (edge){0, SEG_CONNECT};
  if (linked >= 0)
    e[n++] = (edge){linked, m[WSP_MARK_TLS_DONE] >= 0 ? SEG_TLS : SEG_UPGRADE};
  if (m[WSP_MARK_TLS_DONE] >= 0)
    e[n++] = (edge){m[WSP_MARK_TLS_DONE], SEG_UPGRADE};
  if (m[WSP_MARK_OPEN] >= 0)
    e[n++] = (edge){m[WSP_MARK_OPEN], SEG_WAIT};
  else if (m[WSP_MARK_RESPONSE] >= 0)
    e[n++] = (edge){m[WSP_MARK_RESPONSE], SEG_CLOSE};
  if (m[WSP_MARK_FIRST_SENT] >= 0)
    e[n++] = (edge){m[WSP_MARK_FIRST_SENT], SEG_REPLY};
  if (m[WSP_MARK_FIRST_RECEIVED] >= 0)
    e[n++] = (edge){m[WSP_MARK_FIRST_RECEIVED], SEG_MSG};
  if (closing >= 0)
    e[n++] = (edge){closing, SEG_CLOSE};
  e[n++] = (edge){end, -1};
  /* Marks are monotonic; clamp anyway so that no stretch runs backwards. */
  for (size_t i = 1; i < n; i++)
    if (e[i].t < e[i - 1].t)
      e[i].t = e[i - 1].t;
  return n;
}

/* The label at the end of a row: the close code, else a refused status. */
static const char *end_label(const wsp_result *r, char *buf, size_t len) {
  if (r->close_recv.code >= 0)
    snprintf(buf, len, "%d", r->close_recv.code);
  else if (r->http_status && r->http_status != 101)
    snprintf(buf, len, "HTTP %d", r->http_status);
  else if (r->outcome != WSP_OUTCOME_OK)
    snprintf(buf, len, "%s", wsp_outcome_name(r->outcome));
  else
    buf[0] = '\0';
  return buf;
}

static void row_title(wsp__out *o, const wsp__secrets *sec, const sample *row) {
  const wsp_result *r = row->r;
  char a[32], b[32];
  wsp__out_printf(
      o,
      "<title>#%u %s in %s | start %s ms, first message "
      "after %u ms, total %s ms",
      r->index, wsp_outcome_name(r->outcome), wsp_phase_name(r->phase),
      fmt_ms(a, sizeof(a), (double)row->start_ns / 1e6), r->delay_ms,
      fmt_ms(b, sizeof(b), (double)wsp__end_ns(r) / 1e6));
  if (r->http_status)
    wsp__out_printf(o, " | HTTP %d", r->http_status);
  if (r->close_recv.code >= 0) {
    wsp__out_printf(o, " | close %d ", r->close_recv.code);
    wsp__out_escape(o, sec, r->close_recv.reason, r->close_recv.reason_len,
                    WSP__ESC_ATTR);
  }
  if (r->error != NULL) {
    wsp__out_puts(o, " | ");
    wsp__out_escs(o, sec, r->error, WSP__ESC_ATTR);
  }
  wsp__out_puts(o, "</title>");
}

/* Which rows a view shows, in which order, against which origin. */
typedef enum {
  VIEW_CAMPAIGN, /* Shared axis: time since the campaign started. */
  VIEW_ALIGNED   /* Each row from its own start, sorted by delay. */
} view_kind;

/*
 * The health samples (hs, or NULL) as a strip above the probes, on the
 * campaign's time axis: a mark from each request's start to its end,
 * green for 2xx, orange for another status, black for an error.
 */
static void health_strip(wsp__out *o, const wsp__secrets *sec,
                         const wsp__hsamples *hs, const axis *a, double L,
                         double PW, double y, double h) {
  for (size_t i = 0; i < hs->n; i++) {
    const wsp__hsample *s = &hs->s[i];
    double x = L + s->t_ms / a->div / a->max * PW;
    double w = s->ms / a->div / a->max * PW;
    const char *fill = s->error               ? "#212529"
                       : s->status / 100 == 2 ? "#2f9e44"
                                              : "#f08c00";
    wsp__out_printf(o,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" "
                    "height=\"%.1f\" style=\"fill:%s\"><title>health at "
                    "%.1f ms: ",
                    x, y, w < 2 ? 2 : w, h, fill, s->t_ms);
    if (s->error)
      wsp__out_escs(o, sec, s->error, WSP__ESC_TEXT);
    else
      wsp__out_printf(o, "HTTP %d", s->status);
    wsp__out_printf(o, " in %.3f ms</title></rect>", s->ms);
  }
  wsp__out_printf(o,
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">"
                  "health</text>\n",
                  L - 6, y + h - 3);
}

static void timeline_svg(wsp__out *o, const wsp__secrets *sec,
                         const sample *rows, size_t n, view_kind view,
                         const wsp__hsamples *hs) {
  const double L = 62, R = 84, B = 50, HT = hs ? 24 : 0, T = 10 + HT;
  const double PW = W - L - R;
  double rh = n <= 24 ? 22 : n <= 60 ? 15 : n <= 150 ? 9 : n <= 300 ? 6 : 4;
  double bh = rh * 0.72, PH = rh * (double)n, max_ms = 0;
  int labels = rh >= 9;
  axis a;
  for (size_t i = 0; i < n; i++) {
    double end = (double)wsp__end_ns(rows[i].r) / 1e6;
    if (view == VIEW_CAMPAIGN)
      end += (double)rows[i].start_ns / 1e6;
    if (end > max_ms)
      max_ms = end;
  }
  for (size_t i = 0; hs != NULL && i < hs->n; i++)
    if (hs->s[i].t_ms + hs->s[i].ms > max_ms)
      max_ms = hs->s[i].t_ms + hs->s[i].ms;
  a = make_axis(max_ms, 10, 1);
  wsp__out_printf(o,
                  "<svg class=\"chart\" viewBox=\"0 0 %d %.0f\" "
                  "role=\"img\" aria-label=\"timeline\">\n",
                  W, T + PH + B);
  for (size_t i = 1; i < n; i += 2)
    wsp__out_printf(o,
                    "<rect class=\"st\" x=\"%.0f\" y=\"%.1f\" "
                    "width=\"%.0f\" height=\"%.1f\"/>",
                    L, T + rh * (double)i, PW, rh);
  wsp__out_puts(o, "\n");
  x_axis(o, &a, L, PW, T - HT, T + PH,
         view == VIEW_CAMPAIGN ? "time since the campaign started"
                               : "time since each probe started");
  if (hs != NULL)
    health_strip(o, sec, hs, &a, L, PW, T - HT + 4, HT - 8);
  for (size_t i = 0; i < n; i++) {
    const wsp_result *r = rows[i].r;
    edge e[12];
    size_t ne = edges_of(r, e);
    double t0 = view == VIEW_CAMPAIGN ? (double)rows[i].start_ns / 1e6 : 0;
    double y = T + rh * (double)i + (rh - bh) / 2, xend = 0, x0;
    int k = (int)r->outcome;
    char buf[40];
#define TX(ns) (L + (t0 + (double)(ns) / 1e6) / a.div / a.max * PW)
    wsp__out_puts(o, "<g>");
    row_title(o, sec, &rows[i]);
    x0 = TX(0);
    for (size_t j = 0; j + 1 < ne; j++) {
      double xa = TX(e[j].t), xb = TX(e[j + 1].t), h = bh, yy = y;
      if (xb - xa <= 0.05)
        continue;
      if (e[j].kind == SEG_WAIT) {
        h = bh * 0.34;
        yy = y + (bh - h) / 2;
      } else if (e[j].kind == SEG_CLOSE) {
        h = bh * 0.6;
        yy = y + (bh - h) / 2;
      }
      wsp__out_printf(o,
                      "<rect class=\"f%d k%d\" x=\"%.1f\" y=\"%.1f\" "
                      "width=\"%.2f\" height=\"%.1f\"/>",
                      k, e[j].kind, xa, yy, xb - xa, h);
    }
    xend = TX(e[ne - 1].t);
    if (xend - x0 < 2) {
      /* Too short to see its stretches: a mark of the outcome's colour. */
      wsp__out_printf(o,
                      "<rect class=\"f%d\" x=\"%.1f\" y=\"%.1f\" "
                      "width=\"2\" height=\"%.1f\"/>",
                      k, x0, y, bh);
      xend = x0 + 2;
    }
    if (labels && r->marks[WSP_MARK_FIRST_SENT] >= 0)
      wsp__out_printf(o,
                      "<rect class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
                      "width=\"1.6\" height=\"%.1f\"/>",
                      TX(r->marks[WSP_MARK_FIRST_SENT]) - 0.8, y - 1, bh + 2);
#undef TX
    if (labels) {
      wsp__out_printf(o,
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                      "style=\"font-size:%.0fpx\">#%u</text>",
                      L - 6, y + bh / 2 + rh * 0.22, rh >= 15 ? 12 : rh - 1,
                      r->index);
      if (end_label(r, buf, sizeof(buf))[0])
        wsp__out_printf(o,
                        "<text class=\"c%d\" x=\"%.1f\" y=\"%.1f\" "
                        "style=\"font-size:%.0fpx\">%s</text>",
                        k, xend + 4, y + bh / 2 + rh * 0.22,
                        rh >= 15 ? 12 : rh - 1, buf);
    }
    wsp__out_puts(o, "</g>\n");
  }
  y_label(o, 16, T + PH / 2,
          view == VIEW_CAMPAIGN ? "probes, by start" : "probes, by delay");
  wsp__out_puts(o, "</svg>\n");
}

static int by_start(const void *a, const void *b) {
  const sample *x = a, *y = b;
  if (x->start_ns != y->start_ns)
    return x->start_ns < y->start_ns ? -1 : 1;
  return x->r->index < y->r->index ? -1 : x->r->index > y->r->index;
}

static int by_delay(const void *a, const void *b) {
  const sample *x = a, *y = b;
  if (x->r->delay_ms != y->r->delay_ms)
    return x->r->delay_ms < y->r->delay_ms ? -1 : 1;
  return by_start(a, b);
}

static int keep(sample *s, const wsp__row *row) {
  s->start_ns = row->start_ns;
  return (s->r = wsp_result_dup(row->r)) ? 0 : WSP_ENOMEM;
}

/* Failures grouped by what happened, so that a thousand identical 1011s
 * take one line and a rare different failure is not drowned. */
static int group_failure(gather *g, const wsp__row *row) {
  const wsp_result *r = row->r;
  size_t k;
  if (r->outcome == WSP_OUTCOME_OK)
    return 0;
  for (k = 0; k < g->groups; k++) {
    const wsp_result *f = g->first[k].r;
    if (f->outcome == r->outcome && f->phase == r->phase &&
        ((f->error == NULL && r->error == NULL) ||
         (f->error && r->error && strcmp(f->error, r->error) == 0)))
      break;
  }
  if (k < g->groups) {
    g->count[k]++;
  } else if (g->groups < MAX_GROUPS) {
    g->count[g->groups] = 1;
    return keep(&g->first[g->groups++], row);
  } else {
    g->other++;
  }
  return 0;
}

/*
 * One walk over the probes. The timeline's rows are every probe, or a
 * sample in which each outcome appears (up to SAMPLE_PER_OUTCOME probes
 * spread over its occurrences, known from the summary's counts) and the
 * rest spread evenly over the probes not picked for their outcome: the
 * j-th of those is the one of rank j * unchosen / want among them.
 */
static int gather_rows(const wsp_report *rep, gather *g) {
  const uint64_t *count = rep->sum.outcomes;
  uint64_t seen[WSP_OUTCOME_COUNT] = {0}, taken[WSP_OUTCOME_COUNT] = {0};
  uint64_t m[WSP_OUTCOME_COUNT], by_outcome = 0, rank = 0, j = 0;
  uint64_t want = 0, unchosen = 0;
  int all = rep->total <= TIMELINE_ALL, rc;
  wsp__rows it;
  wsp__row row;
  for (int o = 0; o < WSP_OUTCOME_COUNT; o++) {
    m[o] = count[o] < SAMPLE_PER_OUTCOME ? count[o] : SAMPLE_PER_OUTCOME;
    by_outcome += m[o];
  }
  if (!all) {
    want = TIMELINE_SAMPLE > by_outcome ? TIMELINE_SAMPLE - by_outcome : 0;
    unchosen = rep->total - by_outcome;
  }
  g->rows = calloc(all ? (rep->total ? rep->total : 1) : TIMELINE_SAMPLE,
                   sizeof(*g->rows));
  if (g->rows == NULL)
    return WSP_ENOMEM;
  if ((rc = wsp__rows_begin(rep, 1, &it)) != 0)
    return rc;
  while ((rc = wsp__rows_next(&it, &row, NULL, 0)) == 1) {
    int o = (int)row.r->outcome, pick = all;
    size_t cap = all ? rep->total : TIMELINE_SAMPLE;
    if (!all) {
      /* The taken-th pick of this outcome is its occurrence
       * taken * count / m. */
      if (taken[o] < m[o] && seen[o] == taken[o] * count[o] / m[o]) {
        pick = 1;
        taken[o]++;
      } else if (j < want && rank++ == j * unchosen / want) {
        pick = 1;
        j++;
      }
      seen[o]++;
    }
    if (pick && g->nrows < cap && (rc = keep(&g->rows[g->nrows++], &row)) != 0)
      break;
    if ((rc = group_failure(g, &row)) != 0)
      break;
    if (g->bins != NULL)
      bins_add(g, &row);
  }
  wsp__rows_end(&it);
  return rc;
}

static void gather_free(gather *g) {
  for (size_t i = 0; i < g->nrows; i++)
    wsp_result_free(g->rows[i].r);
  for (size_t k = 0; k < g->groups; k++)
    wsp_result_free(g->first[k].r);
  free(g->rows);
  free(g->bins);
}

static void seg_swatch(wsp__out *o, int kind, const char *label) {
  double h = kind == SEG_WAIT ? 4 : kind == SEG_CLOSE ? 7 : 12;
  wsp__out_printf(o,
                  "<span class=\"seg\"><svg width=\"26\" height=\"12\">"
                  "<rect class=\"f%d k%d\" x=\"0\" y=\"%.1f\" "
                  "width=\"26\" height=\"%.0f\"/></svg>%s</span>",
                  WSP_OUTCOME_CLOSED_BY_SERVER, kind, (12 - h) / 2, h, label);
}

static void timeline_card(wsp__out *o, const wsp__secrets *sec,
                          const wsp_report *rep, gather *g) {
  size_t n = g->nrows;
  sample *rows = g->rows;
  wsp__out_puts(o, "<section class=\"card\"><h2>Timeline</h2>");
  if (n < rep->total)
    wsp__out_printf(o,
                    "<p class=\"note\"><b>A sample of %zu of %llu probes"
                    "</b>: every outcome that occurred is shown (up to "
                    "%d probes each), the rest evenly spread over the "
                    "campaign. &ldquo;Outcomes over time&rdquo; counts "
                    "them all.</p>\n",
                    n, (unsigned long long)rep->total, SAMPLE_PER_OUTCOME);
  else
    wsp__out_puts(o, "<p class=\"note\">One row per connection. A bar's "
                     "colour is the probe's outcome; its shade and height "
                     "the phase; the black tick is the first message going "
                     "out; the label at the end is the close code received "
                     "(or the HTTP status of a refused upgrade). Hover a row "
                     "for details.</p>\n");
  legend(o, rep->sum.outcomes);
  wsp__out_puts(o, "<div class=\"legend\">");
  for (int k = 0; k < SEG_COUNT; k++)
    seg_swatch(o, k, seg_names[k]);
  wsp__out_puts(o, "<span class=\"seg\"><svg width=\"10\" height=\"14\">"
                   "<rect class=\"tick\" x=\"4\" y=\"0\" width=\"2\" "
                   "height=\"14\"/></svg>first message sent</span></div>\n");
  wsp__out_puts(o, "<div class=\"tabs\"><input type=\"radio\" name=\"tl\" "
                   "id=\"tl-a\" checked><label for=\"tl-a\">campaign time"
                   "</label><input type=\"radio\" name=\"tl\" id=\"tl-b\">"
                   "<label for=\"tl-b\">aligned at each probe's start, "
                   "sorted by first-message delay</label>\n"
                   "<div class=\"view v-a\">\n");
  qsort(rows, n, sizeof(*rows), by_start);
  timeline_svg(o, sec, rows, n, VIEW_CAMPAIGN,
               rep->health_url != NULL ? &rep->health : NULL);
  wsp__out_puts(o, "</div><div class=\"view v-b\">\n");
  qsort(rows, n, sizeof(*rows), by_delay);
  timeline_svg(o, sec, rows, n, VIEW_ALIGNED, NULL);
  wsp__out_puts(o, "</div></div></section>\n");
}

/* ---- failures and the probe table ---- */

static void failures_card(wsp__out *o, const wsp__secrets *sec,
                          const gather *g) {
  size_t groups = g->groups;
  if (groups == 0)
    return;
  wsp__out_puts(o, "<section class=\"card\"><h2>Failures</h2><p "
                   "class=\"note\">Grouped by outcome, phase and error; "
                   "errors are what the server said, secrets redacted.</p>"
                   "<table><tr><th class=\"n\">probes</th><th>outcome</th>"
                   "<th>phase</th><th class=\"n\">first</th><th>error</th>"
                   "</tr>\n");
  for (size_t k = 0; k < groups; k++) {
    const wsp_result *f = g->first[k].r;
    wsp__out_printf(o, "<tr><td class=\"n\">%llu</td><td>",
                    (unsigned long long)g->count[k]);
    chip(o, f->outcome);
    wsp__out_printf(o,
                    "</td><td>%s</td><td class=\"n\">#%u</td>"
                    "<td class=\"err\">",
                    wsp_phase_name(f->phase), f->index);
    wsp__out_escs(o, sec, f->error, WSP__ESC_TEXT);
    wsp__out_puts(o, "</td></tr>\n");
  }
  if (g->other)
    wsp__out_printf(o,
                    "<tr><td class=\"n\">%llu</td><td colspan=\"4\">"
                    "failures of other kinds (see the JSON report)</td>"
                    "</tr>\n",
                    (unsigned long long)g->other);
  wsp__out_puts(o, "</table></section>\n");
}

static void probes_card(wsp__out *o, const wsp__secrets *sec,
                        const wsp_report *rep, gather *g) {
  size_t n = g->nrows;
  char a[32], b[32];
  qsort(g->rows, n, sizeof(*g->rows), by_start);
  wsp__out_printf(o,
                  "<section class=\"card\"><h2>Probes</h2><details>"
                  "<summary>%s %zu probe%s (the rows of the timeline)"
                  "</summary><table><tr><th class=\"n\">#</th>"
                  "<th class=\"n\">start ms</th><th class=\"n\">delay ms"
                  "</th><th>outcome</th><th>phase</th>"
                  "<th class=\"n\">HTTP</th><th class=\"n\">close recv"
                  "</th><th class=\"n\">close sent</th>"
                  "<th class=\"n\">total ms</th><th>peer</th>"
                  "<th>error</th></tr>\n",
                  n < rep->total ? "the sampled" : "all", n, n == 1 ? "" : "s");
  for (size_t i = 0; i < n; i++) {
    const wsp_result *r = g->rows[i].r;
    wsp__out_printf(o,
                    "<tr><td class=\"n\">%u</td><td class=\"n\">%s</td>"
                    "<td class=\"n\">%u</td><td>",
                    r->index,
                    fmt_ms(a, sizeof(a), (double)g->rows[i].start_ns / 1e6),
                    r->delay_ms);
    chip(o, r->outcome);
    wsp__out_printf(o, "</td><td>%s</td>", wsp_phase_name(r->phase));
    if (r->http_status)
      wsp__out_printf(o, "<td class=\"n\">%d</td>", r->http_status);
    else
      wsp__out_puts(o, "<td class=\"n\">-</td>");
    if (r->close_recv.code >= 0)
      wsp__out_printf(o, "<td class=\"n\">%d</td>", r->close_recv.code);
    else
      wsp__out_puts(o, "<td class=\"n\">-</td>");
    if (r->close_sent.code >= 0)
      wsp__out_printf(o, "<td class=\"n\">%d</td>", r->close_sent.code);
    else
      wsp__out_puts(o, "<td class=\"n\">-</td>");
    wsp__out_printf(o, "<td class=\"n\">%s</td><td>",
                    fmt_ms(b, sizeof(b), (double)wsp__end_ns(r) / 1e6));
    wsp__out_escs(o, sec, r->peer[0] ? r->peer : "-", WSP__ESC_TEXT);
    wsp__out_puts(o, "</td><td class=\"err\">");
    wsp__out_escs(o, sec, r->error, WSP__ESC_TEXT);
    wsp__out_puts(o, "</td></tr>\n");
  }
  wsp__out_puts(o, "</table></details></section>\n");
}

int wsp__report_html(const wsp_report *rep, wsp__out *o) {
  const wsp__secrets *sec = &rep->secrets;
  gather g = {0};
  int from_slices = rep->timed_ms > 0 && rep->nslices > 0, rc = 0;
  if (!from_slices && rep->total > TIMELINE_ALL)
    rc = bins_init(&g, rep);
  if (rc == 0 && rep->total > 0)
    rc = gather_rows(rep, &g);
  if (rc != 0) {
    gather_free(&g);
    return rc;
  }
  wsp__out_puts(o, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                   "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
                   "content=\"width=device-width, initial-scale=1\">\n"
                   "<title>wsprobe report: ");
  wsp__out_escs(o, sec, rep->url, WSP__ESC_TEXT);
  wsp__out_puts(o, "</title>\n<style>");
  wsp__out_puts(o, css);
  for (int k = 0; k < WSP_OUTCOME_COUNT; k++)
    wsp__out_printf(o, ".f%d{fill:%s}.c%d{fill:%s;font-weight:600}", k,
                    colors[k], k, colors[k]);
  /* Phases: the outcome's colour, fainter early on, full once the first
   * message is out. */
  wsp__out_puts(o, ".k0{opacity:.3}.k1{opacity:.45}.k2{opacity:.6}"
                   ".k3{opacity:.9}.k4{opacity:1}.k5{opacity:.75}"
                   ".k6{opacity:.45}</style>\n</head>\n<body>\n");
  header(o, sec, rep);
  if (rep->nmissing > 0)
    wsp__out_printf(o,
                    "<div class=\"warn\"><b>Partial:</b> this merge lacks "
                    "%zu of %u shards, so it fails whatever its probes "
                    "say.</div>\n",
                    rep->nmissing, rep->shards);
  if (rep->flagged > 0)
    wsp__out_printf(o,
                    "<div class=\"warn\"><b>Warning:</b> %llu probe%s "
                    "ran while the prober's own event loop was more than "
                    "%u ms late; their timings are suspect.</div>\n",
                    (unsigned long long)rep->flagged,
                    rep->flagged == 1 ? "" : "s", rep->lag_threshold_ms);
  wsp__out_puts(o, "<div class=\"grid\">\n");
  outcomes_card(o, rep);
  codes_card(o, &rep->sum);
  wsp__out_puts(o, "</div>\n");
  if (rep->health_url != NULL)
    health_card(o, rep);
  groups_card(o, sec, "peer", "the address each probe connected to",
              &rep->peers);
  for (size_t i = 0; i < rep->headers.n; i++)
    groups_card(o, sec, rep->headers.name[i],
                "this header of the upgrade response (--record-header)",
                &rep->headers.g[i]);
  latency_card(o, rep);
  if (rep->mode == WSP__MODE_SWEEP)
    sweep_card(o, rep);
  else if (rep->mode == WSP__MODE_WINDOW)
    window_card(o, rep);
  else if (rep->mode == WSP__MODE_CONCURRENCY)
    levels_card(o, rep);
  if (from_slices)
    time_card(o, rep, &g, 1);
  else if (rep->total > TIMELINE_ALL)
    time_card(o, rep, &g, 0);
  if (rep->total > 0)
    timeline_card(o, sec, rep, &g);
  failures_card(o, sec, &g);
  if (rep->total > 0)
    probes_card(o, sec, rep, &g);
  wsp__out_printf(o,
                  "<footer>Generated by wsprobe %s. This page is "
                  "self-contained: it loads nothing. Times are "
                  "CLOCK_MONOTONIC; re-run with --seed %llu to repeat "
                  "the schedule.</footer>\n</main>\n</body>\n</html>\n",
                  WSP_VERSION_STRING, (unsigned long long)rep->seed);
  gather_free(&g);
  return o->failed;
}
