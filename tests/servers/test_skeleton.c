/*
 * The fixture skeleton's own computations: the RFC 6455 sample of
 * Sec-WebSocket-Accept, and token lists as HTTP writes them.
 */
#include "../check.h"
#include "skeleton.h"

int main(void) {
  char accept[FX_ACCEPT_LEN + 1];
  CHECK_INT(fx_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", accept), 0);
  CHECK_STR(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(fx_has_token("keep-alive, Upgrade", "upgrade"));
  CHECK(fx_has_token("Upgrade", "upgrade"));
  CHECK(fx_has_token(" a ,\tUPGRADE\t", "upgrade"));
  CHECK(!fx_has_token("upgraded, x", "upgrade"));
  CHECK(!fx_has_token("", "upgrade"));
  CHECK(!fx_has_token(NULL, "upgrade"));
  return check_status("test_skeleton");
}
