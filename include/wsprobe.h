/*
 * wsprobe - probe WebSocket servers for race conditions.
 *
 * A probe connects to a ws:// URL, performs the HTTP/1.1 upgrade, optionally
 * waits, sends a first message, waits for the reply or for a set of expected
 * events, and closes. It ends in exactly one outcome (wsp_outcome) together
 * with the phase (wsp_phase) it happened in; only WSP_OUTCOME_OK passes.
 *
 * Threading: every object belongs to one uv_loop_t and is used only on the
 * thread that runs that loop. Different loops in different threads share
 * nothing. The one exception is wsp_campaign_interrupt(): any thread, and
 * a signal handler, may call it.
 *
 * Errors: functions that can fail return 0 or a negative error code
 * (wsp_strerror(), wsp_err_name()), and each one's comment lists the codes
 * it returns after "Errors:". libuv's own negative codes pass through
 * unchanged; wsprobe's codes lie in -30000..-30999, clear of libuv's range.
 * A call that takes a callback and fails never calls that callback. Every
 * object with setters keeps a one-line description of its last failure:
 * wsp_config_last_error(), wsp_campaign_last_error(), wsp_ctx_last_error(),
 * wsp_plan_last_error(); the functions that make no object (JWT
 * verification, merging reports) take an error buffer instead.
 *
 * Ownership: wsprobe copies every string and buffer it is given; it never
 * keeps a pointer into caller memory. Every *_free() and *_close()
 * accepts NULL; the objects whose freeing can fail (a context with probes
 * alive, a running campaign) are freed by *_close(), which says so.
 */
#ifndef WSPROBE_H
#define WSPROBE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(WSP_BUILDING) && defined(__GNUC__)
#define WSP_EXTERN __attribute__((visibility("default")))
#else
#define WSP_EXTERN
#endif

/* The version macros, generated from meson.build: WSP_VERSION_MAJOR,
 * _MINOR, _PATCH, _STRING and _HEX. */
#include "wsprobe_version.h"

/* The version of the library actually loaded, as WSP_VERSION_HEX. */
WSP_EXTERN unsigned int wsp_version(void);
/* The version of the library actually loaded, as "major.minor.patch". */
WSP_EXTERN const char *wsp_version_string(void);

/*
 * Error codes: XX(name, value, message). Values are stable: a code is never
 * removed or given another meaning. Reserved (no function returns it
 * today; its value stays taken): WSP_ESCHEME.
 */
#define WSP_ERRNO_MAP(XX)                                                      \
  XX(EINVAL, -30001, "invalid argument")                                       \
  XX(ENOMEM, -30002, "out of memory")                                          \
  XX(EURL, -30003, "invalid URL")                                              \
  XX(ESCHEME, -30004, "unsupported URL scheme")                                \
  XX(EHEADER, -30005, "invalid header")                                        \
  XX(ESUBPROTO, -30006, "invalid subprotocol")                                 \
  XX(ETOKEN, -30007, "invalid token")                                          \
  XX(ERANGE, -30008, "value out of range")                                     \
  XX(EBUSY, -30009, "resource busy")                                           \
  XX(ESTATE, -30010, "operation not allowed in this state")                    \
  XX(ENOTFOUND, -30011, "not found")                                           \
  XX(ETOOLONG, -30012, "value too long")                                       \
  XX(EEXPECT, -30013, "invalid expected event")                                \
  XX(ECRYPTO, -30014, "random number generator failed")                        \
  XX(EJSON, -30015, "cannot produce JSON")                                     \
  XX(EIO, -30016, "input/output error")                                        \
  XX(EEXPIRED, -30017, "token expired")                                        \
  XX(ENOTYET, -30018, "token not yet valid")                                   \
  XX(EMERGE, -30019, "reports cannot be merged")                               \
  XX(ELATE, -30020, "the start time was missed")

/* clang-format off */
typedef enum {
#define WSP__ERR(name, value, msg) WSP_##name = value,
  WSP_ERRNO_MAP(WSP__ERR)
#undef WSP__ERR
  WSP_ERRNO_MAX = -30999
} wsp_errno;
/* clang-format on */

/* A static message for any error code, wsprobe's or libuv's. */
WSP_EXTERN const char *wsp_strerror(int err);
/* The static name of an error code ("WSP_EURL", "ECONNREFUSED", ...). */
WSP_EXTERN const char *wsp_err_name(int err);

/*
 * Outcomes: XX(enum suffix, stable name). The names are what reports, the
 * CLI and the bindings show; they never change meaning between versions.
 */
#define WSP_OUTCOME_MAP(XX)                                                    \
  XX(OK, "ok")                                                                 \
  XX(DNS_FAILED, "dns_failed")                                                 \
  XX(CONNECT_REFUSED, "connect_refused")                                       \
  XX(CONNECT_TIMEOUT, "connect_timeout")                                       \
  XX(CONNECT_FAILED, "connect_failed")                                         \
  XX(TLS_FAILED, "tls_failed")                                                 \
  XX(HANDSHAKE_REJECTED, "handshake_rejected")                                 \
  XX(HANDSHAKE_INVALID, "handshake_invalid")                                   \
  XX(CLOSED_BY_SERVER, "closed_by_server")                                     \
  XX(ABNORMAL_CLOSURE, "abnormal_closure")                                     \
  XX(PROTOCOL_ERROR, "protocol_error")                                         \
  XX(TIMEOUT, "timeout")                                                       \
  XX(EXPECTATION_FAILED, "expectation_failed")                                 \
  XX(CANCELLED, "cancelled")                                                   \
  XX(INTERNAL_ERROR, "internal_error")                                         \
  XX(PROXY_REJECTED, "proxy_rejected")                                         \
  XX(PROXY_FAILED, "proxy_failed")

/* clang-format off */
typedef enum {
#define WSP__OUTCOME(e, name) WSP_OUTCOME_##e,
  WSP_OUTCOME_MAP(WSP__OUTCOME)
#undef WSP__OUTCOME
  WSP_OUTCOME_COUNT
} wsp_outcome;
/* clang-format on */

/* The stable name of an outcome, or NULL when out of range. */
WSP_EXTERN const char *wsp_outcome_name(wsp_outcome outcome);
/*
 * The outcome named `name`, or -1.
 *
 * Errors: none: -1 answers a name that is no outcome.
 */
WSP_EXTERN int wsp_outcome_from_name(const char *name);

/*
 * Phases. A probe passes through them in this order, except `proxy`
 * (added last, for the ABI), which comes between `connect` and `tls`:
 * compare phases by wsp_phase_rank(), never by their values.
 */
#define WSP_PHASE_MAP(XX)                                                      \
  XX(RESOLVE, "resolve")                                                       \
  XX(CONNECT, "connect")                                                       \
  XX(TLS, "tls")                                                               \
  XX(UPGRADE, "upgrade")                                                       \
  XX(OPEN, "open")                                                             \
  XX(FIRST_SEND, "first_send")                                                 \
  XX(AWAITING_REPLY, "awaiting_reply")                                         \
  XX(CLOSING, "closing")                                                       \
  XX(PROXY, "proxy")

/* clang-format off */
typedef enum {
#define WSP__PHASE(e, name) WSP_PHASE_##e,
  WSP_PHASE_MAP(WSP__PHASE)
#undef WSP__PHASE
  WSP_PHASE_COUNT
} wsp_phase;
/* clang-format on */

/* The stable name of a phase, or NULL when out of range. */
WSP_EXTERN const char *wsp_phase_name(wsp_phase phase);
/*
 * Where a phase comes in a probe's life, 0 for `resolve` up to
 * WSP_PHASE_COUNT - 1 for `closing`: `proxy` ranks between `connect` and
 * `tls`.
 *
 * Errors: none: -1 answers a value that is no phase.
 */
WSP_EXTERN int wsp_phase_rank(wsp_phase phase);

/*
 * Timeline marks, recorded with uv_hrtime() (CLOCK_MONOTONIC) as nanoseconds
 * since the probe started. A mark that was never reached is -1.
 */
#define WSP_MARK_MAP(XX)                                                       \
  XX(RESOLVED, "resolved")                                                     \
  XX(CONNECTED, "connected")                                                   \
  XX(TLS_DONE, "tls_done")                                                     \
  XX(UPGRADE_SENT, "upgrade_sent")                                             \
  XX(RESPONSE, "response")                                                     \
  XX(OPEN, "open")                                                             \
  XX(FIRST_SENT, "first_sent")                                                 \
  XX(FIRST_RECEIVED, "first_received")                                         \
  XX(CLOSE_SENT, "close_sent")                                                 \
  XX(CLOSE_RECEIVED, "close_received")                                         \
  XX(CLOSED, "closed")                                                         \
  XX(TUNNEL, "tunnel")

/* clang-format off */
typedef enum {
#define WSP__MARK(e, name) WSP_MARK_##e,
  WSP_MARK_MAP(WSP__MARK)
#undef WSP__MARK
  WSP_MARK_COUNT
} wsp_mark;
/* clang-format on */

/* The stable name of a timeline mark, or NULL when out of range. */
WSP_EXTERN const char *wsp_mark_name(wsp_mark mark);

/*
 * Durations derived from the timeline, the figures summaries report:
 * dns (start..resolved), connect (resolved..connected), tls, upgrade
 * (upgrade_sent..response), first_reply (first_sent..first_received),
 * close (close_sent..closed) and total (start..closed); through a proxy,
 * proxy (connected..tunnel: the CONNECT exchange), and tls then counts
 * from the tunnel.
 */
#define WSP_SPAN_MAP(XX)                                                       \
  XX(DNS, "dns")                                                               \
  XX(CONNECT, "connect")                                                       \
  XX(TLS, "tls")                                                               \
  XX(UPGRADE, "upgrade")                                                       \
  XX(FIRST_REPLY, "first_reply")                                               \
  XX(CLOSE, "close")                                                           \
  XX(TOTAL, "total")                                                           \
  XX(PROXY, "proxy")

/* clang-format off */
typedef enum {
#define WSP__SPAN(e, name) WSP_SPAN_##e,
  WSP_SPAN_MAP(WSP__SPAN)
#undef WSP__SPAN
  WSP_SPAN_COUNT
} wsp_span;
/* clang-format on */

/* The stable name of a span, or NULL when out of range. */
WSP_EXTERN const char *wsp_span_name(wsp_span span);

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

/*
 * An opaque, validated probe configuration. Every setter checks its input
 * and returns an error code without changing the config when the input is
 * bad; wsp_config_last_error() then says what was wrong, in one line.
 * Probes copy what they need when they are created: changing or freeing a
 * config afterwards does not affect them.
 */
typedef struct wsp_config wsp_config;

/* Where a JWT is placed in the upgrade request (bit flags). */
typedef enum {
  WSP_JWT_SUBPROTOCOL = 1 << 0, /* Sec-WebSocket-Protocol: jwt.<token> */
  WSP_JWT_BEARER = 1 << 1,      /* Authorization: Bearer <token> */
  WSP_JWT_QUERY = 1 << 2        /* ?access_token=<token> */
} wsp_jwt_placement;

/* JWS algorithms wsprobe signs and verifies. */
typedef enum {
  WSP_JWT_HS256, /* HMAC-SHA256 with a shared secret */
  WSP_JWT_RS256, /* RSASSA-PKCS1-v1_5 with SHA-256, RSA key */
  WSP_JWT_ES256  /* ECDSA P-256 with SHA-256 (raw r||s signature) */
} wsp_jwt_alg;

/* "HS256", "RS256", "ES256", or NULL. */
WSP_EXTERN const char *wsp_jwt_alg_name(wsp_jwt_alg alg);
/*
 * The algorithm named `name`, or -1.
 *
 * Errors: none: -1 answers a name that is no algorithm.
 */
WSP_EXTERN int wsp_jwt_alg_from_name(const char *name);

/*
 * Signs a JWT: header {"alg", "typ": "JWT"}, the claims of `claims_json`
 * (a JSON object, or NULL for none) with "iat" = now and "exp" = now + ttl
 * (Unix seconds). `key` is the shared secret for HS256 and a PEM or DER
 * private key for RS256/ES256. *out is a malloc'd token (wsp_free()).
 *
 * Errors: WSP_EINVAL (a NULL key or out, an unknown algorithm, a key the
 * algorithm cannot use), WSP_EJSON (claims that are not a JSON object),
 * WSP_ECRYPTO (signing failed), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_jwt_sign(wsp_jwt_alg alg, const void *key, size_t key_len,
                            const char *claims_json, int64_t now, uint32_t ttl,
                            char **out);
/*
 * Verifies `token` with `alg` (the token's own "alg" must match it; "none"
 * never does) and `key` (the secret for HS256, a public or private PEM key
 * otherwise), then checks "exp" and "nbf" against `now` allowing `skew`
 * seconds. Returns 0, WSP_ETOKEN (malformed, wrong algorithm, bad
 * signature), WSP_EEXPIRED or WSP_ENOTYET; `err` (may be NULL) receives the
 * reason. On success *claims_out (may be NULL) receives the claims JSON.
 *
 * Errors: WSP_ETOKEN, WSP_EEXPIRED and WSP_ENOTYET as above; WSP_EINVAL (a
 * NULL token or key, an unknown algorithm, a key that does not parse);
 * WSP_ENOMEM.
 */
WSP_EXTERN int wsp_jwt_verify(const char *token, wsp_jwt_alg alg,
                              const void *key, size_t key_len, int64_t now,
                              uint32_t skew, char **claims_out, char *err,
                              size_t errlen);

/*
 * The algorithm a key signs with, from the key itself: WSP_JWT_RS256 for
 * an RSA key, WSP_JWT_ES256 for a P-256 EC key (PEM or DER, private or
 * public). A secret has no type: HS256 is the caller's choice.
 *
 * Errors: WSP_EINVAL: no key, one that does not parse, or one that is neither
 * RSA nor P-256.
 */
WSP_EXTERN int wsp_jwt_key_alg(const void *key, size_t key_len);

/* Returns a new config with defaults, or NULL when out of memory. */
WSP_EXTERN wsp_config *wsp_config_new(void);
/* Returns a deep copy of `cfg`, or NULL when out of memory. */
WSP_EXTERN wsp_config *wsp_config_dup(const wsp_config *cfg);
/* Frees a config (NULL is fine); probes made from it are not affected. */
WSP_EXTERN void wsp_config_free(wsp_config *cfg);
/*
 * A one-line description of the last error a setter on `cfg` returned, or ""
 * when the last call succeeded. Valid until the next call on `cfg`. Never
 * contains a token or header value marked secret.
 */
WSP_EXTERN const char *wsp_config_last_error(const wsp_config *cfg);

/*
 * The target: ws://host[:port]/path?query or wss://... Hosts may be names,
 * IPv4 literals or bracketed IPv6 literals. Returns WSP_EURL.
 *
 * Errors: WSP_EURL (NULL, or not a ws:// or wss:// URL), WSP_EINVAL (cfg is
 * NULL), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_set_url(wsp_config *cfg, const char *url);
/*
 * Adds a request header. Names must be RFC 7230 tokens and values must not
 * contain CR, LF or NUL. Headers the upgrade itself controls (Host,
 * Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version) are
 * refused with WSP_EHEADER. Authorization, Cookie and Proxy-Authorization
 * values are treated as secrets and redacted in reports.
 *
 * Errors: WSP_EHEADER (a name that is not a token, a reserved header, a value
 * with CR, LF or controls), WSP_ETOOLONG (a value over 8192 bytes), WSP_ESTATE
 * (Origin while wsp_config_set_origin() holds one), WSP_EINVAL (cfg is NULL),
 * WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_add_header(wsp_config *cfg, const char *name,
                                     const char *value);
/*
 * Like wsp_config_add_header() from one "Name: value" line.
 *
 * Errors: those of wsp_config_add_header(), and WSP_EHEADER for a line without
 * a colon: WSP_EHEADER, WSP_ETOOLONG, WSP_ESTATE, WSP_EINVAL, WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_add_header_line(wsp_config *cfg, const char *line);
/*
 * Offers a subprotocol (an RFC 7230 token).
 *
 * Errors: WSP_ESUBPROTO (not a token, or offered twice), WSP_EINVAL (cfg is
 * NULL), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_add_subprotocol(wsp_config *cfg, const char *proto);
/*
 * Sets the JWT and where it goes (a non-zero mask of wsp_jwt_placement).
 * The token must consist of base64url characters and dots. NULL clears it.
 * Replaces any signing set with wsp_config_set_jwt_signing().
 *
 * Errors: WSP_ETOKEN (empty, or a character other than base64url and dots),
 * WSP_ETOOLONG (over 8000 bytes), WSP_EINVAL (cfg is NULL, a placement of 0 or
 * unknown bits), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_set_jwt(wsp_config *cfg, const char *token,
                                  unsigned int placement);
/*
 * Where the token goes (a non-zero mask of wsp_jwt_placement).
 *
 * Errors: WSP_EINVAL: cfg is NULL, or a placement of 0 or unknown bits.
 */
WSP_EXTERN int wsp_config_set_jwt_placement(wsp_config *cfg,
                                            unsigned int placement);
/*
 * Mints a token for every probe instead of using a fixed one: signed with
 * `alg` and `key` (the secret for HS256, a PEM private key otherwise,
 * parsed now to refuse a bad key here). NULL key clears it.
 *
 * Errors: WSP_EINVAL (cfg is NULL, an unknown algorithm, an empty key, a key
 * that does not parse or that the algorithm cannot use), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_set_jwt_signing(wsp_config *cfg, wsp_jwt_alg alg,
                                          const void *key, size_t key_len);
/*
 * The claims of minted tokens: a JSON object. String values may contain
 * "{index}", replaced by the probe's index so that concurrent probes are
 * distinct users ("sub": "user-{index}"). "iat" and "exp" are set by
 * wsprobe, "nbf" too when wsp_config_set_jwt_nbf() was called.
 *
 * Errors: WSP_EJSON (not a JSON object), WSP_EINVAL (cfg is NULL), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_set_jwt_claims(wsp_config *cfg, const char *json);
/*
 * Lifetime of minted tokens in seconds (default 300).
 *
 * Errors: WSP_ERANGE (0 or above 366 days), WSP_EINVAL (cfg is NULL).
 */
WSP_EXTERN int wsp_config_set_jwt_ttl(wsp_config *cfg, uint32_t seconds);
/*
 * Adds "nbf" = now + offset_s to minted tokens.
 *
 * Errors: WSP_EINVAL: cfg is NULL.
 */
WSP_EXTERN int wsp_config_set_jwt_nbf(wsp_config *cfg, int32_t offset_s);
/*
 * The subprotocol prefix (default "jwt."), a token.
 *
 * Errors: WSP_ESUBPROTO (not a token, or over 32 characters), WSP_EINVAL (cfg
 * is NULL).
 */
WSP_EXTERN int wsp_config_set_jwt_prefix(wsp_config *cfg, const char *prefix);
/*
 * The query parameter for WSP_JWT_QUERY (default "access_token").
 *
 * Errors: WSP_EINVAL: cfg is NULL, or a name that is empty, over 64 characters
 * or holds characters other than letters, digits, _, - and dots.
 */
WSP_EXTERN int wsp_config_set_jwt_query_param(wsp_config *cfg,
                                              const char *name);
/*
 * When the token is offered as a subprotocol, the server must select one
 * of the offered subprotocols; a 101 without one is handshake_invalid.
 * Non-zero (the default) requires it.
 *
 * Errors: WSP_EINVAL: cfg is NULL.
 */
WSP_EXTERN int wsp_config_set_require_subprotocol(wsp_config *cfg, int require);
/*
 * Sets the Origin header. NULL clears it.
 *
 * Errors: WSP_EHEADER (empty, or with CR, LF or controls), WSP_ESTATE (an
 * Origin header was added: two would go out), WSP_EINVAL (cfg is NULL),
 * WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_set_origin(wsp_config *cfg, const char *origin);
/*
 * The first message, sent `delay_ms` after the connection opens. `binary`
 * selects a binary frame; a text message must be valid UTF-8. NULL data
 * with len 0 clears it: the probe then opens, holds (see hold_ms) and
 * closes.
 *
 * Errors: WSP_EINVAL (cfg is NULL, NULL data with a length, text that is not
 * UTF-8), WSP_ETOOLONG (over 64 MiB), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_set_message(wsp_config *cfg, const void *data,
                                      size_t len, int binary);
/*
 * Milliseconds between open and the first message (default 0).
 *
 * Errors: WSP_ERANGE (above 3600000), WSP_EINVAL (cfg is NULL).
 */
WSP_EXTERN int wsp_config_set_delay(wsp_config *cfg, uint32_t delay_ms);
/*
 * Without a first message: how long to hold the connection open.
 *
 * Errors: WSP_ERANGE (above 3600000), WSP_EINVAL (cfg is NULL).
 */
WSP_EXTERN int wsp_config_set_hold(wsp_config *cfg, uint32_t hold_ms);
/*
 * Expects a JSON text message whose "type" member (or the member named by
 * wsp_config_set_expect_key()) equals `type`. Repeatable;
 * the probe passes only when every expected type arrived.
 *
 * Errors: WSP_EEXPECT (empty, over 256 bytes, given twice, more than 32
 * types), WSP_EINVAL (cfg is NULL), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_add_expect(wsp_config *cfg, const char *type);
/*
 * Non-zero: the expected events must arrive in the order they were added,
 * each exactly once; a duplicate or an event ahead of its turn ends the
 * probe with expectation_failed naming it.
 *
 * Errors: WSP_EINVAL: cfg is NULL.
 */
WSP_EXTERN int wsp_config_set_expect_order(wsp_config *cfg, int ordered);
/*
 * Names the member of a JSON text message that carries its event type,
 * for protocols that say "event" or "op": a message is an event when its
 * whole payload is one JSON object whose member `key` is a string without
 * NUL, and that string is what the expectations (wsp_config_add_expect(),
 * expect steps) match and the report records as the event's type. The
 * default is "type". The key is copied.
 *
 * Errors: WSP_EEXPECT (empty or over 64 bytes), WSP_EINVAL (cfg is NULL).
 */
WSP_EXTERN int wsp_config_set_expect_key(wsp_config *cfg, const char *key);

/* Which of a name's addresses the probes connect to. */
typedef enum wsp_address_policy {
  /* Probe i starts at address i modulo their number, so that a campaign
   * spreads over every address (the default). */
  WSP_ADDRESS_ROUND_ROBIN = 0,
  /* Every probe starts at the first address. */
  WSP_ADDRESS_FIRST = 1
} wsp_address_policy;
/*
 * Pins a name to addresses without asking the resolver, as curl's
 * --resolve does: `entry` is "HOST:PORT:ADDR[,ADDR...]" (IPv6 addresses in
 * brackets or bare; an IPv6 HOST in brackets). A URL whose host (without
 * case) and port are those of an entry connects to its addresses; the name
 * stays the URL's for SNI, the certificate check and the Host header.
 * Repeatable; the first entry naming a host and port wins. The entry is
 * copied.
 *
 * Errors: WSP_EURL (not of that form: the message says why), WSP_ERANGE
 * (more than 32 entries), WSP_EINVAL (cfg is NULL), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_add_resolve(wsp_config *cfg, const char *entry);
/*
 * Records the first value of this response header of the upgrade (e.g.
 * X-Served-By, a replica's or pod's name) in each probe's result, whatever
 * the status, cut at 511 bytes; reports group outcomes by its value, so
 * that the replica that fails shows itself. The name is matched without
 * case and copied. Repeatable, up to 8 headers.
 *
 * Errors: WSP_EHEADER (not a header name of 1-63 characters, or given
 * twice), WSP_ERANGE (more than 8), WSP_EINVAL (cfg is NULL), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_add_record_header(wsp_config *cfg, const char *name);
/*
 * Which address each probe connects to when the target has several. A
 * probe whose address refuses or fails moves on to the next one (after the
 * last, the first), as before; its result's peer says where it connected.
 *
 * Errors: WSP_EINVAL (cfg is NULL, or not a wsp_address_policy).
 */
WSP_EXTERN int wsp_config_set_address_policy(wsp_config *cfg,
                                             wsp_address_policy policy);
/*
 * Scripted conversations. Steps run in order once the connection is open
 * and replace the first message, its delay, the hold and the expected
 * events: send data, wait for a JSON message of a type (within timeout_ms,
 * 0 for the awaiting_reply timeout; any event since the last one a step
 * consumed counts, so a reply during a wait is not lost), wait some
 * milliseconds, or close with a code (1000, 1001, 3000-4999) and reason.
 * A script that ends without a close step closes with 1000. A failure
 * names the step (wsp_result_step(), "step" in JSON).
 */
/*
 * Step: send `data` as a text (UTF-8 required) or binary message.
 *
 * Errors: WSP_ERANGE (more than 256 steps), WSP_ETOOLONG (over 64 MiB),
 * WSP_EINVAL (cfg is NULL, NULL data with a length, text that is not UTF-8),
 * WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_add_step_send(wsp_config *cfg, const void *data,
                                        size_t len, int binary);
/*
 * Step: wait for a JSON message whose "type" is `type`.
 *
 * Errors: WSP_EEXPECT (a type of 0 or over 256 bytes), WSP_ERANGE (a timeout
 * above 3600000, more than 256 steps), WSP_EINVAL (cfg is NULL), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_add_step_expect(wsp_config *cfg, const char *type,
                                          uint32_t timeout_ms);
/*
 * Step: wait `ms` milliseconds (never less, by uv_hrtime()).
 *
 * Errors: WSP_ERANGE (above 3600000, more than 256 steps), WSP_EINVAL (cfg is
 * NULL), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_add_step_wait(wsp_config *cfg, uint32_t ms);
/*
 * Step: close with `code` and `reason` (NULL for none).
 *
 * Errors: WSP_ERANGE (a code other than 1000, 1001 and 3000-4999, more than
 * 256 steps), WSP_EINVAL (cfg is NULL, a reason over 123 bytes or not UTF-8),
 * WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_add_step_close(wsp_config *cfg, uint16_t code,
                                         const char *reason);
/*
 * Step: one step written as text, the form of the CLI's --step:
 * "send:TEXT", "binary:DATA" (a binary frame), "expect:TYPE[:MS]" (a
 * trailing number is the timeout; 0 or none: the awaiting_reply timeout),
 * "wait:MS" or "close:CODE[:REASON]".
 *
 * Errors: WSP_EINVAL (cfg or text is NULL, none of the forms above, a number
 * that is not one), WSP_ERANGE (a number out of range), and those of the
 * step's own setter: WSP_EEXPECT, WSP_ETOOLONG, WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_add_step_text(wsp_config *cfg, const char *text);
/*
 * Removes every step.
 *
 * Errors: WSP_EINVAL: cfg is NULL.
 */
WSP_EXTERN int wsp_config_clear_steps(wsp_config *cfg);

/*
 * The timeout of one phase in milliseconds (1..3600000). WSP_PHASE_OPEN has
 * no timeout (the delay or hold governs it) and is refused with WSP_EINVAL.
 *
 * Errors: WSP_EINVAL (cfg is NULL, a phase without a timeout), WSP_ERANGE
 * (outside 1..3600000).
 */
WSP_EXTERN int wsp_config_set_timeout(wsp_config *cfg, wsp_phase phase,
                                      uint32_t ms);
/*
 * Sets the timeout of every phase that has one.
 *
 * Errors: WSP_ERANGE (outside 1..3600000), WSP_EINVAL (cfg is NULL).
 */
WSP_EXTERN int wsp_config_set_timeouts(wsp_config *cfg, uint32_t ms);
/*
 * Largest message accepted from the server (default 1 MiB); above: 1009.
 *
 * Errors: WSP_ERANGE (outside 1 byte..2 GiB), WSP_EINVAL (cfg is NULL).
 */
WSP_EXTERN int wsp_config_set_max_message(wsp_config *cfg, uint64_t bytes);
/*
 * Non-zero offers permessage-deflate (RFC 7692) with client_max_window_bits
 * in the upgrade; zero (the default) offers no extension. A server that
 * accepts it has its messages inflated (each bounded by the max message
 * size, else 1009 and protocol_error; text that is not UTF-8 after
 * inflating is 1007) and ours deflated, uncompressed when it asks for an
 * 8-bit window. An answer with unknown, repeated or invalid parameters is
 * handshake_invalid. The agreed extension is the result's extensions.
 *
 * Errors: WSP_EINVAL: cfg is NULL.
 */
WSP_EXTERN int wsp_config_set_compress(wsp_config *cfg, int on);
/*
 * wss:// verification is on by default, against the system CA bundle
 * (/etc/ssl/certs/ca-certificates.crt), checking the URL's host name or IP
 * address against the certificate. This replaces the bundle with the PEM
 * or DER certificates in `path` (parsed now: an unreadable file is refused
 * here). NULL restores the system bundle.
 *
 * Errors: WSP_EINVAL (cfg is NULL, not a readable regular file, no certificate
 * in it), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_set_ca_file(wsp_config *cfg, const char *path);
/*
 * Reaches the server through an HTTP proxy,
 * "http://[user:password@]host[:port]" (the scheme may be left out; the
 * port defaults to 1080, as in curl): ws:// and wss:// alike go through
 * "CONNECT host:port", and TLS for wss:// runs inside the tunnel, checked
 * against the URL's host. Credentials (percent-encoded in the URL) are
 * sent as Proxy-Authorization: Basic and never appear in reports. NULL or
 * "" means no proxy (the default). The library never reads the
 * environment itself; plans do (see the man page's ENVIRONMENT).
 *
 * Errors: WSP_EINVAL (cfg is NULL), WSP_EURL (an https:// or SOCKS proxy,
 * another scheme, a path, no host, a bad port or %-escape), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_set_proxy(wsp_config *cfg, const char *url);
/*
 * Hosts reached without the proxy, as curl's no_proxy: "*" for all, or
 * names (each matching itself and its subdomains; leading dots ignored)
 * and IP addresses or CIDR ranges, separated by commas. Matched against
 * the URL's host. NULL or "" clears it.
 *
 * Errors: WSP_EINVAL (cfg is NULL, a control character), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_set_noproxy(wsp_config *cfg, const char *list);
/*
 * Turns certificate verification off (non-zero) or on. Reports record it,
 * so that an unverified run is never mistaken for a verified one.
 *
 * Errors: WSP_EINVAL: cfg is NULL.
 */
WSP_EXTERN int wsp_config_set_insecure(wsp_config *cfg, int insecure);
/*
 * TLS session resumption, on (non-zero, the default) or off. On, as
 * browsers do, the probes on one context resume the last session made
 * with the same host, port and TLS settings (session tickets, else session
 * IDs), so that only the first probe pays for a full handshake; its
 * certificate was verified then, and a resumed handshake carries none.
 * Off, every probe does a full handshake, with its certificate checked
 * (a chain already verified on the context is not verified again, but its
 * host name, dates and key usage are).
 *
 * Errors: WSP_EINVAL: cfg is NULL.
 */
WSP_EXTERN int wsp_config_set_tls_resume(wsp_config *cfg, int resume);
/*
 * A client certificate and its private key (PEM or DER files) for mutual
 * TLS; both are loaded now and must match. NULL, NULL removes them.
 *
 * Errors: WSP_EINVAL (cfg is NULL, one file without the other, files that do
 * not load or a key that does not match), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_set_client_cert(wsp_config *cfg,
                                          const char *cert_file,
                                          const char *key_file);
/* The URL as set, or NULL. */
WSP_EXTERN const char *wsp_config_url(const wsp_config *cfg);

/*
 * The config as a JSON object (a malloc'd string the caller frees with
 * wsp_free()). Tokens and secret header values are redacted unless
 * `show_secrets` is non-zero.
 *
 * Errors: WSP_EINVAL (a NULL argument), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_config_to_json(const wsp_config *cfg, int show_secrets,
                                  char **out);

/* Frees memory that wsprobe allocated for the caller. */
WSP_EXTERN void wsp_free(void *ptr);

/* ------------------------------------------------------------------------ */
/* Per-loop context                                                         */
/* ------------------------------------------------------------------------ */

struct uv_loop_s;

/*
 * State shared by every probe on one loop: the random number generator,
 * the read buffer, the TLS configurations, the epoll set of the probes'
 * sockets. Create one per loop.
 */
typedef struct wsp_ctx wsp_ctx;

/*
 * Creates a context on `loop`. Adds no handles to the loop by itself: while
 * any probe has a socket open, one uv_poll_t watches the epoll set that
 * holds them (Linux), and it is closed with the last socket. Writes use
 * MSG_NOSIGNAL, so a connection the server reset never raises SIGPIPE.
 *
 * Errors: WSP_EINVAL (a NULL loop or out), WSP_ECRYPTO (the random generator
 * could not be seeded), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_ctx_new(struct uv_loop_s *loop, wsp_ctx **out);
/*
 * Frees the context. Returns WSP_EBUSY, freeing nothing, while probes
 * created on it still exist (they exist until their callback has run);
 * wsp_ctx_last_error() then says how many. NULL is fine.
 *
 * Errors: WSP_EBUSY, as above.
 */
WSP_EXTERN int wsp_ctx_close(wsp_ctx *ctx);
/*
 * Deprecated: the same as wsp_ctx_close(), whose name says it can fail.
 *
 * Errors: WSP_EBUSY, as wsp_ctx_close().
 */
WSP_EXTERN int wsp_ctx_free(wsp_ctx *ctx);
/*
 * A one-line description of the last error a call on `ctx` returned, or
 * "". Valid until the next call on `ctx`.
 */
WSP_EXTERN const char *wsp_ctx_last_error(const wsp_ctx *ctx);
/* The loop the context was created on. */
WSP_EXTERN struct uv_loop_s *wsp_ctx_loop(const wsp_ctx *ctx);

/* ------------------------------------------------------------------------ */
/* Results                                                                  */
/* ------------------------------------------------------------------------ */

/* What one probe found. Owned by whoever received it; wsp_result_free(). */
typedef struct wsp_result wsp_result;

/* Frees a result (NULL is fine). Never for a campaign's results. */
WSP_EXTERN void wsp_result_free(wsp_result *r);
/* Returns a deep copy, or NULL when out of memory. */
WSP_EXTERN wsp_result *wsp_result_dup(const wsp_result *r);
/* The probe's one outcome. */
WSP_EXTERN wsp_outcome wsp_result_outcome(const wsp_result *r);
/* The phase the outcome was decided in (closing for ok). */
WSP_EXTERN wsp_phase wsp_result_phase(const wsp_result *r);
/*
 * Non-zero only when the outcome is WSP_OUTCOME_OK.
 *
 * Errors: none.
 */
WSP_EXTERN int wsp_result_passed(const wsp_result *r);
/* A one-line explanation of a failure (secrets redacted), or NULL for ok. */
WSP_EXTERN const char *wsp_result_error(const wsp_result *r);
/* The probe's index within its campaign (0 for a single probe). */
WSP_EXTERN uint32_t wsp_result_index(const wsp_result *r);
/*
 * The HTTP status of the upgrade response, or 0 when none arrived.
 *
 * Errors: none: 0 says no response came.
 */
WSP_EXTERN int wsp_result_http_status(const wsp_result *r);
/* The upgrade response's reason phrase, or NULL. */
WSP_EXTERN const char *wsp_result_http_reason(const wsp_result *r);
/*
 * A response header recorded on a failed upgrade: "retry-after" or
 * "content-type" (case-insensitive), or NULL when absent.
 */
WSP_EXTERN const char *wsp_result_http_header(const wsp_result *r,
                                              const char *name);
/* The first bytes (at most 512) of a rejection's body; *len set. */
WSP_EXTERN const uint8_t *wsp_result_http_body(const wsp_result *r,
                                               size_t *len);
/* The subprotocol the server selected, or NULL. */
WSP_EXTERN const char *wsp_result_subprotocol(const wsp_result *r);
/* With wsp_config_set_compress(): the Sec-WebSocket-Extensions the server
 * agreed to, as it gave it; NULL when it agreed to none. */
WSP_EXTERN const char *wsp_result_extensions(const wsp_result *r);
/*
 * The address and port the probe connected to, "127.0.0.1:8080" or
 * "[::1]:8080" (when every address failed, the last one tried), or NULL
 * when it never got as far as connecting.
 */
WSP_EXTERN const char *wsp_result_peer(const wsp_result *r);
/*
 * The value the upgrade response gave a header named with
 * wsp_config_add_record_header() (matched without case), or NULL when the
 * response had no such header or the name was not recorded.
 */
WSP_EXTERN const char *wsp_result_recorded_header(const wsp_result *r,
                                                  const char *name);
/*
 * The close frame received from the server: returns the code (1005 for a
 * close frame without a code, 1006 when TCP ended without a close frame),
 * or -1 when the connection never opened or we ended it first without
 * hearing back. `reason` (may be NULL) receives the reason, NUL-terminated,
 * exactly as sent (it may be invalid UTF-8).
 *
 * Errors: none: -1 says no close frame, as above.
 */
WSP_EXTERN int wsp_result_close_received(const wsp_result *r,
                                         const char **reason);
/*
 * The close frame we sent: code (1005 without a code) or -1; as above.
 * A close frame whose write failed was not sent: -1.
 *
 * Errors: none: -1 says no close frame.
 */
WSP_EXTERN int wsp_result_close_sent(const wsp_result *r, const char **reason);
/*
 * The bytes of a close reason, which may hold a NUL (the NUL-terminated
 * reasons above then look shorter): `sent` 0 for the server's close frame,
 * non-zero for ours. NULL when there was no such frame; *len set.
 */
WSP_EXTERN const uint8_t *wsp_result_close_reason(const wsp_result *r, int sent,
                                                  size_t *len);
/* The first-message delay the probe asked for, ms. */
WSP_EXTERN uint32_t wsp_result_delay(const wsp_result *r);
/*
 * The first-message delay the probe achieved, ns: from the kernel's
 * arrival stamp of the 101 response to the moment just before the send(2)
 * that took the first message. -1 when no message was sent.
 */
WSP_EXTERN int64_t wsp_result_delay_achieved(const wsp_result *r);
/* Nanoseconds since the probe started at `mark`, or -1 if never reached. */
WSP_EXTERN int64_t wsp_result_mark(const wsp_result *r, wsp_mark mark);
/* A derived duration in nanoseconds, or -1 when either end is missing. */
WSP_EXTERN int64_t wsp_result_span(const wsp_result *r, wsp_span span);
/* The negotiated TLS version ("TLSv1.2"), or NULL without TLS. */
WSP_EXTERN const char *wsp_result_tls_version(const wsp_result *r);
/* The negotiated cipher suite (mbedTLS's name), or NULL without TLS. */
WSP_EXTERN const char *wsp_result_tls_cipher(const wsp_result *r);
/*
 * 1 when the TLS handshake resumed a session, 0 for a full handshake, -1
 * without a completed handshake.
 *
 * Errors: none: -1 says no TLS handshake.
 */
WSP_EXTERN int wsp_result_tls_resumed(const wsp_result *r);
/*
 * The key exchange group of a full TLS handshake, by its IANA name
 * ("x25519", "secp256r1", "ffdhe2048"...), read from the server's
 * ServerKeyExchange; NULL without one (a resumed handshake, RSA key
 * exchange, no TLS) or when the group has no such name.
 */
WSP_EXTERN const char *wsp_result_tls_group(const wsp_result *r);
/*
 * The status the proxy answered CONNECT with (200 when the tunnel opened,
 * 407, 403, 502...); 0 without a proxy or before it answered.
 *
 * Errors: none.
 */
WSP_EXTERN int wsp_result_proxy_status(const wsp_result *r);
/*
 * Scripted: the index of the step the probe ended in (the step count
 * when the script ran to its end), or -1 without steps.
 *
 * Errors: none: -1 says the probe had no script.
 */
WSP_EXTERN int wsp_result_step(const wsp_result *r);
/* Number of messages received from the server. */
WSP_EXTERN uint32_t wsp_result_message_count(const wsp_result *r);
/* Number of recorded events (JSON messages with a string "type"). */
WSP_EXTERN size_t wsp_result_event_count(const wsp_result *r);
/*
 * Event `i`: its type and its time in ns since start. WSP_ERANGE if none.
 *
 * Errors: WSP_ERANGE: r is NULL or has no event i.
 */
WSP_EXTERN int wsp_result_event(const wsp_result *r, size_t i,
                                const char **type, int64_t *t_ns);
/*
 * The result as a JSON object (docs/report.md), a malloc'd string freed
 * with wsp_free().
 *
 * Errors: WSP_EINVAL (a NULL argument), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_result_to_json(const wsp_result *r, char **out);

/* ------------------------------------------------------------------------ */
/* Probes                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct wsp_probe wsp_probe;

/*
 * Called once when a probe has ended and every handle it opened is closed.
 * The callback owns `result` and frees it with wsp_result_free(). `probe` is
 * freed when the callback returns.
 */
typedef void (*wsp_probe_cb)(wsp_probe *probe, wsp_result *result,
                             void *user_data);

/*
 * Starts a probe of `cfg` on `ctx`'s loop. The config is copied. On success
 * *out (may be NULL) receives the probe, which lives until `cb` returns. On
 * failure nothing was started and `cb` will never be called.
 * The probe only adds its own handles; it never runs or stops the loop.
 *
 * Errors: WSP_EINVAL (a NULL ctx, cfg or cb), WSP_EURL (a config without a
 * URL), WSP_ENOMEM, and libuv's codes when a handle cannot be made.
 */
WSP_EXTERN int wsp_probe_start(wsp_ctx *ctx, const wsp_config *cfg,
                               wsp_probe_cb cb, void *user_data,
                               wsp_probe **out);
/*
 * Ends a running probe with WSP_OUTCOME_CANCELLED (unless it has already
 * decided its outcome). Its callback still runs, later, from the loop.
 */
WSP_EXTERN void wsp_probe_cancel(wsp_probe *probe);
/* The user data given to wsp_probe_start(). */
WSP_EXTERN void *wsp_probe_user_data(const wsp_probe *probe);

/*
 * Runs one probe to completion on a private loop and stores its result in
 * *out (free with wsp_result_free()). Blocks the calling thread; safe to
 * call from several threads at once.
 *
 * Errors: WSP_EINVAL (a NULL argument), WSP_EBUSY (the private loop did not
 * close), and those of wsp_ctx_new() and wsp_probe_start(): WSP_EURL,
 * WSP_ECRYPTO, WSP_ENOMEM, libuv's codes.
 */
WSP_EXTERN int wsp_probe_run(const wsp_config *cfg, wsp_result **out);

/* ------------------------------------------------------------------------ */
/* Campaigns: many probes of one config on one loop                         */
/* ------------------------------------------------------------------------ */

/*
 * A campaign runs one mode, chosen by its setter: plain (the default:
 * wsp_campaign_set_count() probes), a delay sweep
 * (wsp_campaign_set_delays()), a window search
 * (wsp_campaign_set_window_search()) or a concurrency sweep
 * (wsp_campaign_set_concurrency_sweep()). A second mode's setter is
 * refused with WSP_ESTATE, and so is any setting the chosen mode would
 * ignore, in whichever order they come: no setter changes another one's
 * value. wsp_campaign_last_error() says what conflicted.
 */
typedef struct wsp_campaign wsp_campaign;

/* Called after each probe of a campaign ends; the result stays owned by
 * the campaign. */
typedef void (*wsp_campaign_probe_cb)(wsp_campaign *c, const wsp_result *r,
                                      void *user_data);
/* Called once when every probe of the campaign has ended. */
typedef void (*wsp_campaign_done_cb)(wsp_campaign *c, void *user_data);

/*
 * A campaign of `cfg` (copied): 1 probe at concurrency 1 by default.
 * Its probes share that copy and one resolution of the host.
 *
 * Errors: WSP_EINVAL (a NULL argument), WSP_EURL (a config without a URL),
 * WSP_ENOMEM.
 */
WSP_EXTERN int wsp_campaign_new(const wsp_config *cfg, wsp_campaign **out);
/*
 * Frees the campaign (NULL is fine); while it is running it frees nothing
 * and returns WSP_EBUSY.
 *
 * Errors: WSP_EBUSY: it is running.
 */
WSP_EXTERN int wsp_campaign_close(wsp_campaign *c);
/*
 * Deprecated: the same as wsp_campaign_close().
 *
 * Errors: WSP_EBUSY: it is running.
 */
WSP_EXTERN int wsp_campaign_free(wsp_campaign *c);
/*
 * A one-line description of the last error a call on `c` returned, or ""
 * when the last call succeeded. Valid until the next call on `c`.
 */
WSP_EXTERN const char *wsp_campaign_last_error(const wsp_campaign *c);
/*
 * Number of probes of a plain campaign (1..10,000,000). Without it: one
 * probe; with bursts, one burst of the concurrency; with a duration, as
 * many as the duration allows.
 *
 * Errors: WSP_ERANGE (outside 1..10000000), WSP_ESTATE (started, or a delay
 * sweep, window search or concurrency sweep, which ignore the count),
 * WSP_EINVAL (c is NULL).
 */
WSP_EXTERN int wsp_campaign_set_count(wsp_campaign *c, uint32_t count);
/*
 * Probes in flight at once (1..1,000,000).
 *
 * Errors: WSP_ERANGE (outside 1..1000000), WSP_ESTATE (started, or a window
 * search or concurrency sweep, which choose their own), WSP_EINVAL (c is
 * NULL).
 */
WSP_EXTERN int wsp_campaign_set_concurrency(wsp_campaign *c, uint32_t n);
/*
 * Starts at most `per_second` probes a second (0, the default: as fast as
 * the concurrency allows).
 *
 * Errors: WSP_ERANGE (below 0 or above 10000000), WSP_ESTATE (started),
 * WSP_EINVAL (c is NULL).
 */
WSP_EXTERN int wsp_campaign_set_rate(wsp_campaign *c, double per_second);
/*
 * Duration: keeps starting probes for `ms` milliseconds (a count given is
 * a cap), recording outcomes per time slice, e.g. to watch a deployment
 * turn 503 -> 1011 -> ok. 0 removes it. For plain campaigns and sweeps.
 *
 * Errors: WSP_ERANGE (above a week), WSP_ESTATE (started, or a window search
 * or concurrency sweep, which end with their search), WSP_EINVAL (c is NULL).
 */
WSP_EXTERN int wsp_campaign_set_duration(wsp_campaign *c, uint32_t ms);
/*
 * The time slice of outcomes over time (default 1000 ms).
 *
 * Errors: WSP_ERANGE (outside 1..3600000), WSP_ESTATE (started), WSP_EINVAL (c
 * is NULL).
 */
WSP_EXTERN int wsp_campaign_set_slice(wsp_campaign *c, uint32_t ms);
/*
 * Synchronised bursts: open `concurrency` connections, wait until all are
 * open (or failed), then send every first message in the same loop
 * iteration, the config's delay (wsp_config_set_delay) after that moment.
 * The report gives the spread of the actual send times.
 *
 * Errors: WSP_ESTATE (started), WSP_EINVAL (c is NULL).
 */
WSP_EXTERN int wsp_campaign_set_burst(wsp_campaign *c, int burst);
/*
 * Chooses a delay sweep: `per_delay` probes at each of the `n`
 * first-message delays, run in an order shuffled by the seed. The report
 * gives outcomes and the failure rate per delay.
 *
 * Errors: WSP_ERANGE (no delays or more than 10000, a delay above 3600000,
 * per_delay 0, more than 10000000 probes), WSP_ESTATE (started, another mode
 * chosen, a count given), WSP_EINVAL (c is NULL), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_campaign_set_delays(wsp_campaign *c, const uint32_t *delays,
                                       size_t n, uint32_t per_delay);
/*
 * Chooses a race-window search: estimates the smallest first-message delay
 * above which failures stop, by bisection between `lo_ms` (expected to
 * fail) and `hi_ms` (expected to pass) to `resolution_ms`, with `trials`
 * probes at each point. A point fails when any of its probes fails. The
 * estimate brackets the delays the probes achieved
 * (wsp_result_delay_achieved), not the ones asked for; a point run while
 * the prober's own loop lagged is run again, twice at most.
 *
 * Errors: WSP_ERANGE (hi_ms not above lo_ms or above 3600000, a resolution
 * outside 1..3600000, trials outside 1..100000), WSP_ESTATE (started, another
 * mode chosen, a count, concurrency, duration or several shards given),
 * WSP_EINVAL (c is NULL).
 */
WSP_EXTERN int wsp_campaign_set_window_search(wsp_campaign *c, uint32_t lo_ms,
                                              uint32_t hi_ms,
                                              uint32_t resolution_ms,
                                              uint32_t trials);
/*
 * Chooses a concurrency sweep: bursts of 1, 2, 4, ... simultaneous
 * connections up to `max_level`; the report names the first level at
 * which failures appear.
 *
 * Errors: WSP_ERANGE (outside 1..1000000), WSP_ESTATE (started, another mode
 * chosen, a count, concurrency, duration or several shards given), WSP_EINVAL
 * (c is NULL).
 */
WSP_EXTERN int wsp_campaign_set_concurrency_sweep(wsp_campaign *c,
                                                  uint32_t max_level);
/*
 * The seed of every random choice (jitter, order): the same seed gives the
 * same schedule. By default a random seed is drawn and recorded. At most
 * 2^53 - 1, so that JSON carries it exactly.
 *
 * Errors: WSP_ERANGE (2^53 or above), WSP_ESTATE (started), WSP_EINVAL (c is
 * NULL).
 */
WSP_EXTERN int wsp_campaign_set_seed(wsp_campaign *c, uint64_t seed);
/* The seed in use. */
WSP_EXTERN uint64_t wsp_campaign_seed(const wsp_campaign *c);
/*
 * Adds a random 0..ms to each probe's first-message delay.
 *
 * Errors: WSP_ERANGE (above 3600000), WSP_ESTATE (started), WSP_EINVAL (c is
 * NULL).
 */
WSP_EXTERN int wsp_campaign_set_jitter(wsp_campaign *c, uint32_t ms);
/*
 * Runs only shard `index` of `count` disjoint shards (probe indexes with
 * index % count == index), so that several machines together run the
 * whole campaign. Not for window or concurrency searches. Every random
 * choice of a probe (the sweep's order, the jitter, "{jti}" claims) is a
 * function of the seed and the probe's index alone, so the shards of one
 * seed together are the unsharded campaign: a campaign of several shards
 * needs wsp_campaign_set_seed() (wsp_campaign_start() refuses it without).
 *
 * Errors: WSP_ERANGE (index not below count, count 0 or above 1000000),
 * WSP_ESTATE (started, or several shards of a window search or concurrency
 * sweep), WSP_EINVAL (c is NULL).
 */
WSP_EXTERN int wsp_campaign_set_shard(wsp_campaign *c, uint32_t index,
                                      uint32_t count);
/* Where a campaign's shard came from (reports say: campaign.shard.source). */
typedef enum {
  WSP_SHARD_NONE,       /* Not split: shard 0 of 1. */
  WSP_SHARD_OPTION,     /* Given: --shard I/N, wsp_campaign_set_shard(). */
  WSP_SHARD_ENV,        /* WSPROBE_SHARD=I/N. */
  WSP_SHARD_KUBERNETES, /* JOB_COMPLETION_INDEX, WSPROBE_SHARD_COUNT. */
  WSP_SHARD_SLURM       /* SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN. */
} wsp_shard_source;
/* "none", "option", "WSPROBE_SHARD", "kubernetes", "slurm"; NULL for a
 * value that is no source. */
WSP_EXTERN const char *wsp_shard_source_name(wsp_shard_source s);
/*
 * The shard a scheduler gave this process, from the environment `envp`
 * ("NAME=VALUE" strings, NULL-terminated, as environ; NULL is empty), in
 * this order: WSPROBE_SHARD=I/N; JOB_COMPLETION_INDEX (a Kubernetes
 * Indexed Job's pod) with WSPROBE_SHARD_COUNT; SLURM_ARRAY_TASK_ID minus
 * SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT tasks (a Slurm job
 * array's task). WSPROBE_SHARD_COUNT, when set, overrides Slurm's count.
 * With none of them set: shard 0 of 1 from WSP_SHARD_NONE. An empty
 * variable counts as unset.
 *
 * A refusal comes with a one-line reason in err.
 *
 * Errors: WSP_EINVAL (a value that is not a number, an index without a
 * count, a Slurm array with a step other than 1 or with gaps, an output
 * pointer NULL), WSP_ERANGE (the index not below the count, or more than
 * 1000000 shards).
 */
WSP_EXTERN int wsp_shard_from_environment(const char *const *envp,
                                          uint32_t *index, uint32_t *count,
                                          wsp_shard_source *source, char *err,
                                          size_t errlen);
/*
 * wsp_campaign_set_shard(), recording where the shard came from (reports
 * carry it). wsp_campaign_set_shard() records WSP_SHARD_OPTION, or
 * WSP_SHARD_NONE for a count of 1.
 *
 * Errors: WSP_ERANGE (index not below count, count 0 or above 1000000),
 * WSP_ESTATE (started, or several shards of a window search or concurrency
 * sweep), WSP_EINVAL (c is NULL, or source is no wsp_shard_source).
 */
WSP_EXTERN int wsp_campaign_set_shard_from(wsp_campaign *c, uint32_t index,
                                           uint32_t count,
                                           wsp_shard_source source);
/*
 * Opens the campaign at a wall-clock instant, `unix_us` microseconds since
 * the Unix epoch (CLOCK_REALTIME), so that shards on several machines
 * begin together. wsp_campaign_start() converts it once to the monotonic
 * clock; the first probe starts at that instant (a timer, then a short
 * blocking wait of at most a few milliseconds on the loop). Reports record
 * the start as it happened (campaign.started_at), how late it was and what
 * the kernel says of the clock's synchronisation.
 *
 * Errors: WSP_ERANGE (before 1970 or after 9999), WSP_ESTATE (started),
 * WSP_EINVAL (c is NULL).
 */
WSP_EXTERN int wsp_campaign_set_start_at(wsp_campaign *c, int64_t unix_us);
/*
 * How late wsp_campaign_start() may be for the instant of
 * wsp_campaign_set_start_at() and still start (at once, the lateness
 * recorded): default 1000 ms. Later than that, wsp_campaign_start()
 * refuses with WSP_ELATE.
 *
 * Errors: WSP_ERANGE (above 3600000), WSP_ESTATE (started), WSP_EINVAL (c is
 * NULL).
 */
WSP_EXTERN int wsp_campaign_set_start_tolerance(wsp_campaign *c, uint32_t ms);
/*
 * Parses a wall-clock instant, as --start-at takes it: RFC 3339
 * ("2026-11-28T22:30:00.250Z", "...+01:00"; fractions to the microsecond)
 * or Unix seconds ("1795904171.25"), into microseconds since the epoch.
 *
 * Errors: WSP_EINVAL (not such an instant, or text or unix_us NULL).
 */
WSP_EXTERN int wsp_time_parse(const char *text, int64_t *unix_us);
/*
 * The event-loop lag above which results are flagged (default 5 ms): a
 * prober that is late itself must not pass its delay off as the server's.
 *
 * Errors: WSP_ERANGE (outside 1..60000), WSP_ESTATE (started), WSP_EINVAL (c
 * is NULL).
 */
WSP_EXTERN int wsp_campaign_set_lag_threshold(wsp_campaign *c, uint32_t ms);
/*
 * Polls an http:// or https:// health URL for the whole campaign, beside
 * the probes, on the campaign's loop (the first loop of several): a GET on
 * a new connection every interval, "Connection: close", through the same
 * socket, TLS (the config's CA, client certificate and --insecure) and
 * HTTP parser as the probes, one request in flight; a tick that finds one
 * still running is skipped and counted. Each answer is a sample of the
 * report (status, time, error, the body's first 256 bytes). Health never
 * changes an outcome, the verdict or the exit status. NULL turns it off.
 *
 * Errors: WSP_EURL (not an http:// or https:// URL; the reason in
 * wsp_campaign_last_error()), WSP_ENOMEM, WSP_ESTATE (started),
 * WSP_EINVAL (c is NULL).
 */
WSP_EXTERN int wsp_campaign_set_health(wsp_campaign *c, const char *url);
/*
 * The time between two health requests (default 500 ms).
 *
 * Errors: WSP_ERANGE (outside 1..3600000), WSP_ESTATE (started), WSP_EINVAL
 * (c is NULL).
 */
WSP_EXTERN int wsp_campaign_set_health_interval(wsp_campaign *c, uint32_t ms);
/*
 * How long a health request may take, from the resolution to the end of
 * the response (default 2000 ms); later, its sample is an error.
 *
 * Errors: WSP_ERANGE (outside 1..3600000), WSP_ESTATE (started), WSP_EINVAL
 * (c is NULL).
 */
WSP_EXTERN int wsp_campaign_set_health_timeout(wsp_campaign *c, uint32_t ms);
/*
 * Runs the campaign on `n` loops, one a thread (0: one per online CPU, at
 * most one per connection of the concurrency; default 1), when it is run
 * with wsp_campaign_run(); wsp_campaign_start() runs one loop only and
 * refuses more. Each loop has its own context (DRBG, TLS configuration
 * and session cache, parsed keys) and a share of the probe indexes, of
 * the concurrency and of the rate: the count, concurrency and rate stay
 * totals. Every index runs once, with the delay, jitter and token claims
 * it would have on one loop with the same seed; the results and the
 * report are one campaign's (wsp_report_new() merges the loops' figures
 * as wsp_report_new_merged() does). Bursts are released on every loop at
 * one shared deadline; the report gives the send spread over all loops
 * and each loop's own spread and lateness. The probe callback
 * (wsp_campaign_set_probe_cb()) is then called from the loops' threads,
 * one call at a time. Window searches and concurrency sweeps adapt as
 * they go and run on one loop: wsp_campaign_validate() refuses them with
 * more threads, as it refuses more threads than connections.
 *
 * Errors: WSP_ERANGE (above 1024), WSP_ESTATE (started), WSP_EINVAL (c is
 * NULL).
 */
WSP_EXTERN int wsp_campaign_set_threads(wsp_campaign *c, uint32_t n);
/* The loops the campaign runs on: as set, or for 0 the number of online
 * CPUs, at most the concurrency (1 for window and concurrency searches).
 * After a run, the number it ran on. */
WSP_EXTERN uint32_t wsp_campaign_threads(const wsp_campaign *c);
/* Probes a fixed schedule will run (0 for adaptive or timed campaigns). */
WSP_EXTERN uint32_t wsp_campaign_planned(const wsp_campaign *c);
/*
 * The campaign's fingerprint (docs/report.md): 64 hex digits and a NUL
 * into `out` (len >= 65), a SHA-256 over what makes runs one campaign
 * (target, message, steps, expectations, headers without secret values,
 * timeouts, mode and its parameters, count, seed, jitter, slice), never a
 * secret, and nothing that may differ between the machines of one
 * campaign (concurrency, rate, shard, file paths). Every report carries it;
 * merges refuse reports whose fingerprints differ.
 *
 * Errors: WSP_EINVAL (a NULL argument, `len` below 65), WSP_ECRYPTO (the
 * hash failed), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_campaign_fingerprint(const wsp_campaign *c, char *out,
                                        size_t len);
/*
 * Sets a callback run after each probe ends (NULL for none).
 *
 * Errors: WSP_EINVAL: c is NULL.
 */
WSP_EXTERN int wsp_campaign_set_probe_cb(wsp_campaign *c,
                                         wsp_campaign_probe_cb cb,
                                         void *user_data);
/*
 * Starts the campaign on `ctx`'s loop; `done` runs when it has ended.
 *
 * Errors: WSP_EINVAL (a NULL argument), WSP_ESTATE (it was started before),
 * WSP_ELATE (the instant of wsp_campaign_set_start_at() passed longer ago
 * than the start tolerance), WSP_ENOMEM, and libuv's codes when a handle
 * cannot be made.
 */
WSP_EXTERN int wsp_campaign_start(wsp_campaign *c, wsp_ctx *ctx,
                                  wsp_campaign_done_cb done, void *user_data);
/* Cancels every probe in flight and starts no more; the reports say the
 * campaign was interrupted. */
WSP_EXTERN void wsp_campaign_cancel(wsp_campaign *c);
/*
 * Like wsp_campaign_cancel(), but safe to call from any thread and from a
 * signal handler: it only records the request and wakes the campaign's
 * loop (a uv_async_t), where the probes in flight are cancelled and no
 * more start; the results so far stay, and the campaign ends as usual
 * (its done callback runs, its reports can be written). Called before the
 * campaign starts, it ends it at once; after it ended, it does nothing.
 * The campaign must not be freed while another thread may call this.
 */
WSP_EXTERN void wsp_campaign_interrupt(wsp_campaign *c);
/*
 * Non-zero when wsp_campaign_interrupt() ended the campaign early.
 *
 * Errors: none.
 */
WSP_EXTERN int wsp_campaign_interrupted(const wsp_campaign *c);
/*
 * About how many open files the campaign needs at most: its connections
 * at once plus a margin for the loop, the reports and stdio.
 */
WSP_EXTERN uint64_t wsp_campaign_open_files(const wsp_campaign *c);
/*
 * Checks the process's limits against what the campaign needs, raising
 * the soft limit of open files (RLIMIT_NOFILE) towards the hard limit when
 * it is too low (libuv never does). WSP_ERANGE when it stays too low, with
 * the figures in wsp_campaign_last_error().
 *
 * Errors: WSP_ERANGE (the limit stays too low), WSP_EINVAL (c is NULL).
 */
WSP_EXTERN int wsp_campaign_check_limits(wsp_campaign *c);
/*
 * Checks the settings together, as wsp_campaign_start() does: 0, or
 * WSP_EINVAL with a one-line reason in `err` (may be NULL) for a campaign
 * that cannot apply what it was given: a jitter, or a delay sweep, with
 * bursts or a concurrency sweep (their probes are released together, one
 * delay after the last one opened), or shards of a window or concurrency
 * search.
 *
 * Errors: WSP_EINVAL (the settings conflict, or c is NULL).
 */
WSP_EXTERN int wsp_campaign_validate(const wsp_campaign *c, char *err,
                                     size_t errlen);
/*
 * Runs the campaign to completion on a private loop, or on one private
 * loop per thread when wsp_campaign_set_threads() asked for more than one
 * (it returns when every thread has ended). An interrupt
 * (wsp_campaign_interrupt()) reaches every loop.
 *
 * Errors: WSP_EINVAL (c is NULL, or settings that conflict, as
 * wsp_campaign_validate() says), WSP_EBUSY (a private loop did not close),
 * and those of wsp_ctx_new() and wsp_campaign_start(): WSP_ESTATE,
 * WSP_ECRYPTO, WSP_ENOMEM, libuv's codes.
 */
WSP_EXTERN int wsp_campaign_run(wsp_campaign *c);
/* Number of results so far. */
WSP_EXTERN size_t wsp_campaign_result_count(const wsp_campaign *c);
/* Result `i` (in order of ending while running, of probe index once the
 * campaign is done), or NULL; owned by the campaign. */
WSP_EXTERN const wsp_result *wsp_campaign_result(const wsp_campaign *c,
                                                 size_t i);
/* Number of results whose outcome is ok. */
WSP_EXTERN size_t wsp_campaign_passed(const wsp_campaign *c);

/* ------------------------------------------------------------------------ */
/* Reports                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * The campaign's JSON report (docs/report.md): version, config (secrets
 * redacted unless `show_secrets`), probes and summary. A malloc'd string
 * freed with wsp_free().
 *
 * Errors: WSP_EINVAL (a NULL argument), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_json(const wsp_campaign *c, int show_secrets,
                               char **out);
/*
 * Receives a report's bytes in order; returns 0, or non-zero to stop the
 * writer (which then returns WSP_EIO).
 */
typedef int (*wsp_write_cb)(const char *data, size_t len, void *user_data);
/*
 * The same JSON report, handed to `write` as it is made, in pieces of
 * about 32 KiB of whole probe lines: memory stays at about one piece,
 * where the string form holds the whole document (about 7 KB a probe) at
 * once. The probes come last in the object, one per line.
 *
 * Errors: WSP_EIO (the callback stopped it), WSP_EINVAL (a NULL argument),
 * WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_json_write(const wsp_campaign *c, int show_secrets,
                                     wsp_write_cb write, void *user_data);
/*
 * A human summary: counts per outcome (with phases), close codes, HTTP
 * statuses, p50/p99 per span, the failed probes' errors. A malloc'd string
 * freed with wsp_free().
 *
 * Errors: WSP_EINVAL (a NULL argument), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_text(const wsp_campaign *c, char **out);

/*
 * Merges the JSON reports of the `n` shards of one campaign (held in
 * memory) into one JSON report, as wsp_report_merge_files() does, into a
 * malloc'd string. On failure `err` (may be NULL) says why: WSP_EJSON for
 * an input that is not a report, WSP_EINVAL for reports that cannot be
 * merged (different campaigns, a shard missing or twice, shards that
 * overlap, window or concurrency searches).
 *
 * Errors: WSP_EJSON, WSP_EINVAL as above (never WSP_EMERGE: this call has
 * always said WSP_EINVAL for reports that do not merge), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_merge(const char *const *reports, size_t n,
                                char **out, char *err, size_t errlen);
/*
 * The human summary of any JSON report (merged ones too).
 *
 * Errors: WSP_EJSON (not a report; never WSP_EMERGE), WSP_EINVAL (a NULL
 * argument), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_text_json(const char *json, char **out);

/*
 * JUnit XML: one <testcase> per probe (per delay point for sweeps), with
 * the outcome, phase, close code and HTTP status in each failure's
 * message. A malloc'd string freed with wsp_free().
 *
 * Errors: WSP_EINVAL (a NULL argument), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_junit(const wsp_campaign *c, char **out);
/*
 * One self-contained HTML page (no network, no external scripts or fonts):
 * the summary, a timeline of every probe (sampled for large campaigns),
 * the failure rate against the delay for sweeps with the race window
 * marked, outcomes over time. A malloc'd string freed with wsp_free().
 *
 * Errors: WSP_EINVAL (a NULL argument), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_html(const wsp_campaign *c, char **out);

/*
 * The report model. Every format above, and the verdict, is made from one
 * model of the campaign: built from a finished campaign, from the
 * campaigns of several loops run as one (each a share of the probe
 * indexes), or from JSON reports read back (a merge of shards). Writing a
 * format from a model gives the same bytes as the calls above.
 */
typedef struct wsp_report wsp_report;

/* The formats a report is written in. */
typedef enum {
  WSP_REPORT_TEXT, /* The human summary (wsp_report_text()). */
  WSP_REPORT_JSON, /* docs/report.md, the probes last, one a line. */
  WSP_REPORT_HTML, /* One self-contained page. */
  WSP_REPORT_JUNIT /* JUnit XML. */
} wsp_report_format;

/* Flags of the writers. */
#define WSP_REPORT_SHOW_SECRETS                                                \
  1u /* JSON: tokens and secret header values                                  \
        as they are; other formats never                                       \
        show them. */

/* What a report concludes; wsp_verdict_exit_code() maps it to the CLI's
 * exit codes. */
typedef enum {
  WSP_VERDICT_PASS,   /* Probes ran, every one passed, and the campaign
                         was not interrupted. */
  WSP_VERDICT_FAIL,   /* A probe did not pass, none ran, or the campaign
                         was interrupted. */
  WSP_VERDICT_PARTIAL /* A merge with shards missing
                         (WSP_MERGE_ALLOW_PARTIAL): it cannot pass, whatever
                         the probes it has say. */
} wsp_verdict;

/*
 * The report of campaign `c` (normally finished; while it runs, the
 * results so far, in order of ending). The report reads the campaign's
 * results where they are: the campaign must not be freed or started while
 * the report exists.
 *
 * Errors: WSP_EINVAL (a NULL argument), WSP_ECRYPTO (the fingerprint's hash
 * failed), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_new(const wsp_campaign *c, wsp_report **out);
/*
 * One report of `n` finished campaigns that ran one campaign between them
 * on several loops (the same config, settings and shard, each probe index
 * run by exactly one of them): counts add up, histograms merge exactly,
 * the probes are visited in index order, as in a merge of shards. The
 * campaigns must outlive the report. On failure `err` (may be NULL) says
 * why.
 *
 * Errors: WSP_EBUSY (a campaign still running), WSP_EMERGE (campaigns that
 * are not one campaign: their fingerprints or shards differ, a probe index
 * run twice, window or concurrency searches), WSP_EINVAL (no campaigns, a
 * NULL one), WSP_ECRYPTO, WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_new_merged(const wsp_campaign *const *c, size_t n,
                                     wsp_report **out, char *err,
                                     size_t errlen);

/* Flags of wsp_report_merge_files(). */
#define WSP_MERGE_ALLOW_PARTIAL                                                \
  1u /* Merge the shards that are there: the                                   \
        report is marked partial, with the                                     \
        missing shards, and cannot pass. */

/*
 * Reads the JSON reports at `paths` (wsprobe --json, wsp_report_save())
 * and merges them into one report, or reads one to write it in another
 * format. The reports are streamed, never held whole: they must be in the
 * layout wsprobe writes them in (the probes last, one a line, in index
 * order; docs/report.md), of any size. Every report is read through once
 * here to check it, and once more by each write; the files must stay in
 * place while the report exists.
 *
 * Refused with WSP_EMERGE, and one line in `err` (may be NULL) naming the
 * reports concerned: reports of different campaigns (their fingerprints
 * differ, or one has none), different shard counts, a shard twice or
 * missing (unless WSP_MERGE_ALLOW_PARTIAL), probes outside their shard,
 * out of order or in two reports, a report whose probes do not add up to
 * its summary (cut short or edited), a report that is already a merge,
 * window and concurrency searches. WSP_EJSON for a file that is not a
 * wsprobe JSON report in that layout, WSP_EIO for one that cannot be read.
 *
 * Errors: WSP_EMERGE, WSP_EJSON, WSP_EIO as above; WSP_EINVAL (no paths, a
 * NULL one), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_merge_files(const char *const *paths, size_t n,
                                      unsigned flags, wsp_report **out,
                                      char *err, size_t errlen);
/*
 * The same for reports held in memory (NUL-terminated JSON texts), which
 * must outlive the report.
 *
 * Errors: those of wsp_report_merge_files() but WSP_EIO: WSP_EMERGE,
 * WSP_EJSON, WSP_EINVAL, WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_merge_texts(const char *const *texts, size_t n,
                                      unsigned flags, wsp_report **out,
                                      char *err, size_t errlen);
/* Frees a report (NULL is fine); its campaigns and files are untouched. */
WSP_EXTERN void wsp_report_free(wsp_report *r);

/*
 * Writes the report in `format` to `write` as it is made (JSON: one call
 * per probe; the others in pieces of at most 64 KiB), so that memory stays
 * small however many probes there are. `flags`: WSP_REPORT_SHOW_SECRETS.
 *
 * Errors: WSP_EIO (`write` failed; it is not called again), WSP_EJSON or
 * WSP_EMERGE (a report read back changed on disk since), WSP_EINVAL (a NULL
 * argument, an unknown format), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_write(const wsp_report *r, wsp_report_format format,
                                unsigned flags, wsp_write_cb write,
                                void *user_data);
/*
 * The same into a malloc'd string, freed with wsp_free().
 *
 * Errors: those of wsp_report_write() but WSP_EIO (a string that cannot
 * grow is WSP_ENOMEM): WSP_EJSON, WSP_EMERGE, WSP_EINVAL, WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_string(const wsp_report *r, wsp_report_format format,
                                 unsigned flags, char **out);
/*
 * The same into the file at `path` ("-": standard output). A regular file
 * is written beside `path` and renamed into place when complete, so that
 * nobody reads half a report; a pipe or a device is written to directly.
 * On failure `err` (may be NULL) says why ("cannot write PATH: reason").
 *
 * Errors: WSP_EIO (the file cannot be written), WSP_EINVAL (a NULL argument)
 * and those of wsp_report_write(): WSP_EJSON, WSP_EMERGE, WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_save(const wsp_report *r, wsp_report_format format,
                               unsigned flags, const char *path, char *err,
                               size_t errlen);
/*
 * Whether wsp_report_save() could write `path`: 0, or WSP_EIO with the
 * reason in `err` (may be NULL). Lets a caller refuse an unwritable path
 * before a long run rather than after it.
 *
 * Errors: WSP_EIO (it cannot be written), WSP_EINVAL (NULL or ""),
 * WSP_ENOMEM.
 */
WSP_EXTERN int wsp_report_path_check(const char *path, char *err,
                                     size_t errlen);

/* The report's verdict: the decision every format states. */
WSP_EXTERN wsp_verdict wsp_report_verdict(const wsp_report *r);
/* "pass", "fail" or "partial"; NULL when out of range. */
WSP_EXTERN const char *wsp_verdict_name(wsp_verdict v);
/*
 * The exit code a program states the verdict with, as the CLI does and
 * schedulers read it: 0 pass, 1 failed probes, 4 partial.
 *
 * Errors: none: it is an exit code, never negative.
 */
WSP_EXTERN int wsp_verdict_exit_code(wsp_verdict v);
/* Probes the report holds. */
WSP_EXTERN uint64_t wsp_report_total(const wsp_report *r);
/* Of those, the ones whose outcome is ok. */
WSP_EXTERN uint64_t wsp_report_passed(const wsp_report *r);
/* The campaign's fingerprint (wsp_campaign_fingerprint()), owned by the
 * report; "" for a report read back that carries none. */
WSP_EXTERN const char *wsp_report_fingerprint(const wsp_report *r);
/*
 * The shards a partial merge lacks: their indexes into `out` (up to
 * `cap`, ascending); returns how many there are (0 for a complete report).
 */
WSP_EXTERN size_t wsp_report_missing_shards(const wsp_report *r, uint32_t *out,
                                            size_t cap);

/* ------------------------------------------------------------------------ */
/* Options and plans                                                        */
/* ------------------------------------------------------------------------ */

/*
 * Every option of the CLI, with its bindings' keyword, its value, its
 * default and its help, is one entry of a table in the library. The CLI
 * parses its command line by this table, the Python binding takes its
 * keywords from it, and the man page is checked against it; a plan
 * (wsp_plan) turns the values given, by name, into a config and a campaign
 * with every check the CLI makes. Entries only grow; their names never
 * change meaning.
 */
typedef struct wsp_option wsp_option;

/* What an option's value is, and how a plan parses it. */
typedef enum {
  WSP_OPTION_FLAG,    /* No value: given or not. */
  WSP_OPTION_UINT,    /* A decimal integer in a range (wsp_option_text()). */
  WSP_OPTION_NUMBER,  /* A decimal number, e.g. a rate. */
  WSP_OPTION_SECONDS, /* Seconds (to the ms, "1.5"); by keyword: integer ms. */
  WSP_OPTION_TEXT,    /* Any text. */
  WSP_OPTION_FILE,    /* A file read when the plan is built. */
  WSP_OPTION_OUTPUT,  /* A file written after the run; "-": stdout. */
  WSP_OPTION_LIST,    /* Comma-separated integers in a range. */
  WSP_OPTION_PAIR,    /* Two integers around a separator ("0:500"). */
  WSP_OPTION_CHOICE   /* One of a few words. */
} wsp_option_type;

/* Properties of an option (bit flags, wsp_option_flags()). */
typedef enum {
  WSP_OPTION_REPEATABLE = 1 << 0, /* Each use adds a value. */
  WSP_OPTION_OPTIONAL = 1 << 1,   /* The value may be left out. */
  WSP_OPTION_PROBE = 1 << 2,      /* Sets the probe's config. */
  WSP_OPTION_CAMPAIGN = 1 << 3,   /* Sets the campaign. */
  WSP_OPTION_REPORT = 1 << 4,     /* Sets where reports go. */
  WSP_OPTION_FRONT_END = 1 << 5,  /* The front end's own (help, quiet...). */
  WSP_OPTION_SECRET = 1 << 6,     /* The value is a secret: never echoed. */
  WSP_OPTION_NEGATIVE = 1 << 7,   /* A flag whose keyword names the
                                     opposite: keyword=false gives it. */
  WSP_OPTION_MERGE = 1 << 8,      /* Also an option of a merge of reports
                                     (wsp_plan_new_merge()). */
  WSP_OPTION_MERGE_ONLY = 1 << 9  /* Only an option of a merge: a plan
                                     that runs probes refuses it. */
} wsp_option_flag;

/* The texts of an option (wsp_option_text()). */
typedef enum {
  WSP_OPTION_NAME,     /* "count": the CLI's --count. */
  WSP_OPTION_KEYWORD,  /* "count": the bindings' keyword, or NULL. */
  WSP_OPTION_METAVAR,  /* "N": what the value is called; NULL for flags. */
  WSP_OPTION_HELP,     /* What it does, one paragraph. */
  WSP_OPTION_DEFAULT,  /* The default as the CLI would take it, or NULL. */
  WSP_OPTION_GROUP,    /* The section of the help and the man page. */
  WSP_OPTION_RANGE,    /* "1-10000000" for numbers, else NULL. */
  WSP_OPTION_CHOICES,  /* "subprotocol bearer query" for choices. */
  WSP_OPTION_SEPARATOR /* ":" or "/" for pairs, else NULL. */
} wsp_option_field;

/* Number of options in the table. */
WSP_EXTERN size_t wsp_option_count(void);
/* Option `i` (0..wsp_option_count() - 1) in help order, or NULL. */
WSP_EXTERN const wsp_option *wsp_option_at(size_t i);
/* The option whose long name or keyword is `name`, or NULL. */
WSP_EXTERN const wsp_option *wsp_option_find(const char *name);
/* The option whose one-letter name is `c` ('n' for -n), or NULL. */
WSP_EXTERN const wsp_option *wsp_option_find_short(int c);
/* A text of the option (static storage), or NULL when it has none. */
WSP_EXTERN const char *wsp_option_text(const wsp_option *o,
                                       wsp_option_field field);
/*
 * The one-letter name ('n'), or 0.
 *
 * Errors: none: 0 says it has none.
 */
WSP_EXTERN int wsp_option_short(const wsp_option *o);
/* How the value is parsed. */
WSP_EXTERN wsp_option_type wsp_option_type_of(const wsp_option *o);
/* Its wsp_option_flag bits. */
WSP_EXTERN unsigned int wsp_option_flags(const wsp_option *o);

/*
 * A plan: option values given by name, checked one by one as they are
 * given and together when the plan is built, exactly as the CLI checks
 * them. A plan either runs probes (wsp_plan_new(), then wsp_plan_build())
 * or merges reports (wsp_plan_new_merge(), then wsp_plan_merge()), and
 * takes the options of that command only; either way
 * wsp_plan_save_reports() writes the reports its options ask for. Owned by
 * the caller; wsp_plan_free().
 */
typedef struct wsp_plan wsp_plan;

/*
 * Makes an empty plan that runs probes (the CLI's `wsprobe URL`): it takes
 * every option but those flagged WSP_OPTION_MERGE_ONLY.
 *
 * Errors: WSP_EINVAL (out is NULL), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_plan_new(wsp_plan **out);
/*
 * Makes an empty plan that merges reports (the CLI's `wsprobe merge`): it
 * takes only the options flagged WSP_OPTION_MERGE (the reports to write,
 * show-secrets, allow-partial, and the front end's own) and no URL.
 *
 * Errors: WSP_EINVAL (out is NULL), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_plan_new_merge(wsp_plan **out);
/* Frees a plan (NULL is fine). */
WSP_EXTERN void wsp_plan_free(wsp_plan *p);
/*
 * A one-line description of the last error a call on `p` returned, or "".
 * It names the option as the CLI does ("--count: ...") or, after
 * wsp_plan_use_keywords(), by keyword ("count: ..."). It never holds a
 * value of a secret option.
 */
WSP_EXTERN const char *wsp_plan_last_error(const wsp_plan *p);
/*
 * Non-zero: messages name options by their keywords, as a binding would.
 *
 * Errors: WSP_EINVAL: p is NULL.
 */
WSP_EXTERN int wsp_plan_use_keywords(wsp_plan *p, int keywords);
/*
 * The target URL (ws:// or wss://), checked when the plan is built.
 *
 * Errors: WSP_EURL (NULL), WSP_ESTATE (a merge takes no URL), WSP_EINVAL (p
 * is NULL), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_plan_set_url(wsp_plan *p, const char *url);
/*
 * The environment the plan takes a scheduler's shard from when the shard
 * option is not given ("NAME=VALUE" strings, NULL-terminated, as environ;
 * see wsp_shard_from_environment()). Only its shard variables are copied.
 * Without this call a plan reads no environment. The plan refuses a
 * campaign of several shards without the seed option.
 *
 * Errors: WSP_EINVAL (p is NULL), WSP_ESTATE (built), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_plan_set_environment(wsp_plan *p, const char *const *envp);
/*
 * Gives the option called `name` (long name or keyword) the text `value`
 * (NULL for a flag, or an optional value left out). The value is parsed
 * now; a repeatable option adds a value, any other takes the last one.
 * Front-end options (help, quiet, ...) are only recorded.
 *
 * Errors: WSP_ENOTFOUND (no option is called name), WSP_ESTATE (the plan was
 * built or merged), WSP_EINVAL (p is NULL, an option of the other command, a
 * value given to a flag or missing, a value not of the option's form, a NUL
 * byte), WSP_ERANGE (a number out of the option's range, too many list
 * entries), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_plan_set(wsp_plan *p, const char *name, const char *value);
/*
 * Like wsp_plan_set() with a value of `len` bytes that may hold NULs: the
 * first message (send) as bytes, a step such as "binary:" + bytes.
 *
 * Errors: those of wsp_plan_set(), and WSP_EINVAL for a NULL value or NUL
 * bytes in an option that takes text: WSP_ENOTFOUND, WSP_ESTATE, WSP_EINVAL,
 * WSP_ERANGE, WSP_ENOMEM.
 */
WSP_EXTERN int wsp_plan_set_bytes(wsp_plan *p, const char *name,
                                  const void *value, size_t len);
/* How many values the option called `name` was given (0: not given). */
WSP_EXTERN size_t wsp_plan_given(const wsp_plan *p, const char *name);
/* The last value given to the option called `name`, or NULL. */
WSP_EXTERN const char *wsp_plan_value(const wsp_plan *p, const char *name);
/*
 * Checks the options together (what excludes or needs what), builds the
 * config and the campaign, checks the limits of open files
 * (wsp_campaign_check_limits()) and the report paths given
 * (wsp_plan_check_reports()), so that a report that cannot be written is
 * refused before anything runs. *out receives the campaign
 * (wsp_campaign_close()). Once per plan.
 *
 * Errors: WSP_EINVAL (a NULL argument, options that exclude or need each
 * other, a file that cannot be read), WSP_EURL (no URL, or an invalid one),
 * WSP_ESTATE (built before, a merge plan, or a campaign setting its mode
 * would ignore), WSP_ERANGE (too few open files allowed, or a setter's
 * range), WSP_EIO (a report path that cannot be written: the only cause of
 * WSP_EIO here), WSP_ETOOLONG (a key file over 1 MiB), those of the setters
 * the options call (WSP_EHEADER, WSP_ESUBPROTO, WSP_ETOKEN, WSP_EJSON,
 * WSP_EEXPECT), and WSP_ENOMEM.
 */
WSP_EXTERN int wsp_plan_build(wsp_plan *p, wsp_campaign **out);
/*
 * What a build would run, without running or opening anything: a JSON
 * object with the url, the config (secrets redacted unless show-secrets
 * was given), the campaign's settings, the reports and the open files
 * needed. The CLI's --dry-run prints it. A malloc'd string (wsp_free()).
 *
 * Errors: those of wsp_plan_build(), where WSP_ESTATE only means a merge
 * plan: WSP_EINVAL, WSP_EURL, WSP_ESTATE, WSP_ERANGE, WSP_EIO (a report
 * path that cannot be written), WSP_ETOOLONG, WSP_EHEADER, WSP_ESUBPROTO,
 * WSP_ETOKEN, WSP_EJSON, WSP_EEXPECT, WSP_ENOMEM.
 */
WSP_EXTERN int wsp_plan_to_json(wsp_plan *p, char **out);
/*
 * Whether every report the plan asks for (json, html, junit) could be
 * written (wsp_report_path_check()), without creating any: a run or a
 * merge calls it first, so that a path that cannot be written is refused
 * before a long run or a long read, not after. The message names the
 * option ("--html: cannot write PATH: reason").
 *
 * Errors: WSP_EIO (a path that cannot be written), WSP_EINVAL (p is NULL),
 * WSP_ENOMEM.
 */
WSP_EXTERN int wsp_plan_check_reports(wsp_plan *p);
/*
 * Merges the JSON reports at `paths` (wsp_report_merge_files(), with
 * WSP_MERGE_ALLOW_PARTIAL when allow-partial was given) into *out, freed
 * with wsp_report_free(); one report alone is read as it is. The report
 * paths are not checked here: call wsp_plan_check_reports() first, as the
 * CLI does, to tell an unwritable report from a refused merge. Once per
 * plan.
 *
 * Errors: WSP_ESTATE (a plan that runs probes, or merged before), WSP_EINVAL
 * (a NULL argument, no paths), and those of wsp_report_merge_files(), with
 * its message: WSP_EMERGE (refused: another campaign, a shard missing or
 * twice, ...), WSP_EJSON (not a report in wsprobe's layout), WSP_EIO (a
 * report that cannot be read), WSP_ENOMEM.
 */
WSP_EXTERN int wsp_plan_merge(wsp_plan *p, const char *const *paths, size_t n,
                              wsp_report **out);
/*
 * Writes report `r` (of a campaign built from the plan, or of its merge)
 * in every format the plan asks for, to its path (wsp_report_save(): "-"
 * is standard output; a file appears whole, or not at all). The JSON
 * report shows secrets only with show-secrets; HTML and JUnit never do.
 * A report that cannot be written does not stop the others: the first
 * failure is returned, its message naming the option and the file.
 *
 * Errors: WSP_EIO (a report could not be written), WSP_EINVAL (a NULL
 * argument), and those of wsp_report_write(): WSP_EJSON, WSP_EMERGE,
 * WSP_ENOMEM.
 */
WSP_EXTERN int wsp_plan_save_reports(wsp_plan *p, const wsp_report *r);

#ifdef __cplusplus
}
#endif
#endif /* WSPROBE_H */
