/*
 * Error codes, and the stable names of outcomes, phases, marks and spans.
 */
#include <string.h>

#include <uv.h>

#include "util.h"

unsigned int wsp_version(void) { return WSP_VERSION_HEX; }

const char *wsp_version_string(void) { return WSP_VERSION_STRING; }

const char *wsp_strerror(int err) {
  switch (err) {
#define XX(name, value, msg)                                                   \
  case value:                                                                  \
    return msg;
    WSP_ERRNO_MAP(XX)
#undef XX
  case 0:
    return "success";
  default:
    /* libuv's codes pass through; uv_strerror names unknown ones too. */
    return uv_strerror(err);
  }
}

const char *wsp_err_name(int err) {
  switch (err) {
#define XX(name, value, msg)                                                   \
  case value:                                                                  \
    return "WSP_" #name;
    WSP_ERRNO_MAP(XX)
#undef XX
  case 0:
    return "OK";
  default:
    return uv_err_name(err);
  }
}

static const char *const outcome_names[] = {
#define XX(e, name) name,
    WSP_OUTCOME_MAP(XX)
#undef XX
};

static const char *const phase_names[] = {
#define XX(e, name) name,
    WSP_PHASE_MAP(XX)
#undef XX
};

static const char *const mark_names[] = {
#define XX(e, name) name,
    WSP_MARK_MAP(XX)
#undef XX
};

static const char *const span_names[] = {
#define XX(e, name) name,
    WSP_SPAN_MAP(XX)
#undef XX
};

const char *wsp_outcome_name(wsp_outcome o) {
  return (unsigned)o < WSP_OUTCOME_COUNT ? outcome_names[o] : NULL;
}

int wsp_outcome_from_name(const char *name) {
  if (name == NULL)
    return -1;
  for (int i = 0; i < WSP_OUTCOME_COUNT; i++)
    if (strcmp(outcome_names[i], name) == 0)
      return i;
  return -1;
}

const char *wsp_phase_name(wsp_phase p) {
  return (unsigned)p < WSP_PHASE_COUNT ? phase_names[p] : NULL;
}

int wsp_phase_rank(wsp_phase p) {
  /* proxy was added last, for the ABI, but comes after connect. */
  if ((unsigned)p >= WSP_PHASE_COUNT)
    return -1;
  if (p == WSP_PHASE_PROXY)
    return WSP_PHASE_CONNECT + 1;
  return p > WSP_PHASE_CONNECT ? (int)p + 1 : (int)p;
}

const char *wsp_mark_name(wsp_mark m) {
  return (unsigned)m < WSP_MARK_COUNT ? mark_names[m] : NULL;
}

const char *wsp_span_name(wsp_span s) {
  return (unsigned)s < WSP_SPAN_COUNT ? span_names[s] : NULL;
}
