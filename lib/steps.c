/*
 * Scripted steps written as text, the form the CLI's --step and the
 * bindings share: send:TEXT, binary:DATA, expect:TYPE[:MS], wait:MS,
 * close:CODE[:REASON]. Parsing only: the steps themselves are added with
 * wsp_config_add_step_*() (config.c) and run by the probe (probe.c).
 */
#include <string.h>

#include "config.h"
#include "defaults.h"
#include "util.h"

/* Whether `s` of `len` bytes starts with `prefix`. */
static int starts(const char *s, size_t len, const char *prefix) {
  size_t n = strlen(prefix);
  return len >= n && memcmp(s, prefix, n) == 0;
}

/* A number in [0, max] for the step `what`, or an error in cfg. */
static int number(wsp_config *cfg, const char *what, const char *s, size_t len,
                  uint64_t max, uint64_t *out) {
  int rc = wsp__parse_u64(s, len, out);
  if (rc == WSP_EINVAL)
    return wsp__config_fail(cfg, WSP_EINVAL,
                            "step %s: '%.*s' is not a non-negative integer",
                            what, (int)(len > 40 ? 40 : len), s);
  if (rc != 0 || *out > max)
    return wsp__config_fail(
        cfg, WSP_ERANGE, "step %s: %.*s is out of range (0-%llu)", what,
        (int)(len > 40 ? 40 : len), s, (unsigned long long)max);
  return 0;
}

/* `text` holds `len` bytes and a NUL after them. */
int wsp__config_add_step_text(wsp_config *cfg, const char *text, size_t len) {
  const char *arg;
  uint64_t ms, code;
  int rc;
  if (cfg == NULL)
    return WSP_EINVAL;
  if (text == NULL)
    return wsp__config_fail(cfg, WSP_EINVAL, "no step given");
  if (starts(text, len, "send:") || starts(text, len, "binary:")) {
    int binary = text[0] == 'b';
    arg = text + (binary ? 7 : 5);
    return wsp_config_add_step_send(cfg, arg, len - (size_t)(arg - text),
                                    binary);
  }
  /* The other steps are text: a NUL inside would cut them short. */
  if (memchr(text, '\0', len) != NULL)
    return wsp__config_fail(cfg, WSP_EINVAL, "a step holds a NUL byte");
  if (starts(text, len, "expect:")) {
    /* A trailing ":MS" is a timeout; the type itself may hold colons. */
    const char *type = text + 7, *colon = NULL;
    size_t tlen = len - 7;
    char buf[260];
    ms = 0;
    for (const char *c = text + len; c > type && colon == NULL; c--)
      if (c[-1] == ':')
        colon = c - 1;
    if (colon != NULL && colon + 1 < text + len &&
        strspn(colon + 1, "0123456789") == (size_t)(text + len - colon - 1)) {
      if ((rc = number(cfg, "expect", colon + 1,
                       (size_t)(text + len - colon - 1), WSP__MAX_MS, &ms)) !=
          0)
        return rc;
      tlen = (size_t)(colon - type);
    }
    if (tlen >= sizeof(buf))
      return wsp__config_fail(cfg, WSP_EEXPECT,
                              "an expect step needs a type of 1-256 bytes");
    memcpy(buf, type, tlen);
    buf[tlen] = '\0';
    return wsp_config_add_step_expect(cfg, buf, (uint32_t)ms);
  }
  if (starts(text, len, "wait:")) {
    if ((rc = number(cfg, "wait", text + 5, len - 5, WSP__MAX_MS, &ms)) != 0)
      return rc;
    return wsp_config_add_step_wait(cfg, (uint32_t)ms);
  }
  if (starts(text, len, "close:")) {
    const char *colon = memchr(text + 6, ':', len - 6);
    size_t n = colon ? (size_t)(colon - (text + 6)) : len - 6;
    if ((rc = number(cfg, "close", text + 6, n, 65535, &code)) != 0)
      return rc;
    return wsp_config_add_step_close(cfg, (uint16_t)code,
                                     colon ? colon + 1 : NULL);
  }
  return wsp__config_fail(cfg, WSP_EINVAL,
                          "step '%.40s' is not send:, binary:, expect:, "
                          "wait: or close:",
                          text);
}

int wsp_config_add_step_text(wsp_config *cfg, const char *text) {
  if (cfg == NULL)
    return WSP_EINVAL;
  if (text == NULL)
    return wsp__config_fail(cfg, WSP_EINVAL, "no step given");
  return wsp__config_add_step_text(cfg, text, strlen(text));
}
