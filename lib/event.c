/*
 * Events: text messages that are one JSON object with a string member
 * under the event key ("type" unless --expect-key names another).
 *
 * cJSON 1.7.15 keeps no string lengths: a "type" of "a\u0000b" decodes to
 * the C string "a", which would pass for the type "a"; a member named
 * "type\u0000x" would pass for "type" the same way. Such an escape in
 * the raw text is looked for, and the message parsed twice when one is
 * there. Trailing text after the object (a second JSON value) makes the
 * message no event at all, rather than the first value's.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "wsprobe.h"

/* The object's first member named `key` and its position among the
 * members; NULL when there is none or its value is no string (cJSON's own
 * lookup takes the first of duplicate names too). */
static const cJSON *member_of(const cJSON *root, const char *key, size_t *pos) {
  size_t i = 0;
  if (!cJSON_IsObject(root))
    return NULL;
  for (const cJSON *m = root->child; m != NULL; m = m->next, i++)
    if (m->string != NULL && strcmp(m->string, key) == 0) {
      *pos = i;
      return cJSON_IsString(m) ? m : NULL;
    }
  return NULL;
}

/* The member at a position. */
static const cJSON *member_at(const cJSON *root, size_t pos) {
  const cJSON *m = root ? root->child : NULL;
  while (m != NULL && pos-- > 0)
    m = m->next;
  return m;
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

int wsp__event_type(const uint8_t *msg, size_t len, const char *key,
                    char **type) {
  char small[512], *text = small;
  cJSON *root = NULL;
  const cJSON *m = NULL;
  size_t pos = 0;
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
  if (unnul(text, len) == 0) {
    m = member_of(root, key, &pos);
  } else {
    /* The same text with every NUL escape made a U+0001: there a key
     * that held a NUL no longer matches, so the member found is the real
     * one; the same member of the first parse is cut at its NUL when its
     * value held one. */
    cJSON *again = cJSON_ParseWithLengthOpts(text, len + 1, NULL, 1);
    const cJSON *m2 = member_of(again, key, &pos);
    m = m2 != NULL ? member_at(root, pos) : NULL;
    if (m != NULL && (!cJSON_IsString(m) ||
                      strlen(m->valuestring) != strlen(m2->valuestring)))
      m = NULL;
    cJSON_Delete(again);
  }
  if (m != NULL)
    rc = (*type = strdup(m->valuestring)) != NULL ? 1 : WSP_ENOMEM;
  cJSON_Delete(root);
  if (text != small)
    free(text);
  return rc;
}
