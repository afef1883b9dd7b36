/*
 * libFuzzer target: the upgrade response parser, as the probe drives it.
 *
 * Input: a control byte, two bytes giving a split point, then the
 * response. The response is fed in two parts at the split point, the
 * second in pieces of 1-16 bytes when the control byte says so (as TCP
 * may deliver it), then the end of the stream when the parser still wants
 * more. Bit 2 of the control byte offers permessage-deflate. The key is
 * the RFC 6455 sample, so a seed with
 * "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" opens.
 */
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "upgrade.h"

static const char *const offered[] = {"chat", "superchat", "jwt.abc.def.ghi"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wsp__upgrade *up;
  wsp__up_state st = WSP__UP_MORE, again;
  size_t split, off = 0, total = 0, used;
  uint8_t ctl;
  if (size < 3)
    return 0;
  ctl = data[0];
  split = ((size_t)data[1] << 8) | data[2];
  data += 3;
  size -= 3;
  split %= size + 1;

  up = malloc(sizeof(*up));
  FUZZ_CHECK(up != NULL);
  FUZZ_CHECK(
      wsp__upgrade_init(up, "dGhlIHNhbXBsZSBub25jZQ==", offered, ctl & 3) == 0);
  FUZZ_CHECK(strcmp(up->accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
  up->offer_deflate = (ctl & 4) != 0;
  while (st == WSP__UP_MORE && off < size) {
    size_t n = off < split ? split - off : size - off;
    if (off >= split && (ctl & 0x80))
      n = n < (size_t)(ctl >> 3 & 15) + 1 ? n : (size_t)(ctl >> 3 & 15) + 1;
    st = wsp__upgrade_parse(up, data + off, n, &used);
    FUZZ_CHECK(used <= n);
    if (st == WSP__UP_MORE)
      FUZZ_CHECK(used == n);
    total += used;
    off += n;
  }
  if (st == WSP__UP_MORE)
    st = wsp__upgrade_eof(up);
  FUZZ_CHECK(st != WSP__UP_MORE);
  /* A decided parser stays decided and takes nothing more. */
  again = wsp__upgrade_parse(up, (const uint8_t *)"x", 1, &used);
  FUZZ_CHECK(again == st && used == 0);
  FUZZ_CHECK(wsp__upgrade_eof(up) == st);

  switch (st) {
  case WSP__UP_OPEN:
    FUZZ_CHECK(up->status == 101 && up->headers_done);
    FUZZ_CHECK(up->h[WSP__H_ACCEPT] != NULL &&
               strcmp(up->h[WSP__H_ACCEPT], up->accept) == 0);
    /* An extension only when offered, and then agreed within RFC 7692. */
    FUZZ_CHECK(up->h[WSP__H_EXTENSIONS] == NULL ||
               (up->offer_deflate && up->pmd.on));
    FUZZ_CHECK(!up->pmd.on || (up->pmd.server_bits >= WSP__PMD_MIN_BITS &&
                               up->pmd.server_bits <= WSP__PMD_MAX_BITS &&
                               up->pmd.client_bits >= WSP__PMD_MIN_BITS &&
                               up->pmd.client_bits <= WSP__PMD_MAX_BITS));
    /* The header limit holds however the bytes arrived. */
    FUZZ_CHECK(total <= WSP__MAX_HEADER_BYTES);
    if (up->h[WSP__H_PROTOCOL] != NULL) {
      size_t i;
      for (i = 0; i < (size_t)(ctl & 3); i++)
        if (strcmp(offered[i], up->h[WSP__H_PROTOCOL]) == 0)
          break;
      FUZZ_CHECK(i < (size_t)(ctl & 3));
    }
    break;
  case WSP__UP_REJECTED:
    FUZZ_CHECK(up->headers_done && up->status != 101);
    FUZZ_CHECK(up->body_len <= sizeof(up->body));
    break;
  case WSP__UP_INVALID:
    FUZZ_CHECK(up->err[0] != '\0' && memchr(up->err, '\0', sizeof(up->err)));
    break;
  default:
    FUZZ_CHECK(0);
  }
  FUZZ_CHECK(up->reason_len < sizeof(up->reason) &&
             up->reason[up->reason_len] == '\0');
  wsp__upgrade_clear(up);
  free(up);
  return 0;
}
