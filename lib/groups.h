/*
 * Outcomes grouped by the value of one fact of each probe (groups.c): the
 * peer it connected to, or a response header it recorded. The report model
 * keeps one grouping per fact; every writer reads it from there.
 */
#ifndef WSP_GROUPS_H
#define WSP_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "defaults.h"
#include "wsprobe.h"

/* Most distinct values a grouping keeps; probes with later values are
 * counted in `other` (a hostile server could send a new value each time). */
#define WSP__MAX_GROUPS 64

/* The probes that share one value. */
typedef struct wsp__group {
  char *value;                          /* The value, or NULL: none. */
  uint64_t total;                       /* Probes. */
  uint64_t passed;                      /* Of which ok. */
  uint64_t outcomes[WSP_OUTCOME_COUNT]; /* Per outcome. */
} wsp__group;

/* One grouping, in the order values were first seen. */
typedef struct wsp__groups {
  wsp__group *v;  /* The groups (WSP__MAX_GROUPS slots once used). */
  size_t n;       /* How many are in use. */
  uint64_t other; /* Probes whose value found no slot. */
} wsp__groups;

/* Groupings by name: one per recorded response header. */
typedef struct wsp__groupings {
  char *name[WSP__MAX_RECORD];    /* The header names, as first given. */
  wsp__groups g[WSP__MAX_RECORD]; /* Their groupings. */
  size_t n;                       /* How many are in use. */
} wsp__groupings;

/* Counts a probe's outcome under `value` (NULL: none). */
void wsp__groups_add(wsp__groups *g, const char *value, wsp_outcome outcome);
/* Adds every group of `src` into `dst`, by value. */
void wsp__groups_merge(wsp__groups *dst, const wsp__groups *src);
/* Empties a grouping (it stays usable). */
void wsp__groups_clear(wsp__groups *g);
/* The grouping of a name (matched without case), made when there is room;
 * NULL when there is none or out of memory. */
wsp__groups *wsp__groupings_get(wsp__groupings *gs, const char *name);
/* Adds every grouping of `src` into `dst`, by name. */
void wsp__groupings_merge(wsp__groupings *dst, const wsp__groupings *src);
/* Empties every grouping and forgets the names. */
void wsp__groupings_clear(wsp__groupings *gs);

#endif
