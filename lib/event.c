/*
 * Events: text messages that are one JSON object with a string "type".
 *
 * cJSON 1.7.15 keeps no string lengths: a "type" of "a\u0000b" decodes to
 * the C string "a", which would pass for the type "a". Such an escape in
 * the raw text is looked for, and the message parsed twice when one is
 * there. Trailing text after the object (a second JSON value) makes the
 * message no event at all, rather than the first value's.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "util.h"
#include "wsprobe.h"

/* Whether a type string is one (the rest of the rule is the parser's). */
static const char *type_of(const cJSON *root) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "type");
  return cJSON_IsObject(root) && cJSON_IsString(t) ? t->valuestring : NULL;
}

/* Replaces every \u0000 escape of a JSON text (outside strings there are
 * no backslashes in valid JSON) by \u0001; returns how many. */
static size_t unnul(char *s, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i + 1 < n; i++) {
    if (s[i] != '\\')
      continue;
    if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0) {
      s[i + 5] = '1';
      k++;
    }
    i++; /* The escaped character is not an escape of its own. */
  }
  return k;
}

int wsp__event_type(const uint8_t *msg, size_t len, char **type) {
  char small[512], *text = small;
  cJSON *root = NULL;
  const char *t;
  int rc = 0;
  *type = NULL;
  /* A raw NUL is no JSON text: it cannot be a whole payload's object. */
  if (len == 0 || memchr(msg, '\0', len) != NULL)
    return 0;
  if (len + 1 > sizeof(small) && (text = malloc(len + 1)) == NULL)
    return WSP_ENOMEM;
  memcpy(text, msg, len);
  text[len] = '\0';
  root = cJSON_ParseWithLengthOpts(text, len + 1, NULL, 1);
  if ((t = type_of(root)) != NULL) {
    size_t tl = strlen(t);
    if (unnul(text, len) > 0) {
      /* The same text with every NUL escape made a U+0001: a type that
       * held a NUL now comes out longer. */
      cJSON *again = cJSON_ParseWithLengthOpts(text, len + 1, NULL, 1);
      const char *t2 = type_of(again);
      if (t2 == NULL || strlen(t2) != tl)
        t = NULL;
      cJSON_Delete(again);
    }
    if (t != NULL) {
      rc = (*type = wsp__strndup(t, tl)) != NULL ? 1 : WSP_ENOMEM;
    }
  }
  cJSON_Delete(root);
  if (text != small)
    free(text);
  return rc;
}
