/*
 * Reading JSON reports back, streamed: the layout wsprobe writes (the
 * head, then "probes" last, one probe a line, in index order; see
 * docs/report.md) lets a reader parse the head once and then hold one
 * probe's line at a time, so that a report of any size is read in the
 * memory of one line. A report in another layout (keys reordered, the
 * probes pretty-printed) is refused rather than read whole.
 *
 * Everything here is untrusted input: every line is bounded, every field
 * checked for its type, and a report that ends early (a shard killed while
 * writing) is an error, never a shorter report.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "defaults.h"
#include "report_model.h"

/* The longest line a report may have: a probe with 256 events of 256
 * bytes, every byte escaped, stays far below it. */
#define MAX_LINE (4u << 20)
/* The largest head (config, campaign, summary) a report may have. */
#define MAX_HEAD (64u << 20)
/* The most shards a campaign is split into that a merge takes. */
#define MAX_SHARDS 1000000
/* Bytes read from a file at a time. */
#define CHUNK (16 * 1024)

struct wsp__input {
  char *path;           /* The file, or NULL for a text in memory. */
  char name[64];        /* "report N" for a text. */
  FILE *f;              /* The open file. */
  const char *text;     /* The text in memory. */
  size_t text_len;      /* Its length. */
  char *chunk;          /* File bytes read ahead. */
  size_t cpos, clen;    /* Used, held. */
  uint64_t offset;      /* Where the next line starts in the source. */
  uint64_t probes_at;   /* Where the first probe line starts. */
  uint64_t probes_line; /* Its line number. */
  uint64_t lineno;      /* Lines read so far. */
  char *line;           /* The current line, NUL-terminated, no '\n'. */
  size_t len, cap;      /* Its length, allocated. */
  int empty;            /* The probe list is empty ("[]"). */
  int peeked;           /* A probe line is held and not taken. */
  int more;             /* The last probe line ended in a comma. */
  int ended;            /* The list and the report ended as they should. */
  int unterminated;     /* The line read is the file's last, with no '\n'. */
  uint32_t index;       /* The held probe's index. */
  int64_t last;         /* The last index taken, or -1. */
  wsp_result *res;      /* The facts of the last row taken, or NULL. */
  uint64_t start_ns;    /* Its start. */
  char prefix[33];      /* The subprotocol prefix of a token. */
};

void wsp__input_label(wsp__input *in, size_t n) {
  snprintf(in->name, sizeof(in->name), "report %zu", n);
}

const char *wsp__input_name(const wsp__input *in) {
  return in->path ? in->path : in->name;
}

static int fail(const wsp__input *in, char *err, size_t errlen, int rc,
                const char *what) {
  return wsp__errorf(err, errlen, rc, "%s, line %llu: %s", wsp__input_name(in),
                     (unsigned long long)in->lineno, what);
}

/* Appends n bytes to the current line; false when it grew too long. */
static int line_add(wsp__input *in, const char *s, size_t n) {
  if (in->len + n + 1 > in->cap) {
    size_t cap = in->cap ? in->cap : 256;
    char *p;
    if (in->len + n + 1 > MAX_LINE)
      return 0;
    while (cap < in->len + n + 1)
      cap *= 2;
    if ((p = realloc(in->line, cap)) == NULL)
      return 0;
    in->line = p;
    in->cap = cap;
  }
  memcpy(in->line + in->len, s, n);
  in->len += n;
  in->line[in->len] = '\0';
  return 1;
}

/* The next line: 1, 0 at the end of the source, or a negative error. */
static int read_line(wsp__input *in, char *err, size_t errlen) {
  in->len = 0;
  in->unterminated = 0;
  if (in->line != NULL)
    in->line[0] = '\0';
  for (;;) {
    const char *src, *nl;
    size_t avail;
    if (in->f == NULL) {
      src = in->text + in->offset;
      avail = in->text_len - in->offset;
    } else {
      if (in->cpos == in->clen) {
        in->cpos = 0;
        in->clen = fread(in->chunk, 1, CHUNK, in->f);
        if (in->clen == 0) {
          if (ferror(in->f))
            return wsp__errorf(err, errlen, WSP_EIO, "%s: cannot read: %s",
                               in->path, strerror(errno));
        }
      }
      src = in->chunk + in->cpos;
      avail = in->clen - in->cpos;
    }
    if (avail == 0) {
      if (in->len == 0)
        return 0;
      in->lineno++;
      in->unterminated = 1;
      return 1; /* A last line without a line feed. */
    }
    nl = memchr(src, '\n', avail);
    {
      size_t take = nl ? (size_t)(nl - src) : avail;
      if (!line_add(in, src, take))
        return fail(in, err, errlen, WSP_EJSON,
                    "a line longer than 4 MiB: not a wsprobe report");
      take += nl != NULL;
      in->offset += take;
      if (in->f != NULL)
        in->cpos += take;
    }
    if (nl != NULL) {
      in->lineno++;
      return 1;
    }
  }
}

void wsp__input_free(wsp__input *in) {
  if (in == NULL)
    return;
  if (in->f != NULL)
    fclose(in->f);
  free(in->path);
  free(in->chunk);
  free(in->line);
  wsp_result_free(in->res);
  free(in);
}

static int is_probes_line(const char *l) {
  return strcmp(l, "\t\"probes\":\t[") == 0 ||
         strcmp(l, "\t\"probes\":\t[]") == 0;
}

/*
 * Opens a report and reads its head into *head (a cJSON tree the caller
 * deletes), leaving the input before its first probe.
 */
static int read_head(wsp__input *in, cJSON **head, char *err, size_t errlen) {
  wsp__out h = {0};
  int rc;
  *head = NULL;
  if ((rc = read_line(in, err, errlen)) < 0)
    return rc;
  if (rc == 0 || strcmp(in->line, "{") != 0)
    return fail(in, err, errlen, WSP_EJSON,
                rc == 0 ? "empty, not a wsprobe JSON report"
                        : "not a wsprobe JSON report (no '{' line first)");
  wsp__out_puts(&h, "{\n");
  for (;;) {
    if ((rc = read_line(in, err, errlen)) < 0)
      break;
    if (rc == 0) {
      rc = fail(in, err, errlen, WSP_EJSON,
                "no probe list on a line of its own: not a complete report "
                "in the layout wsprobe writes (docs/report.md)");
      break;
    }
    if (is_probes_line(in->line)) {
      in->empty = in->line[in->len - 1] == ']';
      rc = 0;
      break;
    }
    if (h.len + in->len > MAX_HEAD) {
      rc = fail(in, err, errlen, WSP_EJSON, "a head larger than 64 MiB");
      break;
    }
    wsp__out_put(&h, in->line, in->len);
    wsp__out_puts(&h, "\n");
  }
  if (rc == 0 && h.failed)
    rc = wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
  if (rc == 0) {
    /* The head ends with the comma that led to the probes. */
    while (h.len > 0 && (h.p[h.len - 1] == '\n' || h.p[h.len - 1] == ','))
      h.len--;
    wsp__out_puts(&h, "\n}");
    *head = h.failed ? NULL : cJSON_ParseWithLength(h.p, h.len);
    if (!cJSON_IsObject(*head)) {
      cJSON_Delete(*head);
      *head = NULL;
      rc = fail(in, err, errlen, WSP_EJSON,
                "the report's head is not valid JSON");
    }
  }
  free(h.p);
  in->probes_at = in->offset;
  in->probes_line = in->lineno;
  return rc;
}

int wsp__input_open(wsp__input **out, const char *path, const char *text,
                    size_t text_len, char *err, size_t errlen) {
  wsp__input *in = calloc(1, sizeof(*in));
  *out = in;
  if (in == NULL)
    return wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
  in->last = -1;
  memcpy(in->prefix, wsp__jwt_prefix, sizeof(wsp__jwt_prefix));
  if (path == NULL) {
    in->text = text;
    in->text_len = text_len;
    return 0;
  }
  if ((in->path = wsp__strdup(path)) == NULL ||
      (in->chunk = malloc(CHUNK)) == NULL)
    return wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
  if ((in->f = fopen(path, "rb")) == NULL)
    return wsp__errorf(err, errlen, WSP_EIO, "cannot read %s: %s", path,
                       strerror(errno));
  if (!wsp__regular_file(path))
    return wsp__errorf(err, errlen, WSP_EIO, "cannot read %s: %s", path,
                       "not a regular file");
  return 0;
}

int wsp__input_rewind(wsp__input *in, char *err, size_t errlen) {
  in->offset = in->probes_at;
  in->lineno = in->probes_line;
  in->peeked = in->ended = 0;
  in->more = 1;
  in->last = -1;
  if (in->f != NULL) {
    in->cpos = in->clen = 0;
    if (fseeko(in->f, (off_t)in->probes_at, SEEK_SET) != 0)
      return wsp__errorf(err, errlen, WSP_EIO, "%s: cannot read: %s", in->path,
                         strerror(errno));
  }
  return 0;
}

/* After the list: "}" and the end of the report. */
static int read_tail(wsp__input *in, char *err, size_t errlen) {
  int rc = read_line(in, err, errlen);
  if (rc < 0)
    return rc;
  if (rc == 0 || strcmp(in->line, "}") != 0)
    return fail(in, err, errlen, WSP_EJSON,
                "the report ends early (no '}' after the probes)");
  while ((rc = read_line(in, err, errlen)) == 1)
    if (in->len > 0)
      return fail(in, err, errlen, WSP_EJSON, "text after the report");
  if (rc < 0)
    return rc;
  in->ended = 1;
  return 0;
}

int wsp__input_peek(wsp__input *in, uint32_t *index, char *err, size_t errlen) {
  const char *p;
  unsigned long long v = 0;
  int rc;
  if (in->peeked) {
    *index = in->index;
    return 1;
  }
  if (in->ended)
    return 0;
  if (in->empty) {
    if ((rc = read_tail(in, err, errlen)) != 0)
      return rc;
    return 0;
  }
  if ((rc = read_line(in, err, errlen)) < 0)
    return rc;
  if (rc == 0)
    return fail(in, err, errlen, WSP_EJSON,
                "the report ends early, in its list of probes");
  if (strcmp(in->line, "\t]") == 0) {
    if (in->more && in->last >= 0)
      return fail(in, err, errlen, WSP_EJSON, "a comma before the list ends");
    if ((rc = read_tail(in, err, errlen)) != 0)
      return rc;
    return 0;
  }
  if (!in->more)
    return fail(in, err, errlen, WSP_EJSON,
                "a probe after the last one (no comma before it)");
  /* The writer ends every probe line with a line feed: a probe line that
   * ends the file was cut, wherever the cut fell (even just after a '}' of
   * an object inside it). */
  if (in->unterminated)
    return fail(in, err, errlen, WSP_EJSON,
                "a probe cut short: the report ends early");
  if (strncmp(in->line, "\t\t{\"index\":", 11) != 0)
    return fail(in, err, errlen, WSP_EJSON,
                "not a probe of the report's probe list");
  if (strcmp(in->line + in->len - (in->line[in->len - 1] == ',' ? 2 : 1),
             in->line[in->len - 1] == ',' ? "}," : "}") != 0)
    return fail(in, err, errlen, WSP_EJSON,
                "a probe cut short: the report ends early");
  for (p = in->line + 11; *p >= '0' && *p <= '9' && v <= UINT32_MAX; p++)
    v = v * 10 + (unsigned)(*p - '0');
  if (p == in->line + 11 || *p != ',' || v > UINT32_MAX)
    return fail(in, err, errlen, WSP_EJSON, "a probe without a valid index");
  if ((int64_t)v <= in->last)
    return fail(in, err, errlen, WSP_EMERGE,
                "probes out of index order (or one twice)");
  in->more = in->line[in->len - 1] == ',';
  in->index = (uint32_t)v;
  in->peeked = 1;
  *index = in->index;
  return 1;
}

/* ---- a probe's facts from its JSON object ---- */

static const cJSON *get(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A number member as ns from ms; -1 for null or absent. */
static int64_t ns_of(const cJSON *v) {
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 9e12)
    return -1;
  return (int64_t)llround(v->valuedouble * 1e6);
}

/* A non-negative integer member, or `dflt`. */
static uint64_t uint_of(const cJSON *v, uint64_t dflt) {
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
      v->valuedouble > 9007199254740992.0)
    return dflt;
  return (uint64_t)v->valuedouble;
}

/* A string member, copied (NULL for null); false when out of memory. */
static int str_of(const cJSON *v, char **out) {
  *out = NULL;
  if (!cJSON_IsString(v))
    return 1;
  return (*out = wsp__strdup(v->valuestring)) != NULL;
}

/* A key exchange group's name as a static string (a result does not own
 * it), or NULL for a name wsprobe does not report. */
static const char *group_of(const char *name) {
  static const char *const groups[] = {
      "secp256r1",       "secp384r1",       "secp521r1", "brainpoolP256r1",
      "brainpoolP384r1", "brainpoolP512r1", "x25519",    "x448",
      "ffdhe2048",       "ffdhe3072",       "ffdhe4096", "ffdhe6144",
      "ffdhe8192"};
  for (size_t i = 0; name != NULL && i < WSP__ARRAY_SIZE(groups); i++)
    if (strcmp(name, groups[i]) == 0)
      return groups[i];
  return NULL;
}

static int hexval(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

/* Decodes up to `max` bytes of hex digits into out; returns how many. */
static size_t unhex(const char *hex, uint8_t *out, size_t max) {
  size_t n = 0;
  for (; hex[0] && hex[1] && n < max; hex += 2) {
    int a = hexval(hex[0]), b = hexval(hex[1]);
    if (a < 0 || b < 0)
      break;
    out[n++] = (uint8_t)(a << 4 | b);
  }
  return n;
}

static void close_of(const cJSON *v, wsp__close *c) {
  const char *reason = cJSON_GetStringValue(get(v, "reason"));
  const char *hex = cJSON_GetStringValue(get(v, "reason_hex"));
  c->code = -1;
  if (!cJSON_IsObject(v))
    return;
  c->code = (int)uint_of(get(v, "code"), 1005);
  if (reason != NULL) {
    /* cJSON keeps no length: a reason read back ends at a NUL. */
    size_t n = strlen(reason);
    c->reason_len = (uint8_t)(n > WSP__MAX_REASON ? WSP__MAX_REASON : n);
    memcpy(c->reason, reason, c->reason_len);
  } else if (hex != NULL) {
    c->reason_len = (uint8_t)unhex(hex, (uint8_t *)c->reason, WSP__MAX_REASON);
  }
  c->reason[c->reason_len] = '\0';
}

/*
 * cJSON keeps no string length: a string holding \u0000 reads back cut at
 * its first NUL. Close reasons and bodies keep every byte, so where a
 * probe's line holds that escape they are decoded again from the line,
 * with the small scanner below (the line is valid JSON: cJSON parsed it).
 */
static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

/* Past the string starting at p (its quote), or NULL. */
static const char *skip_str(const char *p, const char *end) {
  for (p++; p < end; p++)
    if (*p == '\\')
      p++;
    else if (*p == '"')
      return p + 1;
  return NULL;
}

/* Past the value starting at p, or NULL. */
static const char *skip_value(const char *p, const char *end) {
  int depth = 0;
  if (p < end && *p == '"')
    return skip_str(p, end);
  while (p < end) {
    if (*p == '"') {
      if ((p = skip_str(p, end)) == NULL)
        return NULL;
      continue;
    }
    if (*p == '{' || *p == '[')
      depth++;
    else if (*p == '}' || *p == ']')
      depth--;
    if (depth < 0 || (depth == 0 && (*p == ',' || *p == ' ')))
      return p;
    p++;
    if (depth == 0 && (p[-1] == '}' || p[-1] == ']'))
      return p;
  }
  return NULL;
}

/* The value of member `key` (a plain key) of the object at p, or NULL. */
static const char *member_at(const char *p, const char *end, const char *key) {
  size_t klen = strlen(key);
  if ((p = skip_ws(p, end)) >= end || *p != '{')
    return NULL;
  for (p++;;) {
    const char *k;
    if ((p = skip_ws(p, end)) >= end || *p != '"')
      return NULL;
    k = p + 1;
    if ((p = skip_str(p, end)) == NULL)
      return NULL;
    if ((p = skip_ws(p, end)) >= end || *p != ':')
      return NULL;
    p = skip_ws(p + 1, end);
    if ((size_t)(p - k) > klen && memcmp(k, key, klen) == 0 && k[klen] == '"')
      return p;
    if ((p = skip_value(p, end)) == NULL || (p = skip_ws(p, end)) >= end ||
        *p != ',')
      return NULL;
    p++;
  }
}

static int hex4(const char *p, const char *end) {
  int v = 0;
  if (end - p < 4)
    return -1;
  for (int i = 0; i < 4; i++) {
    int h = hexval(p[i]);
    if (h < 0)
      return -1;
    v = v << 4 | h;
  }
  return v;
}

/* The bytes of the string at p, at most `max` of them, into out: how
 * many, or -1 when p is no string. */
static long bytes_at(const char *p, const char *end, uint8_t *out, size_t max) {
  size_t n = 0;
  if (p == NULL || p >= end || *p != '"')
    return -1;
  for (p++; p < end && *p != '"' && n < max; p++) {
    uint32_t cp;
    uint8_t u[4];
    size_t k;
    if (*p != '\\') {
      out[n++] = (uint8_t)*p;
      continue;
    }
    if (++p >= end)
      return -1;
    switch (*p) {
    case 'b':
      cp = '\b';
      break;
    case 'f':
      cp = '\f';
      break;
    case 'n':
      cp = '\n';
      break;
    case 'r':
      cp = '\r';
      break;
    case 't':
      cp = '\t';
      break;
    case 'u': {
      int hi = hex4(p + 1, end), lo;
      if (hi < 0)
        return -1;
      p += 4;
      cp = (uint32_t)hi;
      if (hi >= 0xd800 && hi < 0xdc00 && end - p > 6 && p[1] == '\\' &&
          p[2] == 'u' && (lo = hex4(p + 3, end)) >= 0xdc00 && lo < 0xe000) {
        cp =
            0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
        p += 6;
      }
      break;
    }
    default:
      cp = (uint8_t)*p;
    }
    if (cp < 0x80) {
      u[0] = (uint8_t)cp;
      k = 1;
    } else if (cp < 0x800) {
      u[0] = (uint8_t)(0xc0 | cp >> 6);
      u[1] = (uint8_t)(0x80 | (cp & 0x3f));
      k = 2;
    } else if (cp < 0x10000) {
      u[0] = (uint8_t)(0xe0 | cp >> 12);
      u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
      u[2] = (uint8_t)(0x80 | (cp & 0x3f));
      k = 3;
    } else {
      u[0] = (uint8_t)(0xf0 | cp >> 18);
      u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
      u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
      u[3] = (uint8_t)(0x80 | (cp & 0x3f));
      k = 4;
    }
    if (n + k > max)
      break;
    memcpy(out + n, u, k);
    n += k;
  }
  return (long)n;
}

/* A close reason holding a NUL, again from the line. */
static void reason_again(const char *line, const char *end, const char *which,
                         wsp__close *c) {
  const char *x = member_at(line, end, "close");
  long n = bytes_at(member_at(member_at(x, end, which), end, "reason"), end,
                    (uint8_t *)c->reason, WSP__MAX_REASON);
  if (c->code >= 0 && n >= 0) {
    c->reason_len = (uint8_t)n;
    c->reason[n] = '\0';
  }
}

/* Close reasons and the body of a probe whose line holds a NUL. */
static int bytes_again(const char *line, size_t len, wsp_result *r) {
  const char *end = line + len;
  long n;
  const char *esc = line;
  int found = 0;
  /* Most lines hold no NUL escape: one scan of their escapes (a backslash
   * and at least one more character each). */
  while (!found && esc < end &&
         (esc = memchr(esc, '\\', (size_t)(end - esc))) != NULL) {
    found = end - esc >= 6 && memcmp(esc, "\\u0000", 6) == 0;
    esc += 2;
  }
  if (!found)
    return 0;
  reason_again(line, end, "received", &r->close_recv);
  reason_again(line, end, "sent", &r->close_sent);
  if (r->body != NULL) {
    /* Its text in the line is at least as long as its bytes. */
    const char *v = member_at(line, end, "http_body");
    const char *e = v != NULL && *v == '"' ? skip_str(v, end) : NULL;
    uint8_t *b;
    if (e == NULL)
      return 0;
    if ((b = malloc((size_t)(e - v))) == NULL)
      return WSP_ENOMEM;
    n = bytes_at(v, end, b, (size_t)(e - v));
    if (n > 0) {
      free(r->body);
      r->body = b;
      r->body_len = (size_t)n;
    } else {
      free(b);
    }
  }
  return 0;
}

/* Fills r from a probe object; a message in *what when it cannot. */
static int result_of(const cJSON *p, wsp_result *r, uint64_t *start_ns,
                     const char *prefix, const char **what) {
  const cJSON *x, *e;
  const char *body;
  int o = wsp_outcome_from_name(cJSON_GetStringValue(get(p, "outcome")));
  int ph = wsp__phase_from_name(cJSON_GetStringValue(get(p, "phase")));
  *what = "a probe whose outcome or phase wsprobe does not know";
  if (!cJSON_IsObject(p) || o < 0 || ph < 0)
    return WSP_EJSON;
  *what = "out of memory";
  r->index = (uint32_t)uint_of(get(p, "index"), 0);
  r->outcome = (wsp_outcome)o;
  r->phase = (wsp_phase)ph;
  r->http_status = (int)uint_of(get(p, "http_status"), 0);
  x = get(p, "http_headers");
  if (!str_of(get(p, "http_reason"), &r->http_reason) ||
      !str_of(get(x, "retry-after"), &r->retry_after) ||
      !str_of(get(x, "content-type"), &r->content_type) ||
      !str_of(get(p, "subprotocol"), &r->subprotocol) ||
      !str_of(get(p, "extensions"), &r->extensions) ||
      !str_of(get(p, "error"), &r->error))
    return WSP_ENOMEM;
  if ((body = cJSON_GetStringValue(get(p, "http_body"))) != NULL &&
      body[0] != '\0') {
    r->body_len = strlen(body);
    if ((r->body = malloc(r->body_len)) == NULL)
      return WSP_ENOMEM;
    memcpy(r->body, body, r->body_len);
  } else if ((body = cJSON_GetStringValue(get(p, "http_body_hex"))) != NULL &&
             body[0] != '\0') {
    if ((r->body = malloc(strlen(body) / 2 + 1)) == NULL)
      return WSP_ENOMEM;
    r->body_len = unhex(body, r->body, strlen(body) / 2);
  }
  if ((body = cJSON_GetStringValue(get(p, "peer"))) != NULL)
    snprintf(r->peer, sizeof(r->peer), "%s", body);
  /* Only header names, as wsp_config_add_record_header() takes them. */
  cJSON_ArrayForEach(e, get(p, "recorded_headers")) {
    if (r->nrec < WSP__MAX_RECORD && e->string != NULL &&
        strlen(e->string) < 64 && wsp__is_token(e->string) &&
        (cJSON_IsString(e) || cJSON_IsNull(e)) &&
        wsp__result_add_header(r, e->string, cJSON_GetStringValue(e)) != 0)
      return WSP_ENOMEM;
  }
  r->redact_subprotocol = r->subprotocol != NULL &&
                          strncmp(r->subprotocol, prefix, strlen(prefix)) == 0;
  if (cJSON_IsObject(x = get(p, "tls"))) {
    if (!str_of(get(x, "version"), &r->tls_version) ||
        !str_of(get(x, "cipher"), &r->tls_cipher) ||
        !str_of(get(x, "alpn"), &r->tls_alpn))
      return WSP_ENOMEM;
    if (r->tls_version == NULL && (r->tls_version = wsp__strdup("")) == NULL)
      return WSP_ENOMEM;
    r->tls_verified = cJSON_IsTrue(get(x, "verified"));
    r->tls_close_notify = cJSON_IsTrue(get(x, "close_notify"));
    r->tls_resumed = cJSON_IsTrue(get(x, "resumed"));
    r->tls_group = group_of(cJSON_GetStringValue(get(x, "group")));
  }
  r->proxy_status = (int)uint_of(get(get(p, "proxy"), "status"), 0);
  close_of(get(get(p, "close"), "received"), &r->close_recv);
  close_of(get(get(p, "close"), "sent"), &r->close_sent);
  x = get(p, "timeline_ms");
  for (int m = 0; m < WSP_MARK_COUNT; m++)
    r->marks[m] = ns_of(get(x, wsp_mark_name((wsp_mark)m)));
  r->messages = (uint32_t)uint_of(get(p, "messages"), 0);
  cJSON_ArrayForEach(e, get(p, "events")) {
    const char *type = cJSON_GetStringValue(get(e, "type"));
    const cJSON *t = get(e, "t_ms");
    int64_t t_ns = cJSON_IsNumber(t) && fabs(t->valuedouble) < 9e12
                       ? (int64_t)llround(t->valuedouble * 1e6)
                       : 0;
    if (type != NULL && wsp__result_add_event(r, type, strlen(type), t_ns) != 0)
      return WSP_ENOMEM;
  }
  r->step =
      cJSON_IsNumber(get(p, "step")) ? (int)uint_of(get(p, "step"), 0) : -1;
  *start_ns =
      (uint64_t)(ns_of(get(p, "start_ms")) > 0 ? ns_of(get(p, "start_ms")) : 0);
  r->delay_ms = (uint32_t)uint_of(get(p, "delay_ms"), 0);
  r->lag_ns = ns_of(get(p, "loop_lag_ms"));
  r->discarded = cJSON_IsTrue(get(p, "discarded"));
  return 0;
}

int wsp__input_result(wsp__input *in, wsp__row *row, char *err, size_t errlen) {
  cJSON *p;
  const char *what = NULL;
  int rc;
  /* The line of the row taken is still in the line buffer. */
  wsp_result_free(in->res);
  if ((in->res = wsp__result_new()) == NULL)
    return wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
  p = cJSON_ParseWithLength(row->line, row->line_len);
  if (p == NULL)
    return fail(in, err, errlen, WSP_EJSON, "a probe that is not valid JSON");
  rc = result_of(p, in->res, &in->start_ns, in->prefix, &what);
  cJSON_Delete(p);
  if (rc == 0 && bytes_again(row->line, row->line_len, in->res) != 0) {
    rc = WSP_ENOMEM;
    what = "out of memory";
  }
  if (rc != 0)
    return fail(in, err, errlen, rc, what);
  if (in->res->index != row->index)
    return fail(in, err, errlen, WSP_EJSON, "a probe with two indexes");
  row->r = in->res;
  row->start_ns = in->start_ns;
  return 0;
}

int wsp__input_take(wsp__input *in, int facts, wsp__row *row, char *err,
                    size_t errlen) {
  if (!in->peeked)
    return fail(in, err, errlen, WSP_EINVAL, "no probe to take");
  in->peeked = 0;
  in->last = in->index;
  memset(row, 0, sizeof(*row));
  row->index = in->index;
  row->line = in->line + 2;
  row->line_len = in->len - 2 - (in->more ? 1 : 0);
  return facts ? wsp__input_result(in, row, err, errlen) : 0;
}

/* ---- the head: the model of everything but the probes ---- */

/* A histogram written by the JSON report, into h (empty when absent). */
static int hist_of(const cJSON *o, wsp__hist *h) {
  const cJSON *hist = get(o, "histogram"), *pair;
  wsp__hist_init(h);
  if (uint_of(get(o, "count"), 0) == 0)
    return 0;
  if (!cJSON_IsObject(hist))
    return WSP_EJSON;
  cJSON_ArrayForEach(pair, get(hist, "buckets")) {
    const cJSON *i = cJSON_GetArrayItem(pair, 0),
                *n = cJSON_GetArrayItem(pair, 1);
    if (!cJSON_IsNumber(i) || !(i->valuedouble >= 0) ||
        !(i->valuedouble < WSP__HIST_BUCKETS) || !cJSON_IsNumber(n) ||
        !(n->valuedouble >= 0))
      return WSP_EJSON;
    h->b[(unsigned)i->valuedouble] += uint_of(n, 0);
    h->count += uint_of(n, 0);
  }
  h->min = uint_of(get(hist, "min_ns"), 0);
  h->max = uint_of(get(hist, "max_ns"), 0);
  return 0;
}

/* {outcome: n} into counts (unknown names are refused). */
static int outcomes_of(const cJSON *o, uint64_t *counts) {
  const cJSON *it;
  cJSON_ArrayForEach(it, o) {
    int k = wsp_outcome_from_name(it->string);
    if (k < 0 || !cJSON_IsNumber(it))
      return WSP_EJSON;
    counts[k] = uint_of(it, 0);
  }
  return 0;
}

/* Keeps a secret text read back, to scrub it from HTML and JUnit. */
static int secret_of(wsp_report *rep, const char *s) {
  size_t i = 0;
  while (i < WSP__MAX_SECRETS && rep->secret_copy[i] != NULL)
    i++;
  if (s == NULL || i == WSP__MAX_SECRETS)
    return 0;
  if ((rep->secret_copy[i] = wsp__strdup(s)) == NULL)
    return WSP_ENOMEM;
  wsp__secrets_add(&rep->secrets, rep->secret_copy[i], strlen(s));
  return 0;
}

static const char redacted[] = "<redacted>";

/*
 * The config as read: its facts, and its text with secrets redacted. A
 * report written with --show-secrets holds them; they are redacted here
 * unless a writer is asked to show them, and scrubbed from HTML and JUnit.
 */
static int config_of(wsp_report *rep, wsp__input *in, cJSON *cfg) {
  cJSON *jwt = (cJSON *)get(cfg, "jwt"), *it, *tls = (cJSON *)get(cfg, "tls");
  const char *prefix = cJSON_GetStringValue(get(jwt, "prefix"));
  const char *token = cJSON_GetStringValue(get(jwt, "token"));
  int rc;
  if (!cJSON_IsObject(cfg) || !cJSON_IsString(get(cfg, "url")))
    return WSP_EJSON;
  if ((rep->url = wsp__strdup(get(cfg, "url")->valuestring)) == NULL)
    return WSP_ENOMEM;
  rep->has_message = cJSON_IsObject(get(cfg, "message"));
  rep->delay_ms = (uint32_t)uint_of(get(cfg, "delay_ms"), 0);
  rep->insecure = cJSON_IsObject(tls) && cJSON_IsFalse(get(tls, "verify"));
  if (prefix != NULL && strlen(prefix) < sizeof(rep->jwt_prefix)) {
    strcpy(rep->jwt_prefix, prefix);
    strcpy(in->prefix, prefix);
  }
  if ((rep->config_shown = wsp__json_indent(cfg)) == NULL)
    return WSP_ENOMEM;
  if (token != NULL && strcmp(token, redacted) != 0) {
    rep->secrets_shown = 1;
    if ((rc = secret_of(rep, token)) != 0)
      return rc;
    cJSON_ReplaceItemInObjectCaseSensitive(jwt, "token",
                                           cJSON_CreateString(redacted));
  }
  cJSON_ArrayForEach(it, get(cfg, "headers")) {
    const char *name = cJSON_GetStringValue(get(it, "name"));
    const char *value = cJSON_GetStringValue(get(it, "value"));
    if (name == NULL || value == NULL || !wsp__header_is_secret(name) ||
        strcmp(value, redacted) == 0)
      continue;
    rep->secrets_shown = 1;
    /* "Bearer <token>": the token alone is the secret too. */
    if ((rc = secret_of(rep, value)) != 0 ||
        (strrchr(value, ' ') && (rc = secret_of(rep, strrchr(value, ' ') + 1))))
      return rc;
    cJSON_ReplaceItemInObjectCaseSensitive(it, "value",
                                           cJSON_CreateString(redacted));
  }
  cJSON_ArrayForEach(it, get(cfg, "subprotocols")) {
    const char *v = cJSON_GetStringValue(it);
    const char *r = wsp__redact_subprotocol(v, 0);
    if (v != NULL && r != v && strcmp(r, v) != 0) {
      rep->secrets_shown = 1;
      cJSON_SetValuestring(it, r);
    }
  }
  if ((rep->config = wsp__json_indent(cfg)) == NULL)
    return WSP_ENOMEM;
  if (!rep->secrets_shown) {
    free(rep->config_shown);
    rep->config_shown = NULL;
  }
  return 0;
}

static int sweep_of(wsp_report *rep, const cJSON *c) {
  const cJSON *rows = get(c, "sweep"), *it;
  size_t n = (size_t)cJSON_GetArraySize(rows), k = 0;
  rep->per_delay = (uint32_t)uint_of(get(c, "per_delay"), 0);
  if (!cJSON_IsArray(rows))
    return WSP_EJSON;
  if (n > 0 && (rep->points = calloc(n, sizeof(*rep->points))) == NULL)
    return WSP_ENOMEM;
  rep->npoints = n;
  cJSON_ArrayForEach(it, rows) {
    wsp__point *p = &rep->points[k++];
    p->value = (uint32_t)uint_of(get(it, "delay_ms"), 0);
    p->total = uint_of(get(it, "total"), 0);
    p->failed = uint_of(get(it, "failed"), 0);
    if (outcomes_of(get(it, "outcomes"), p->outcomes) != 0)
      return WSP_EJSON;
  }
  return 0;
}

static int window_of(wsp_report *rep, const cJSON *w) {
  const cJSON *ev = get(w, "evidence"), *it;
  const char *concl = cJSON_GetStringValue(get(w, "conclusion"));
  size_t n = (size_t)cJSON_GetArraySize(ev), k = 0;
  if (!cJSON_IsObject(w) || !cJSON_IsArray(ev) || concl == NULL)
    return WSP_EJSON;
  rep->window.lo = (uint32_t)uint_of(get(w, "lo_ms"), 0);
  rep->window.hi = (uint32_t)uint_of(get(w, "hi_ms"), 0);
  rep->window.res = (uint32_t)uint_of(get(w, "resolution_ms"), 0);
  rep->window.trials = (uint32_t)uint_of(get(w, "trials"), 0);
  snprintf(rep->window.conclusion, sizeof(rep->window.conclusion), "%s", concl);
  if (cJSON_IsString(get(w, "stopped")))
    snprintf(rep->window.stopped, sizeof(rep->window.stopped), "%s",
             cJSON_GetStringValue(get(w, "stopped")));
  rep->window.from = ns_of(get(get(w, "estimate"), "from_ms"));
  rep->window.to = ns_of(get(get(w, "estimate"), "to_ms"));
  if (rep->window.from < 0 || rep->window.to < 0)
    rep->window.from = rep->window.to = -1;
  rep->window.spent = uint_of(get(w, "probes_spent"), 0);
  if (n > 0 &&
      (rep->window.evidence = calloc(n, sizeof(*rep->window.evidence))) == NULL)
    return WSP_ENOMEM;
  rep->window.nevidence = n;
  cJSON_ArrayForEach(it, ev) {
    wsp__evidence *e = &rep->window.evidence[k++];
    e->delay_ms = (uint32_t)uint_of(get(it, "delay_ms"), 0);
    e->trials = (uint32_t)uint_of(get(it, "trials"), 0);
    e->failures = (uint32_t)uint_of(get(it, "failures"), 0);
    e->achieved_min = ns_of(get(it, "achieved_min_ms"));
    e->achieved_max = ns_of(get(it, "achieved_max_ms"));
    e->fail_max = ns_of(get(it, "failed_max_ms"));
    e->pass_min = ns_of(get(it, "passed_min_ms"));
    e->reruns = (uint32_t)uint_of(get(it, "reruns"), 0);
    e->lag_flagged = cJSON_IsTrue(get(it, "lag_flagged"));
  }
  return 0;
}

static int levels_of(wsp_report *rep, const cJSON *l) {
  const cJSON *levels = get(l, "levels"), *it;
  size_t n = (size_t)cJSON_GetArraySize(levels), k = 0;
  if (!cJSON_IsObject(l) || !cJSON_IsArray(levels))
    return WSP_EJSON;
  rep->max_level = (uint32_t)uint_of(get(l, "max_level"), 0);
  if (n > 0 && (rep->levels = calloc(n, sizeof(*rep->levels))) == NULL)
    return WSP_ENOMEM;
  rep->nlevels = n;
  cJSON_ArrayForEach(it, levels) {
    wsp__level *v = &rep->levels[k++];
    v->level = (uint32_t)uint_of(get(it, "level"), 0);
    v->failures = (uint32_t)uint_of(get(it, "failed"), 0);
    if (outcomes_of(get(it, "outcomes"), v->outcomes) != 0)
      return WSP_EJSON;
  }
  if (rep->max_level == 0 && n > 0)
    rep->max_level = rep->levels[n - 1].level;
  return 0;
}

/* The time slices, one after the other from 0 (memory grows with the
 * report, never with a number in it). */
static int slices_of(wsp_report *rep, const cJSON *c) {
  const cJSON *slices = get(c, "time_slices"), *it;
  size_t n = (size_t)cJSON_GetArraySize(slices), i = 0;
  rep->slice_ms = (uint32_t)uint_of(get(c, "slice_ms"), 1000);
  if (n > 0 && (rep->slices = calloc(n, sizeof(*rep->slices))) == NULL)
    return WSP_ENOMEM;
  rep->nslices = n;
  cJSON_ArrayForEach(it, slices) {
    if (uint_of(get(it, "t_ms"), 1) != (uint64_t)i * rep->slice_ms ||
        outcomes_of(get(it, "outcomes"), rep->slices[i].outcomes) != 0)
      return WSP_EJSON;
    i++;
  }
  return 0;
}

/* campaign.started_at, .start and .clock, where a report has them. */
static void read_start(const cJSON *c, wsp_report *rep) {
  const cJSON *x = get(c, "started_at"), *s = get(c, "start"),
              *k = get(c, "clock");
  if (!cJSON_IsString(x) || wsp__parse_time(x->valuestring, &rep->started_us))
    rep->started_us = -1;
  else
    rep->started_unix = (double)rep->started_us / 1e6;
  x = get(s, "at");
  if (!cJSON_IsString(x) || wsp__parse_time(x->valuestring, &rep->start_at_us))
    rep->start_at_us = -1;
  rep->start_tol_ms = (uint32_t)uint_of(get(s, "tolerance_ms"), 0);
  x = get(s, "skew_ms");
  if (cJSON_IsNumber(x) && rep->started_us >= 0)
    rep->started_last_us = rep->started_us + llround(x->valuedouble * 1e3);
  x = get(s, "late_ms");
  rep->late_ns = cJSON_IsNumber(x) && x->valuedouble >= 0
                     ? (int64_t)llround(x->valuedouble * 1e6)
                     : -1;
  rep->clock.known = cJSON_IsObject(k);
  rep->clock.synchronized = cJSON_IsTrue(get(k, "synchronized"));
  rep->clock.max_err_us = (int64_t)uint_of(get(k, "max_error_us"), 0);
  rep->clock.est_err_us = (int64_t)uint_of(get(k, "est_error_us"), 0);
}

/* A merged report's shards and what it lacks. */
static int parts_of(wsp_report *rep, const cJSON *c) {
  const cJSON *it;
  size_t n = (size_t)cJSON_GetArraySize(get(c, "shards")), k = 0;
  rep->merged = 1;
  if (n > 0 && (rep->parts = calloc(n, sizeof(*rep->parts))) == NULL)
    return WSP_ENOMEM;
  rep->nparts = n;
  cJSON_ArrayForEach(it, get(c, "shards")) {
    wsp__part *p = &rep->parts[k++];
    const cJSON *d = get(it, "duration_ms");
    p->shard = (uint32_t)uint_of(get(it, "index"), 0);
    p->shards = (uint32_t)uint_of(get(it, "count"), 1);
    if (p->shards < 1 || p->shards > MAX_SHARDS || p->shard >= p->shards)
      return WSP_EJSON;
    p->probes = uint_of(get(it, "probes"), 0);
    p->duration_ms = cJSON_IsNumber(d) ? d->valuedouble : -1;
    if (!str_of(get(it, "file"), &p->source))
      return WSP_ENOMEM;
  }
  n = (size_t)cJSON_GetArraySize(get(c, "missing_shards"));
  if (n > 0 && (rep->missing = calloc(n, sizeof(*rep->missing))) == NULL)
    return WSP_ENOMEM;
  rep->nmissing = n;
  rep->shard = 0;
  rep->shards = rep->nparts > 0 ? rep->parts[0].shards : 1;
  k = 0;
  cJSON_ArrayForEach(it, get(c, "missing_shards")) {
    if ((rep->missing[k++] = (uint32_t)uint_of(it, UINT32_MAX)) >= rep->shards)
      return WSP_EJSON;
  }
  return 0;
}

/* A campaign run on several threads: each one's figures. */
static int threads_of(wsp_report *rep, const cJSON *t) {
  const cJSON *loops = get(t, "loops"), *l;
  uint32_t n = (uint32_t)uint_of(get(t, "count"), 0), i = 0;
  if (n < 2 || n > WSP__MAX_THREADS || !cJSON_IsArray(loops) ||
      cJSON_GetArraySize(loops) != (int)n)
    return WSP_EJSON;
  if ((rep->loops = calloc(n, sizeof(*rep->loops))) == NULL)
    return WSP_ENOMEM;
  rep->nthreads = n;
  if (rep->has_bursts && hist_of(get(t, "release_lag_ms"), &rep->release_lag))
    return WSP_EJSON;
  cJSON_ArrayForEach(l, loops) {
    wsp__loop_fig *f = &rep->loops[i++];
    f->probes = uint_of(get(l, "probes"), 0);
    f->concurrency = uint_of(get(l, "concurrency"), 0);
    if (rep->has_bursts &&
        (hist_of(get(l, "send_spread_ms"), &f->spread) != 0 ||
         hist_of(get(l, "release_lag_ms"), &f->release_lag) != 0))
      return WSP_EJSON;
    f->bursts = uint_of(get(l, "bursts"), 0);
    f->held_bursts = uint_of(get(l, "held_bursts"), 0);
    f->held_cpu = cJSON_IsNumber(get(l, "held_cpu"))
                      ? (int)uint_of(get(l, "held_cpu"), 0)
                      : -1;
    if (hist_of(get(l, "loop_lag_ms"), &f->lag) != 0)
      return WSP_EJSON;
  }
  return 0;
}

static int campaign_of(wsp_report *rep, const cJSON *c) {
  const char *fp = cJSON_GetStringValue(get(c, "fingerprint"));
  const cJSON *x;
  int mode = wsp__mode_from_name(cJSON_GetStringValue(get(c, "mode"))), rc;
  if (!cJSON_IsObject(c) || mode < 0)
    return WSP_EJSON;
  rep->mode = (wsp__mode)mode;
  if (fp != NULL && strlen(fp) < sizeof(rep->fingerprint))
    strcpy(rep->fingerprint, fp);
  rep->count = uint_of(get(c, "count"), 0);
  rep->planned = cJSON_IsNumber(get(c, "planned"))
                     ? (int64_t)uint_of(get(c, "planned"), 0)
                     : -1;
  rep->interrupted = cJSON_IsTrue(get(c, "interrupted"));
  rep->concurrency = uint_of(get(c, "concurrency"), 0);
  rep->burst = cJSON_IsTrue(get(c, "burst"));
  x = get(c, "rate");
  rep->rate = cJSON_IsNumber(x) && x->valuedouble > 0 ? x->valuedouble : 0;
  rep->seed = uint_of(get(c, "seed"), 0);
  rep->jitter_ms = (uint32_t)uint_of(get(c, "jitter_ms"), 0);
  rep->shard = (uint32_t)uint_of(get(get(c, "shard"), "index"), 0);
  rep->shards = (uint32_t)uint_of(get(get(c, "shard"), "count"), 1);
  if (rep->shards < 1 || rep->shards > MAX_SHARDS || rep->shard >= rep->shards)
    return WSP_EJSON;
  /* A source this reader does not know (or none, from an older wsprobe)
   * reads as none. */
  x = get(get(c, "shard"), "source");
  for (int s = WSP_SHARD_NONE; cJSON_IsString(x) && wsp_shard_source_name(s);
       s++)
    if (strcmp(wsp_shard_source_name(s), x->valuestring) == 0)
      rep->shard_from = (wsp_shard_source)s;
  x = get(c, "duration_ms");
  rep->duration_ms = cJSON_IsNumber(x) ? x->valuedouble : -1;
  read_start(c, rep);
  rep->timed_ms = (uint32_t)uint_of(get(c, "duration_limit_ms"), 0);
  x = get(c, "dns_ms");
  rep->dns_ms = cJSON_IsNumber(x) ? x->valuedouble : -1;
  if ((x = get(c, "bursts")) != NULL) {
    rep->has_bursts = 1;
    rep->bursts = uint_of(get(x, "released"), 0);
    if (hist_of(get(x, "send_spread_ms"), &rep->spread) != 0)
      return WSP_EJSON;
  }
  x = get(c, "loop_lag_ms");
  if (hist_of(get(x, "samples"), &rep->lag) != 0)
    return WSP_EJSON;
  rep->lag_threshold_ms = (uint32_t)uint_of(get(x, "threshold"), 0);
  rep->flagged = uint_of(get(x, "flagged_probes"), 0);
  if (rep->mode == WSP__MODE_SWEEP && (rc = sweep_of(rep, c)) != 0)
    return rc;
  if (rep->mode == WSP__MODE_WINDOW &&
      (rc = window_of(rep, get(c, "window"))) != 0)
    return rc;
  if (rep->mode == WSP__MODE_CONCURRENCY &&
      (rc = levels_of(rep, get(c, "concurrency_sweep"))) != 0)
    return rc;
  if ((rc = slices_of(rep, c)) != 0)
    return rc;
  if ((x = get(c, "threads")) != NULL && (rc = threads_of(rep, x)) != 0)
    return rc;
  if (cJSON_IsNumber(get(c, "merged_from")) && (rc = parts_of(rep, c)) != 0)
    return rc;
  return 0;
}

static int summary_of(wsp_report *rep, const cJSON *s) {
  const cJSON *spans = get(s, "spans_ms");
  if (!cJSON_IsObject(s))
    return WSP_EJSON;
  rep->total = uint_of(get(s, "total"), 0);
  rep->passed = uint_of(get(s, "passed"), 0);
  if (outcomes_of(get(s, "outcomes"), rep->sum.outcomes) != 0)
    return WSP_EJSON;
  for (int sp = 0; sp < WSP_SPAN_COUNT; sp++)
    if (hist_of(get(spans, wsp_span_name((wsp_span)sp)), &rep->spans[sp]) != 0)
      return WSP_EJSON;
  return 0;
}

/* Health polled beside the probes (absent without --health): the samples,
 * and the summary's counts, which also count samples not kept. */
static int health_of(wsp_report *rep, const cJSON *h) {
  const cJSON *sum = get(h, "summary"), *it, *statuses;
  int rc;
  if (h == NULL || cJSON_IsNull(h))
    return 0;
  if (!cJSON_IsObject(h) || !cJSON_IsObject(sum) ||
      !cJSON_IsString(get(h, "url")))
    return WSP_EJSON;
  if ((rep->health_url = wsp__strdup(get(h, "url")->valuestring)) == NULL)
    return WSP_ENOMEM;
  rep->health_interval = (uint32_t)uint_of(get(h, "interval_ms"), 0);
  rep->health_timeout = (uint32_t)uint_of(get(h, "timeout_ms"), 0);
  cJSON_ArrayForEach(it, get(h, "samples")) {
    wsp__hsample s = {0};
    const cJSON *body = get(it, "body"), *hex = get(it, "body_hex");
    uint8_t raw[WSP__HEALTH_BODY];
    if (!cJSON_IsNumber(get(it, "t_ms")) || !cJSON_IsNumber(get(it, "ms")))
      return WSP_EJSON;
    s.t_ms = get(it, "t_ms")->valuedouble;
    s.ms = get(it, "ms")->valuedouble;
    s.status = (int)uint_of(get(it, "status"), 0);
    s.error = cJSON_GetStringValue(get(it, "error"));
    if (cJSON_IsString(body)) {
      s.body = body->valuestring;
      s.blen = strlen(body->valuestring);
    } else if (cJSON_IsString(hex)) {
      s.blen = unhex(hex->valuestring, raw, sizeof(raw));
      s.body = (char *)raw;
    }
    if ((rc = wsp__hsamples_add(&rep->health, &s)) != 0)
      return rc;
  }
  rep->health.total = uint_of(get(sum, "samples"), rep->health.total);
  rep->health.errors = uint_of(get(sum, "errors"), rep->health.errors);
  rep->health.skipped = uint_of(get(sum, "skipped"), 0);
  statuses = get(sum, "statuses");
  if (cJSON_IsObject(statuses)) {
    memset(rep->health.status, 0, sizeof(rep->health.status));
    cJSON_ArrayForEach(it, statuses) {
      long code = strtol(it->string, NULL, 10);
      if (code >= 100 && code < 600)
        rep->health.status[code] = uint_of(it, 0);
    }
  }
  return hist_of(get(sum, "ms"), &rep->health.ms);
}

int wsp__input_model(wsp__input *in, wsp_report **out, char *err,
                     size_t errlen) {
  cJSON *head = NULL;
  wsp_report *rep;
  const char *version;
  int rc;
  *out = NULL;
  if ((rc = read_head(in, &head, err, errlen)) != 0)
    return rc;
  if ((rep = wsp__rep_alloc()) == NULL) {
    cJSON_Delete(head);
    return wsp__errorf(err, errlen, WSP_ENOMEM, "out of memory");
  }
  version = cJSON_GetStringValue(get(head, "version"));
  rc = version == NULL                                 ? WSP_EJSON
       : (rep->version = wsp__strdup(version)) == NULL ? WSP_ENOMEM
                                                       : 0;
  if (rc == 0)
    rc = config_of(rep, in, (cJSON *)get(head, "config"));
  if (rc == 0)
    rc = campaign_of(rep, get(head, "campaign"));
  if (rc == 0)
    rc = summary_of(rep, get(head, "summary"));
  if (rc == 0)
    rc = health_of(rep, get(head, "health"));
  if (rc == 0)
    rc = wsp__rep_points(rep);
  cJSON_Delete(head);
  if (rc != 0) {
    wsp__rep_free(rep);
    return wsp__errorf(err, errlen, rc, "%s: %s", wsp__input_name(in),
                       rc == WSP_ENOMEM
                           ? "out of memory"
                           : "not a wsprobe JSON report (its head lacks or "
                             "garbles version, config, campaign or summary)");
  }
  *out = rep;
  return 0;
}
