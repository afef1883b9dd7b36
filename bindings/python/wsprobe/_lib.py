"""Loading libwsprobe.so and declaring the prototypes the binding calls.

Every function used is declared here with its argtypes and restype; opaque
handles (wsp_plan *, wsp_campaign *, wsp_report *, wsp_result *,
wsp_option *) are c_void_p, so no struct layout of the library is known to
Python. Strings the library allocates for the caller come back as c_void_p
(not c_char_p, which would copy and lose the pointer) and are released with
wsp_free().
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from ctypes import (POINTER, c_char_p, c_int, c_size_t, c_uint, c_uint32,
                    c_uint64, c_void_p)

SONAME = "libwsprobe.so.0"

# bindings/python/wsprobe/_lib.py -> the repository root.
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _candidates() -> list[tuple[str, str]]:
    """(where it came from, path or name) in the order they are tried."""
    env = os.environ.get("WSPROBE_LIBRARY")
    if env:
        # Named by the user: that library or none. Falling back to another
        # one would run tests against a library nobody asked for.
        return [("WSPROBE_LIBRARY", env)]
    found: list[tuple[str, str]] = []
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
        # A path that does not exist is not worth a dlopen().
        if origin != "system" and not os.path.exists(path):
            tried.append("%s (%s): no such file" % (path, origin))
            continue
        try:
            # CDLL (not PyDLL): the GIL is released during every call.
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s): %s" % (path, origin, e))
    if os.environ.get("WSPROBE_LIBRARY"):
        raise ImportError("cannot load libwsprobe from WSPROBE_LIBRARY: "
                          + tried[0])
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
_out = POINTER(c_void_p)

_proto("wsp_version", c_uint)
_proto("wsp_version_string", c_char_p)
_proto("wsp_strerror", c_char_p, c_int)
_proto("wsp_err_name", c_char_p, c_int)
_proto("wsp_outcome_name", c_char_p, c_int)
_proto("wsp_phase_name", c_char_p, c_int)
_proto("wsp_phase_rank", c_int, c_int)
_proto("wsp_free", None, _vp)
_proto("wsp_jwt_sign", c_int, c_int, c_char_p, c_size_t, c_char_p,
       ctypes.c_int64, c_uint32, _out)
_proto("wsp_jwt_alg_from_name", c_int, c_char_p)

_proto("wsp_option_count", c_size_t)
_proto("wsp_option_at", _vp, c_size_t)
_proto("wsp_option_text", c_char_p, _vp, c_int)
_proto("wsp_option_short", c_int, _vp)
_proto("wsp_option_type_of", c_int, _vp)
_proto("wsp_option_flags", c_uint, _vp)

_proto("wsp_plan_new", c_int, _out)
_proto("wsp_plan_new_merge", c_int, _out)
_proto("wsp_plan_free", None, _vp)
_proto("wsp_plan_last_error", c_char_p, _vp)
_proto("wsp_plan_use_keywords", c_int, _vp, c_int)
_proto("wsp_plan_set_url", c_int, _vp, c_char_p)
_proto("wsp_plan_set_environment", c_int, _vp, POINTER(c_char_p))
_proto("wsp_plan_set", c_int, _vp, c_char_p, c_char_p)
_proto("wsp_plan_set_bytes", c_int, _vp, c_char_p, c_char_p, c_size_t)
_proto("wsp_plan_build", c_int, _vp, _out)
_proto("wsp_plan_to_json", c_int, _vp, _out)
_proto("wsp_plan_check_reports", c_int, _vp)
_proto("wsp_plan_merge", c_int, _vp, POINTER(c_char_p), c_size_t, _out)
_proto("wsp_plan_save_reports", c_int, _vp, _vp)

_proto("wsp_result_to_json", c_int, _vp, _out)

_proto("wsp_campaign_close", c_int, _vp)
_proto("wsp_campaign_last_error", c_char_p, _vp)
_proto("wsp_campaign_run", c_int, _vp)
_proto("wsp_campaign_interrupt", None, _vp)
_proto("wsp_campaign_interrupted", c_int, _vp)
_proto("wsp_campaign_result_count", c_size_t, _vp)
_proto("wsp_campaign_result", _vp, _vp, c_size_t)
_proto("wsp_campaign_seed", c_uint64, _vp)
_proto("wsp_report_new", c_int, _vp, _out)
_proto("wsp_report_free", None, _vp)
_proto("wsp_report_string", c_int, _vp, c_int, c_uint, _out)
_proto("wsp_report_verdict", c_int, _vp)
_proto("wsp_verdict_name", c_char_p, c_int)
_proto("wsp_verdict_exit_code", c_int, c_int)
_proto("wsp_report_missing_shards", c_size_t, _vp, POINTER(c_uint32),
       c_size_t)


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
_PHASE_NAMES = _names(lib.wsp_phase_name)
# In a probe's order (wsp_phase_rank()): proxy, last in the C enum for the
# ABI, comes after connect.
PHASES: tuple[str, ...] = tuple(sorted(
    _PHASE_NAMES, key=lambda n: lib.wsp_phase_rank(_PHASE_NAMES.index(n))))
VERDICTS: tuple[str, ...] = _names(lib.wsp_verdict_name)
