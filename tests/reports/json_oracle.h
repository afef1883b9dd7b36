/*
 * The JSON report as the cJSON-tree writer wrote it (json_oracle.c), to
 * compare the library's direct writer with.
 */
#ifndef WSP_TEST_JSON_ORACLE_H
#define WSP_TEST_JSON_ORACLE_H

#include <stddef.h>

#include "campaign.h"

/* A growing string. */
typedef struct oracle_buf {
  char *p;    /* The text, NUL-terminated. */
  size_t len; /* Its length. */
  size_t cap; /* Allocated. */
} oracle_buf;

/* Appends campaign c's streamed JSON report to b; 0 or -1. */
int oracle_json(const wsp_campaign *c, int show_secrets, oracle_buf *b);

#endif
