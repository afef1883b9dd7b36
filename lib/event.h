/*
 * Which server messages are events (event.c): the rule the expectations,
 * the scripted steps and the reports share.
 */
#ifndef WSP_EVENT_H
#define WSP_EVENT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Whether a text message is an event: its whole payload one JSON object
 * with a string member named `key` ("type" by default, --expect-key) that
 * holds no NUL. Returns 1 with that member's value in *type (malloc'd), 0
 * when it is not an event, WSP_ENOMEM.
 */
int wsp__event_type(const uint8_t *msg, size_t len, const char *key,
                    char **type);

#endif
