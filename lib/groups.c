/*
 * Outcomes per value. Values are few (addresses of one name, replicas
 * behind one balancer), so a linear search over at most WSP__MAX_GROUPS
 * serves; the bound keeps a report's memory fixed whatever a server sends.
 * Out of memory, a probe is counted in `other` rather than lost.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "groups.h"
#include "util.h"

/* The group of a value, made when there is room; NULL when there is not. */
static wsp__group *find(wsp__groups *g, const char *value) {
  wsp__group *x;
  for (size_t i = 0; i < g->n; i++) {
    const char *v = g->v[i].value;
    if (v == value || (v != NULL && value != NULL && strcmp(v, value) == 0))
      return &g->v[i];
  }
  if (g->n == WSP__MAX_GROUPS)
    return NULL;
  if (g->v == NULL && (g->v = calloc(WSP__MAX_GROUPS, sizeof(*g->v))) == NULL)
    return NULL;
  x = &g->v[g->n];
  memset(x, 0, sizeof(*x));
  if (value != NULL && (x->value = wsp__strdup(value)) == NULL)
    return NULL;
  g->n++;
  return x;
}

void wsp__groups_add(wsp__groups *g, const char *value, wsp_outcome outcome) {
  wsp__group *x = find(g, value);
  if (x == NULL) {
    g->other++;
    return;
  }
  x->total++;
  x->passed += outcome == WSP_OUTCOME_OK;
  x->outcomes[outcome]++;
}

void wsp__groups_merge(wsp__groups *dst, const wsp__groups *src) {
  dst->other += src->other;
  for (size_t i = 0; i < src->n; i++) {
    const wsp__group *s = &src->v[i];
    wsp__group *x = find(dst, s->value);
    if (x == NULL) {
      dst->other += s->total;
      continue;
    }
    x->total += s->total;
    x->passed += s->passed;
    for (int o = 0; o < WSP_OUTCOME_COUNT; o++)
      x->outcomes[o] += s->outcomes[o];
  }
}

void wsp__groups_clear(wsp__groups *g) {
  for (size_t i = 0; i < g->n; i++)
    free(g->v[i].value);
  free(g->v);
  memset(g, 0, sizeof(*g));
}

wsp__groups *wsp__groupings_get(wsp__groupings *gs, const char *name) {
  for (size_t i = 0; i < gs->n; i++)
    if (strcasecmp(gs->name[i], name) == 0)
      return &gs->g[i];
  if (gs->n == WSP__MAX_RECORD || (gs->name[gs->n] = wsp__strdup(name)) == NULL)
    return NULL;
  memset(&gs->g[gs->n], 0, sizeof(gs->g[gs->n]));
  return &gs->g[gs->n++];
}

void wsp__groupings_merge(wsp__groupings *dst, const wsp__groupings *src) {
  for (size_t i = 0; i < src->n; i++) {
    wsp__groups *g = wsp__groupings_get(dst, src->name[i]);
    if (g != NULL)
      wsp__groups_merge(g, &src->g[i]);
  }
}

void wsp__groupings_clear(wsp__groupings *gs) {
  for (size_t i = 0; i < gs->n; i++) {
    free(gs->name[i]);
    wsp__groups_clear(&gs->g[i]);
  }
  gs->n = 0;
}
