/*
 * libFuzzer target: JSON reports read back (report_read.c, merge.c), the
 * input `wsprobe merge` takes from other machines.
 *
 * Input: a control byte, then up to four report texts separated by the
 * bytes "\n\0\n". Bit 0 of the control byte allows a partial merge. The
 * texts are merged (one alone is read as it is); a refusal must say why in
 * one line. A merge that succeeds must write every format, and its JSON
 * report, read back, must give the same bytes again.
 */
#define _GNU_SOURCE
#include <string.h>

#include "fuzz.h"
#include "wsprobe.h"

/* Collects a report. */
typedef struct {
  char *p;    /* The bytes. */
  size_t len; /* Their length. */
} buf;

static int collect(const char *data, size_t len, void *ud) {
  buf *b = ud;
  char *p = realloc(b->p, b->len + len + 1);
  if (p == NULL)
    return -1;
  memcpy(p + b->len, data, len);
  b->p = p;
  b->len += len;
  b->p[b->len] = '\0';
  return 0;
}

static int discard(const char *data, size_t len, void *ud) {
  (void)data;
  (void)len;
  (void)ud;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *texts[4], err[512], *copy, *at, *text = NULL;
  const char *sep = "\n\0\n";
  size_t n = 0;
  unsigned flags;
  wsp_report *rep = NULL;
  int rc;
  if (size < 1)
    return 0;
  flags = data[0] & 1 ? WSP_MERGE_ALLOW_PARTIAL : 0;
  if ((copy = malloc(size)) == NULL)
    return 0;
  memcpy(copy, data + 1, size - 1);
  copy[size - 1] = '\0';
  for (at = copy; n < 4;) {
    char *next = memmem(at, (size_t)(copy + size - 1 - at), sep, 3);
    texts[n++] = at;
    if (next == NULL)
      break;
    *next = '\0';
    at = next + 3;
  }
  err[0] = '\0';
  rc = wsp_report_merge_texts((const char *const *)texts, n, flags, &rep, err,
                              sizeof(err));
  if (rc != 0) {
    FUZZ_CHECK(rep == NULL);
    FUZZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
    FUZZ_CHECK(rc == WSP_EMERGE || rc == WSP_EJSON || rc == WSP_ENOMEM);
  } else {
    buf json = {0}, again = {0};
    wsp_report *back = NULL;
    const char *one;
    FUZZ_CHECK(wsp_report_write(rep, WSP_REPORT_TEXT, 0, discard, NULL) == 0);
    FUZZ_CHECK(wsp_report_write(rep, WSP_REPORT_HTML, 0, discard, NULL) == 0);
    FUZZ_CHECK(wsp_report_write(rep, WSP_REPORT_JUNIT, 0, discard, NULL) == 0);
    FUZZ_CHECK(wsp_report_write(rep, WSP_REPORT_JSON, 0, collect, &json) == 0);
    FUZZ_CHECK(wsp_verdict_name(wsp_report_verdict(rep)) != NULL);
    one = json.p;
    rc = wsp_report_merge_texts(&one, 1, WSP_MERGE_ALLOW_PARTIAL, &back, err,
                                sizeof(err));
    if (rc != 0)
      fprintf(stderr, "reading the merged report back: %s\n", err);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(wsp_report_write(back, WSP_REPORT_JSON, 0, collect, &again) ==
               0);
    FUZZ_CHECK(again.len == json.len && memcmp(again.p, json.p, json.len) == 0);
    wsp_report_free(back);
    free(json.p);
    free(again.p);
  }
  wsp_report_free(rep);
  if (wsp_report_text_json(texts[0], &text) == 0)
    FUZZ_CHECK(text != NULL);
  wsp_free(text);
  free(copy);
  return 0;
}
