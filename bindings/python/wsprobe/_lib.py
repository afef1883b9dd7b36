"""Loading libwsprobe.so and declaring the prototypes the binding calls.

Every function used is declared here with its argtypes and restype; opaque
handles (wsp_config *, wsp_result *, wsp_campaign *) are c_void_p, so no
struct layout of the library is known to Python. Strings the library
allocates for the caller come back as c_void_p (not c_char_p, which would
copy and lose the pointer) and are released with wsp_free().
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from ctypes import (POINTER, c_char_p, c_double, c_int, c_size_t, c_uint,
                    c_uint32, c_uint64, c_void_p)

SONAME = "libwsprobe.so.0"

# bindings/python/wsprobe/_lib.py -> the repository root.
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _candidates() -> list[tuple[str, str]]:
    """(where it came from, path or name) in the order they are tried."""
    found: list[tuple[str, str]] = []
    env = os.environ.get("WSPROBE_LIBRARY")
    if env:
        found.append(("WSPROBE_LIBRARY", env))
    build = os.path.join(_REPO, "build", "lib", SONAME)
    found.append(("build tree", build))
    for path in sorted(glob.glob(os.path.join(_REPO, "build*", "lib",
                                              SONAME))):
        if path != build:
            found.append(("build tree", path))
    name = ctypes.util.find_library("wsprobe")
    if name and name != SONAME:
        found.append(("system", name))
    found.append(("system", SONAME))
    return found


def _load() -> tuple[ctypes.CDLL, str]:
    tried = []
    for origin, path in _candidates():
        # A build-tree path that does not exist is not worth a dlopen().
        if origin == "build tree" and not os.path.exists(path):
            tried.append("%s (%s): no such file" % (path, origin))
            continue
        try:
            # CDLL (not PyDLL): the GIL is released during every call.
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s): %s" % (path, origin, e))
    raise ImportError(
        "cannot load libwsprobe; set WSPROBE_LIBRARY to the library's path. "
        "Tried:\n  " + "\n  ".join(tried))


lib, path = _load()


def _proto(name: str, restype, *argtypes) -> None:
    try:
        fn = getattr(lib, name)
    except AttributeError:
        raise ImportError("%s has no %s(): too old a libwsprobe" %
                          (path, name)) from None
    fn.restype = restype
    fn.argtypes = list(argtypes)


_vp = c_void_p

_proto("wsp_version", c_uint)
_proto("wsp_version_string", c_char_p)
_proto("wsp_strerror", c_char_p, c_int)
_proto("wsp_err_name", c_char_p, c_int)
_proto("wsp_outcome_name", c_char_p, c_int)
_proto("wsp_phase_name", c_char_p, c_int)
_proto("wsp_free", None, _vp)

_proto("wsp_config_new", _vp)
_proto("wsp_config_free", None, _vp)
_proto("wsp_config_last_error", c_char_p, _vp)
_proto("wsp_config_set_url", c_int, _vp, c_char_p)
_proto("wsp_config_add_header", c_int, _vp, c_char_p, c_char_p)
_proto("wsp_config_add_subprotocol", c_int, _vp, c_char_p)
_proto("wsp_config_set_jwt", c_int, _vp, c_char_p, c_uint)
_proto("wsp_config_set_origin", c_int, _vp, c_char_p)
_proto("wsp_config_set_message", c_int, _vp, c_char_p, c_size_t, c_int)
_proto("wsp_config_set_delay", c_int, _vp, c_uint32)
_proto("wsp_config_set_hold", c_int, _vp, c_uint32)
_proto("wsp_config_add_expect", c_int, _vp, c_char_p)
_proto("wsp_config_set_expect_order", c_int, _vp, c_int)
_proto("wsp_config_add_step_send", c_int, _vp, c_char_p, c_size_t, c_int)
_proto("wsp_config_add_step_expect", c_int, _vp, c_char_p, c_uint32)
_proto("wsp_config_add_step_wait", c_int, _vp, c_uint32)
_proto("wsp_config_add_step_close", c_int, _vp, ctypes.c_uint16, c_char_p)
_proto("wsp_config_set_timeout", c_int, _vp, c_int, c_uint32)
_proto("wsp_config_set_timeouts", c_int, _vp, c_uint32)
_proto("wsp_config_set_ca_file", c_int, _vp, c_char_p)
_proto("wsp_config_set_insecure", c_int, _vp, c_int)
_proto("wsp_config_set_tls_resume", c_int, _vp, c_int)

_proto("wsp_result_free", None, _vp)
_proto("wsp_result_to_json", c_int, _vp, POINTER(c_void_p))
_proto("wsp_probe_run", c_int, _vp, POINTER(c_void_p))

_proto("wsp_campaign_new", c_int, _vp, POINTER(c_void_p))
_proto("wsp_campaign_free", c_int, _vp)
_proto("wsp_campaign_set_count", c_int, _vp, c_uint32)
_proto("wsp_campaign_set_concurrency", c_int, _vp, c_uint32)
_proto("wsp_campaign_set_rate", c_int, _vp, c_double)
_proto("wsp_campaign_set_duration", c_int, _vp, c_uint32)
_proto("wsp_campaign_set_burst", c_int, _vp, c_int)
_proto("wsp_campaign_set_delays", c_int, _vp, POINTER(c_uint32), c_size_t,
       c_uint32)
_proto("wsp_campaign_set_window_search", c_int, _vp, c_uint32, c_uint32,
       c_uint32, c_uint32)
_proto("wsp_campaign_set_seed", c_int, _vp, c_uint64)
_proto("wsp_campaign_set_jitter", c_int, _vp, c_uint32)
_proto("wsp_campaign_validate", c_int, _vp, c_char_p, c_size_t)
_proto("wsp_campaign_run", c_int, _vp)
_proto("wsp_report_json", c_int, _vp, c_int, POINTER(c_void_p))
_proto("wsp_report_text", c_int, _vp, POINTER(c_void_p))


# The oldest library with every function above; soname 0 only adds.
MIN_VERSION = 0x000100
if lib.wsp_version() < MIN_VERSION:
    raise ImportError("%s is wsprobe %s; this binding needs 0.1.0 or later"
                      % (path, lib.wsp_version_string().decode("ascii")))


def take_string(ptr: c_void_p) -> str:
    """Decodes a string the library allocated for us, then frees it."""
    if not ptr.value:
        raise MemoryError("wsprobe returned no string")
    try:
        return ctypes.string_at(ptr.value).decode("utf-8")
    finally:
        lib.wsp_free(ptr)


def _names(fn) -> tuple[str, ...]:
    out = []
    while True:
        name = fn(len(out))
        if name is None:
            return tuple(out)
        out.append(name.decode("ascii"))


# Asked of the loaded library, so a newer library's names appear here too.
OUTCOMES: tuple[str, ...] = _names(lib.wsp_outcome_name)
PHASES: tuple[str, ...] = _names(lib.wsp_phase_name)
