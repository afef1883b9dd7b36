/*
 * The probe configuration's layout (config.c validates every field when it
 * is set; probes copy or borrow it, never the caller's memory).
 */
#ifndef WSP_CONFIG_H
#define WSP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "proxy.h"
#include "url.h"
#include "util.h"
#include "wsprobe.h"

/* One extra request header. */
typedef struct wsp__header {
  char *name;  /* Header name as given. */
  char *value; /* Header value as given. */
  int secret;  /* Non-zero when the value must be redacted. */
} wsp__header;

/* One step of a scripted conversation. */
typedef enum {
  WSP__STEP_SEND,   /* Send data. */
  WSP__STEP_EXPECT, /* Wait for a JSON message of a type. */
  WSP__STEP_WAIT,   /* Wait some milliseconds. */
  WSP__STEP_CLOSE,  /* Close with a code and reason. */
} wsp__step_kind;

typedef struct wsp__step {
  wsp__step_kind kind; /* What it does. */
  uint8_t *data;       /* SEND: the message; EXPECT: the type; CLOSE: the
                          reason (NUL-terminated for the last two). */
  size_t len;          /* Its length. */
  int binary;          /* SEND: a binary frame. */
  uint32_t ms;         /* WAIT: how long; EXPECT: timeout (0: the
                          awaiting_reply timeout). */
  uint16_t code;       /* CLOSE: the code. */
} wsp__step;

/* How to mint a token per probe. */
typedef struct wsp_jwt_spec {
  int enabled;        /* Mint instead of using cfg->jwt. */
  wsp_jwt_alg alg;    /* Signing algorithm. */
  uint8_t *key;       /* Secret or PEM private key (a secret). */
  size_t key_len;     /* Its length. */
  char *claims;       /* JSON object text, or NULL. */
  uint32_t ttl;       /* exp = iat + ttl. */
  int nbf_set;        /* Add nbf. */
  int32_t nbf_offset; /* nbf = iat + offset. */
} wsp_jwt_spec;

struct wsp_config {
  char *url_text;             /* The URL as the user gave it. */
  wsp__url url;               /* The parsed URL; host NULL if unset. */
  wsp__header *headers;       /* Extra request headers. */
  size_t nheaders;            /* Number of extra headers. */
  wsp__strv subprotocols;     /* Offered subprotocols, in order. */
  char *jwt;                  /* The token, or NULL. */
  unsigned int jwt_placement; /* wsp_jwt_placement bits. */
  wsp_jwt_spec jwt_spec;      /* Per-probe minting. */
  char jwt_prefix[33];        /* Subprotocol prefix, "jwt.". */
  char jwt_query[65];         /* Query parameter name. */
  int require_subprotocol;    /* A jwt subprotocol must be echoed. */
  int expect_order;           /* Expected events in order, once. */
  wsp__step *steps;           /* A scripted conversation, or NULL. */
  size_t nsteps;              /* Its length. */
  char *origin;               /* Origin header value, or NULL. */
  uint8_t *message;           /* First message, or NULL. */
  size_t message_len;         /* Its length. */
  int message_binary;         /* Binary frame instead of text. */
  int has_message;            /* A first message is configured. */
  uint32_t delay_ms;          /* Open to first message. */
  uint32_t hold_ms;           /* Open to close without a message. */
  wsp__strv expect;           /* Expected event types. */
  char expect_key[65];        /* The member naming an event's type. */
  wsp__strv pins;             /* --resolve entries, as given (checked). */
  wsp__strv record;           /* Response headers to record, as given. */
  int address_policy;         /* A wsp_address_policy. */
  uint32_t timeout_ms[WSP_PHASE_COUNT]; /* Per-phase timeouts; 0 = none. */
  uint64_t max_message;                 /* Largest accepted server message. */
  int compress;                         /* Offer permessage-deflate. */
  char *ca_file;                        /* CA bundle for wss://, or NULL. */
  int tls_insecure;                     /* Skip certificate verification. */
  char *cert_file;                      /* Client certificate, or NULL. */
  char *key_file;                       /* Its private key, or NULL. */
  int tls_resume;                       /* Resume TLS sessions. */
  wsp__proxy proxy;                     /* The HTTP proxy (host NULL:
                                           none). */
  char *noproxy;                        /* Hosts reached directly, or
                                           NULL. */
  char error[256];                      /* Last setter error, one line. */
};

/* Sets cfg->error from a format; returns `err`. */
int wsp__config_fail(wsp_config *cfg, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* steps.c: one step as text (send:, binary:, expect:, wait:, close:);
 * text[len] must be a NUL. */
int wsp__config_add_step_text(wsp_config *cfg, const char *text, size_t len);
/* Whether a header name's value is a secret (Authorization, Cookie...). */
int wsp__header_is_secret(const char *name);
/* The default subprotocol prefix of a JWT. */
extern const char wsp__jwt_prefix[5];
/* A subprotocol carrying a token, redacted unless show_secrets. */
const char *wsp__redact_subprotocol(const char *proto, int show_secrets);

#endif
