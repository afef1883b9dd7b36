/*
 * What the report writers share: the JSON tree is the canonical report;
 * text (and merged reports) are rendered from it.
 */
#ifndef WSP_REPORT_H
#define WSP_REPORT_H

#include <cjson/cJSON.h>

#include "internal.h"

/* A histogram as report JSON, with its buckets for exact merging. */
cJSON *wsp__hist_json(const wsp__hist *h);
/* Adds a histogram written by wsp__hist_json() into `h`. */
int wsp__hist_merge_json(wsp__hist *h, const cJSON *o);
/* The human summary of a JSON report tree. */
int wsp__report_text_tree(const cJSON *root, char **out);

#endif
