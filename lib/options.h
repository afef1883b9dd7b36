/*
 * The option table and plans, shared by options.c (the table, value
 * parsing, the setters each option calls) and plan.c (collecting values,
 * checking them together, building a campaign, writing its reports).
 */
#ifndef WSP_OPTIONS_H
#define WSP_OPTIONS_H

#include "config.h"
#include "util.h"

/* One value given for an option, parsed when it was given. */
typedef struct wsp__optval {
  char *text;     /* As given, NUL-terminated (NULL for a flag). */
  size_t len;     /* Its length without the NUL. */
  int by_keyword; /* Given by its keyword rather than its name. */
  uint64_t u;     /* UINT, SECONDS (in ms), PAIR's first number. */
  uint64_t u2;    /* PAIR's second number. */
  double d;       /* NUMBER. */
  uint32_t *list; /* LIST: the numbers. */
  size_t nlist;   /* How many. */
} wsp__optval;

/* An option whose value may hold NUL bytes (wsp_plan_set_bytes()); above
 * the public wsp_option_flag bits. */
#define WSP__OPTION_BYTES (1u << 16)

typedef struct wsp__build wsp__build;

/* What applies an option's value while a plan is built. */
typedef int (*wsp__apply_fn)(wsp__build *b, const wsp_option *o,
                             const wsp__optval *v);

struct wsp_option {
  const char *name;     /* Long name: --name. */
  char short_name;      /* -x, or 0. */
  const char *keyword;  /* The bindings' keyword, or NULL. */
  const char *metavar;  /* What the value is called, NULL for flags. */
  wsp_option_type type; /* How the value is parsed. */
  unsigned flags;       /* WSP_OPTION_* flags. */
  const char *group;    /* The help text's and the man page's section. */
  const char *dflt;     /* The default as text, or NULL. */
  uint64_t min, max;    /* UINT, SECONDS (ms), LIST, PAIR: the range. */
  size_t max_items;     /* LIST: most numbers. */
  char sep;             /* PAIR: the separator. */
  const char *choices;  /* CHOICE: the words, separated by spaces. */
  const char *help;     /* One paragraph. */
  int phase;            /* Timeouts: the phase, else -1. */
  /* The one setter an option calls, by the type it takes (or apply). */
  int (*cfg_u32)(wsp_config *, uint32_t);
  int (*cfg_u64)(wsp_config *, uint64_t);
  int (*cfg_int)(wsp_config *, int);
  int (*cfg_str)(wsp_config *, const char *);
  int (*camp_u32)(wsp_campaign *, uint32_t);
  int (*camp_int)(wsp_campaign *, int);
  wsp__apply_fn apply; /* Anything else; NULL: no setter (see plan.c). */
};

/* The table, in help order. */
extern const wsp_option wsp__options[];
extern const size_t wsp__noptions;

/* Values given for one option, in order. */
typedef struct wsp__optvals {
  wsp__optval *v; /* The values. */
  size_t n;       /* How many. */
} wsp__optvals;

struct wsp_plan {
  char *url;          /* The target, or NULL. */
  int keywords;       /* Messages name options by keyword. */
  wsp__optvals *vals; /* Per option of the table, by index. */
  int merge;          /* Merges reports rather than running probes. */
  int built;          /* Built (or merged) once: it takes no more. */
  char **env;         /* The shard variables of the environment given
                         (NULL-terminated), or NULL. */
  char error[512];    /* Last error, one line. */
};

/* A plan being turned into a config and a campaign. */
struct wsp__build {
  wsp_plan *p;     /* The plan. */
  wsp_config *cfg; /* The config being set up. */
  wsp_campaign *c; /* The campaign, once the config is complete. */
};

/* How `o` is named in messages: "--name" or "keyword". */
const char *wsp__opt_ref(const wsp_plan *p, const wsp_option *o, char *buf,
                         size_t len);
/* The option called `name` (long name or keyword). */
const wsp_option *wsp__opt_get(const char *name);
/* Parses `v->text` per `o`'s type into v; a message in p on failure. */
int wsp__opt_parse(wsp_plan *p, const wsp_option *o, wsp__optval *v);
/* Applies one value: calls the option's setter on b's config or
 * campaign, with the setter's message (prefixed) on failure. */
int wsp__opt_apply(wsp__build *b, const wsp_option *o, const wsp__optval *v);
/* A setter's failure (rc, 0 for none) as the plan's error: the config's
 * or the campaign's own message after the option's name. */
int wsp__opt_cfg_fail(wsp__build *b, const wsp_option *o, int rc);
int wsp__opt_camp_fail(wsp__build *b, const wsp_option *o, int rc);
/* Sets p's error from a format and returns rc. */
int wsp__plan_fail(wsp_plan *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
