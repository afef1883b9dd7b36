"""wsprobe: probe WebSocket servers for race conditions, from Python.

A pure-Python ctypes binding over libwsprobe.so: no compiled extension. The
library is found through the environment variable ``WSPROBE_LIBRARY``, then
the build tree next to these sources (``build*/lib/libwsprobe.so.0``), then
the system's library path; when none loads, ``import wsprobe`` raises an
ImportError that names every path it tried.

Every probe ends in exactly one outcome (``"ok"``, ``"closed_by_server"``,
``"handshake_rejected"``, ...; see ``OUTCOMES``) together with the phase it
happened in (``PHASES``); only ``"ok"`` passes. A failed probe is a
:class:`Result`, never an exception. Only a bad configuration raises:
:class:`ConfigError`, with the library's own one-line message.

Probes block the calling thread but release the GIL (ctypes does so for every
foreign call), so probes in several Python threads run in parallel.

    import wsprobe
    r = wsprobe.probe("ws://127.0.0.1:8765/agent", send='{"type":"run"}',
                      expect=["agent_completed"], timeout_ms=2000)
    assert r.passed, r
"""
from __future__ import annotations

import copy
import ctypes
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from . import _lib
from ._lib import OUTCOMES, PHASES

__all__ = ["probe", "campaign", "Result", "Report", "Error", "ConfigError",
           "OUTCOMES", "PHASES", "library_path", "library_version"]

__version__ = "0.1.0"

_c = _lib.lib
_UINT32_MAX = 0xFFFFFFFF

#: Path (or name) of the libwsprobe that was loaded.
library_path: str = _lib.path

Headers = Union[Mapping[str, str], Iterable[tuple[str, str]]]
CloseFrame = tuple[int, Union[str, bytes]]

_JWT_PLACEMENTS = {"subprotocol": 1, "bearer": 2, "query": 4}


def library_version() -> str:
    """The version of the loaded library, "major.minor.patch"."""
    return _c.wsp_version_string().decode("ascii")


class Error(Exception):
    """A call into wsprobe failed. ``code`` is the library's negative error
    code (0 when the binding refused the input itself) and ``name`` its name
    ("WSP_EURL", "ENOMEM", ...)."""

    def __init__(self, message: str, code: int = 0):
        super().__init__(message)
        self.code = code
        self.name = _c.wsp_err_name(code).decode("ascii") if code else None


class ConfigError(Error, ValueError):
    """A probe or campaign option was refused; the message says why."""


def _strerror(rc: int) -> str:
    return "%s (%s)" % (_c.wsp_strerror(rc).decode("utf-8", "replace"),
                        _c.wsp_err_name(rc).decode("ascii"))


def _cstr(value: Any, what: str) -> bytes:
    """A Python string as a C string; NUL would silently cut it short."""
    if isinstance(value, bytes):
        b = value
    elif isinstance(value, str):
        try:
            b = value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ConfigError("%s is not valid Unicode: %s" % (what, e))
    else:
        raise TypeError("%s must be str, not %s" % (what, type(value).__name__))
    if b"\0" in b:
        raise ConfigError("%s contains a NUL character" % what)
    return b


def _u32(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (what,
                                                       type(value).__name__))
    if not 0 <= value <= _UINT32_MAX:
        raise ConfigError("%s must be between 0 and %d, not %d" %
                          (what, _UINT32_MAX, value))
    return value


class _Config:
    """An owned wsp_config *, freed on exit."""

    def __init__(self) -> None:
        self.ptr = _c.wsp_config_new()
        if not self.ptr:
            raise MemoryError("wsp_config_new")

    def __enter__(self) -> "_Config":
        return self

    def __exit__(self, *exc: Any) -> None:
        _c.wsp_config_free(self.ptr)
        self.ptr = None

    def check(self, rc: int) -> None:
        if rc != 0:
            msg = _c.wsp_config_last_error(self.ptr).decode("utf-8", "replace")
            raise ConfigError(msg or _strerror(rc), rc)


def _configure(cfg: _Config, url: str, *,
               subprotocols: Iterable[str] = (),
               headers: Headers = {},
               jwt: Optional[str] = None,
               jwt_placement: Iterable[str] = ("subprotocol",),
               send: Union[str, bytes, None] = None,
               binary: bool = False,
               delay_ms: int = 0,
               hold_ms: Optional[int] = None,
               expect: Iterable[str] = (),
               expect_order: bool = False,
               timeout_ms: Union[int, Mapping[str, int], None] = None,
               cacert: Optional[str] = None,
               insecure: bool = False,
               tls_resume: bool = True,
               origin: Optional[str] = None,
               steps: Iterable[tuple] = ()) -> None:
    p = cfg.ptr
    cfg.check(_c.wsp_config_set_url(p, _cstr(url, "url")))
    if isinstance(subprotocols, (str, bytes)):
        subprotocols = (subprotocols,)
    for proto in subprotocols:
        cfg.check(_c.wsp_config_add_subprotocol(p, _cstr(proto,
                                                         "subprotocol")))
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        cfg.check(_c.wsp_config_add_header(p, _cstr(name, "header name"),
                                           _cstr(value, "header value")))
    if jwt is not None:
        if isinstance(jwt_placement, str):
            jwt_placement = (jwt_placement,)
        mask = 0
        for place in jwt_placement:
            if place not in _JWT_PLACEMENTS:
                raise ConfigError("unknown JWT placement %r (one of %s)" %
                                  (place, ", ".join(_JWT_PLACEMENTS)))
            mask |= _JWT_PLACEMENTS[place]
        cfg.check(_c.wsp_config_set_jwt(p, _cstr(jwt, "jwt"), mask))
    if origin is not None:
        cfg.check(_c.wsp_config_set_origin(p, _cstr(origin, "origin")))
    if send is not None:
        if isinstance(send, str):
            data = send.encode("utf-8", "surrogatepass")
        elif isinstance(send, (bytes, bytearray, memoryview)):
            data = bytes(send)
        else:
            raise TypeError("send must be str or bytes, not %s" %
                            type(send).__name__)
        # ctypes passes the bytes object's own buffer: embedded NULs are
        # fine here because the length goes along.
        cfg.check(_c.wsp_config_set_message(p, data, len(data),
                                            1 if binary else 0))
    cfg.check(_c.wsp_config_set_delay(p, _u32(delay_ms, "delay_ms")))
    if hold_ms is not None:
        cfg.check(_c.wsp_config_set_hold(p, _u32(hold_ms, "hold_ms")))
    if isinstance(expect, (str, bytes)):
        expect = (expect,)
    for event in expect:
        cfg.check(_c.wsp_config_add_expect(p, _cstr(event, "expected event")))
    cfg.check(_c.wsp_config_set_expect_order(p, 1 if expect_order else 0))
    if isinstance(timeout_ms, Mapping):
        for phase, ms in timeout_ms.items():
            if phase not in PHASES:
                raise ConfigError("unknown phase %r in timeout_ms (one of %s)"
                                  % (phase, ", ".join(PHASES)))
            cfg.check(_c.wsp_config_set_timeout(
                p, PHASES.index(phase), _u32(ms, "timeout_ms[%r]" % phase)))
    elif timeout_ms is not None:
        cfg.check(_c.wsp_config_set_timeouts(p, _u32(timeout_ms,
                                                     "timeout_ms")))
    if cacert is not None:
        cfg.check(_c.wsp_config_set_ca_file(p, _cstr(cacert, "cacert")))
    cfg.check(_c.wsp_config_set_insecure(p, 1 if insecure else 0))
    cfg.check(_c.wsp_config_set_tls_resume(p, 1 if tls_resume else 0))
    for step in steps:
        _add_step(cfg, step)


def _add_step(cfg: _Config, step: tuple) -> None:
    """("send", str|bytes), ("expect", type[, ms]), ("wait", ms),
    ("close", code[, reason])."""
    if not isinstance(step, tuple) or not step:
        raise ConfigError("a step is a tuple such as ('send', 'hi'), not %r"
                          % (step,))
    kind, args = step[0], step[1:]
    p = cfg.ptr
    if kind == "send" and len(args) == 1:
        data = args[0]
        binary = isinstance(data, (bytes, bytearray, memoryview))
        data = bytes(data) if binary else str(data).encode("utf-8",
                                                           "surrogatepass")
        cfg.check(_c.wsp_config_add_step_send(p, data, len(data),
                                              1 if binary else 0))
    elif kind == "expect" and len(args) in (1, 2):
        ms = _u32(args[1], "expect timeout") if len(args) == 2 else 0
        cfg.check(_c.wsp_config_add_step_expect(
            p, _cstr(args[0], "expected type"), ms))
    elif kind == "wait" and len(args) == 1:
        cfg.check(_c.wsp_config_add_step_wait(p, _u32(args[0], "wait")))
    elif kind == "close" and len(args) in (1, 2):
        code = args[0]
        if not isinstance(code, int) or not 0 <= code <= 65535:
            raise ConfigError("close code must be an integer, not %r" % (code,))
        reason = _cstr(args[1], "close reason") if len(args) == 2 else None
        cfg.check(_c.wsp_config_add_step_close(p, code, reason))
    else:
        raise ConfigError("unknown step %r: use ('send', data), ('expect', "
                          "type[, ms]), ('wait', ms) or ('close', code[, "
                          "reason])" % (step,))


def _close_frame(obj: Optional[dict]) -> Optional[CloseFrame]:
    if obj is None:
        return None
    if obj.get("reason") is None and "reason_hex" in obj:
        return (obj["code"], bytes.fromhex(obj["reason_hex"]))
    return (obj["code"], obj.get("reason") or "")


@dataclass(frozen=True)
class Result:
    """What one probe found: the fields of the JSON report's probe object
    (docs/report.md). Absent values are None, never 0 or ""."""

    #: One of OUTCOMES; only "ok" passes.
    outcome: str
    #: One of PHASES: where the outcome was decided.
    phase: str
    #: True only when the outcome is "ok".
    passed: bool
    #: The upgrade response's status (101 when it opened), None when none.
    http_status: Optional[int]
    #: Its reason phrase, or None.
    http_reason: Optional[str]
    #: The subprotocol the server selected, or None.
    subprotocol: Optional[str]
    #: The server's close frame as (code, reason), or None. The reason is
    #: bytes when it was not valid UTF-8 on the wire; 1006 means TCP ended
    #: without a close frame.
    close_received: Optional[CloseFrame]
    #: The close frame wsprobe sent, as (code, reason), or None.
    close_sent: Optional[CloseFrame]
    #: Durations in ms: dns, connect, tls, upgrade, first_reply, close, total
    #: (None when either end was never reached).
    timings_ms: dict[str, Optional[float]]
    #: Marks in ms since the probe started (None when never reached).
    timeline_ms: dict[str, Optional[float]]
    #: Number of messages received from the server.
    messages: int
    #: (type, t_ms) of every JSON text message with a string "type".
    events: list[tuple[str, float]]
    #: One line saying what went wrong, None for ok.
    error: Optional[str]
    #: The probe's index within its campaign (0 for a single probe).
    index: int = 0
    #: Scripted probes: the step it ended in (None without steps).
    step: Optional[int] = None
    #: The first-message delay asked for, ms.
    delay_ms: int = 0
    #: The delay achieved: from the 101 response's arrival (the kernel's
    #: receive stamp) to the first message's send, ms; None when nothing
    #: was sent.
    delay_achieved_ms: Optional[float] = None
    #: wss://: version, cipher, alpn, verified, close_notify, resumed and
    #: group of the completed TLS handshake; None without one.
    tls: Optional[dict] = None
    _raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        """Builds a Result from a probe object of the JSON report."""
        close = d.get("close") or {}
        return cls(
            outcome=d["outcome"], phase=d["phase"], passed=d["passed"],
            http_status=d.get("http_status"),
            http_reason=d.get("http_reason"),
            subprotocol=d.get("subprotocol"),
            close_received=_close_frame(close.get("received")),
            close_sent=_close_frame(close.get("sent")),
            timings_ms=dict(d.get("timings_ms") or {}),
            timeline_ms=dict(d.get("timeline_ms") or {}),
            messages=d.get("messages", 0),
            events=[(e["type"], e["t_ms"]) for e in d.get("events", [])],
            error=d.get("error"), index=d.get("index", 0),
            step=d.get("step"), tls=d.get("tls"),
            delay_ms=d.get("delay_ms", 0),
            delay_achieved_ms=d.get("delay_achieved_ms"), _raw=d)

    def to_dict(self) -> dict:
        """The probe object of the JSON report (docs/report.md), a copy."""
        return copy.deepcopy(self._raw)

    @property
    def event_types(self) -> list[str]:
        """The types of the recorded events, in order of arrival."""
        return [t for t, _ in self.events]

    def __str__(self) -> str:
        text = "%s in %s" % (self.outcome, self.phase)
        return text + (": " + self.error if self.error else "")


@dataclass(frozen=True)
class Report:
    """A campaign's JSON report (docs/report.md)."""

    #: The report's "summary": total, passed, failed, outcomes, ...
    summary: dict
    #: Every probe's Result, in probe-index order.
    probes: list[Result]
    #: The whole report as a dict (config, campaign, probes, summary).
    raw: dict = field(repr=False)
    #: The human summary the CLI prints.
    text: str = field(default="", repr=False)

    @property
    def passed(self) -> bool:
        """True when at least one probe ran and every probe passed."""
        return self.summary["total"] > 0 and self.summary["failed"] == 0

    @property
    def campaign(self) -> dict:
        """The report's "campaign" object: mode, seed, sweep, window, ..."""
        return self.raw["campaign"]

    @property
    def failure_rates(self) -> dict[int, float]:
        """A delay sweep's failure rate per first-message delay (ms)."""
        return {row["delay_ms"]: float(row["failure_rate"])
                for row in self.campaign.get("sweep", [])}

    @property
    def window(self) -> Optional[dict]:
        """A window search's findings ("conclusion", "estimate", ...), in
        achieved delays."""
        return self.campaign.get("window")

    @property
    def interrupted(self) -> bool:
        """True when the campaign was cancelled before it ended."""
        return bool(self.campaign.get("interrupted"))

    @property
    def planned(self) -> Optional[int]:
        """Probes a fixed schedule was to run (None for timed campaigns and
        searches)."""
        return self.campaign.get("planned")

    def __str__(self) -> str:
        return self.text


def probe(url: str, *,
          subprotocols: Iterable[str] = (),
          headers: Headers = {},
          jwt: Optional[str] = None,
          jwt_placement: Iterable[str] = ("subprotocol",),
          send: Union[str, bytes, None] = None,
          binary: bool = False,
          delay_ms: int = 0,
          hold_ms: Optional[int] = None,
          expect: Iterable[str] = (),
          expect_order: bool = False,
          timeout_ms: Union[int, Mapping[str, int], None] = None,
          cacert: Optional[str] = None,
          insecure: bool = False,
          tls_resume: bool = True,
          origin: Optional[str] = None,
          steps: Iterable[tuple] = ()) -> Result:
    """Runs one probe of ``url`` (ws:// or wss://) to completion.

    Connects, upgrades (offering ``subprotocols``, adding ``headers``, the
    ``jwt`` placed per ``jwt_placement``: "subprotocol", "bearer", "query"),
    waits ``delay_ms`` after the open, sends ``send`` (a text frame, binary
    with ``binary=True``), waits for the reply or for every type in
    ``expect`` (in order and once each with ``expect_order``), and closes.
    Without ``send`` the connection is held ``hold_ms`` and closed.
    ``timeout_ms`` is every phase's timeout, or a dict {phase: ms}.
    ``cacert`` replaces the system CA bundle for wss://; ``insecure``
    skips certificate verification (recorded in the result).
    ``tls_resume=False`` makes every wss:// probe do a full TLS handshake;
    by default the probes of one campaign resume the session of an earlier
    one (``Result.tls["resumed"]``), as browsers do.
    ``steps`` scripts the whole conversation instead of ``send``/``expect``:
    ("send", data), ("expect", type[, ms]), ("wait", ms), ("close", code[,
    reason]); ``Result.step`` says where a failure happened.

    Blocks the calling thread, not the others: the GIL is released.
    Returns the Result, whatever the outcome; raises ConfigError when an
    option is refused.
    """
    with _Config() as cfg:
        _configure(cfg, url, subprotocols=subprotocols, headers=headers,
                   jwt=jwt, jwt_placement=jwt_placement, send=send,
                   binary=binary, delay_ms=delay_ms, hold_ms=hold_ms,
                   expect=expect, expect_order=expect_order,
                   timeout_ms=timeout_ms, cacert=cacert, insecure=insecure,
                   tls_resume=tls_resume, origin=origin, steps=steps)
        res = ctypes.c_void_p()
        rc = _c.wsp_probe_run(cfg.ptr, ctypes.byref(res))
        if rc != 0:
            raise Error("wsp_probe_run: " + _strerror(rc), rc)
    try:
        out = ctypes.c_void_p()
        rc = _c.wsp_result_to_json(res, ctypes.byref(out))
        if rc != 0:
            raise Error("wsp_result_to_json: " + _strerror(rc), rc)
        return Result.from_dict(json.loads(_lib.take_string(out)))
    finally:
        _c.wsp_result_free(res)


def campaign(url: str, *,
             count: int = 1,
             concurrency: int = 1,
             delays: Optional[Sequence[int]] = None,
             burst: bool = False,
             seed: Optional[int] = None,
             rate: Optional[float] = None,
             window: Optional[tuple[int, int, int, int]] = None,
             jitter_ms: int = 0,
             duration_ms: Optional[int] = None,
             show_secrets: bool = False,
             **probe_options: Any) -> Report:
    """Runs a campaign: many probes of one configuration.

    ``count`` probes (per delay with ``delays``), ``concurrency`` at once,
    at most ``rate`` a second. ``delays`` is a delay sweep: ``count`` probes
    at each first-message delay in ms, shuffled by ``seed``; the report's
    ``failure_rates`` gives the failure rate per delay. ``burst`` opens
    ``concurrency`` connections and sends every first message in the same
    loop iteration, ``delay_ms`` after the last one opened.
    ``window=(lo_ms, hi_ms, resolution_ms, trials)`` searches the race
    window by bisection (``Report.window``), bracketing the delays the
    probes achieved.
    ``jitter_ms`` adds a random 0..jitter_ms to each delay, ``duration_ms``
    keeps probing that long (``count`` becomes a cap). Every other keyword
    is an option of :func:`probe`. Delays, bursts and windows need ``send``.

    Blocks the calling thread (the GIL is released). Returns the Report;
    raises ConfigError when an option is refused, or when options cannot
    be applied together (a jitter or delays with ``burst``).
    """
    with _Config() as cfg:
        _configure(cfg, url, **probe_options)
        handle = ctypes.c_void_p()
        rc = _c.wsp_campaign_new(cfg.ptr, ctypes.byref(handle))
        if rc != 0:
            raise Error("wsp_campaign_new: " + _strerror(rc), rc)
    c = handle

    def check(rc: int, what: str) -> None:
        if rc != 0:
            raise ConfigError("%s: %s" % (what, _strerror(rc)), rc)

    try:
        if delays is not None:
            arr = (ctypes.c_uint32 * len(delays))(
                *[_u32(d, "delays[%d]" % i) for i, d in enumerate(delays)])
            check(_c.wsp_campaign_set_delays(c, arr, len(delays),
                                             _u32(count, "count")),
                  "delays=%r, count=%r" % (list(delays), count))
        else:
            check(_c.wsp_campaign_set_count(c, _u32(count, "count")),
                  "count=%r" % count)
        check(_c.wsp_campaign_set_concurrency(
            c, _u32(concurrency, "concurrency")),
            "concurrency=%r" % concurrency)
        if rate is not None:
            check(_c.wsp_campaign_set_rate(c, float(rate)), "rate=%r" % rate)
        if duration_ms is not None:
            check(_c.wsp_campaign_set_duration(
                c, _u32(duration_ms, "duration_ms")),
                "duration_ms=%r" % duration_ms)
        check(_c.wsp_campaign_set_burst(c, 1 if burst else 0),
              "burst=%r" % burst)
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                raise ConfigError("seed must be a non-negative int, not %r" %
                                  (seed,))
            if seed >= 1 << 64:
                raise ConfigError("seed=%r: value out of range" % seed)
            check(_c.wsp_campaign_set_seed(c, seed), "seed=%r" % seed)
        check(_c.wsp_campaign_set_jitter(c, _u32(jitter_ms, "jitter_ms")),
              "jitter_ms=%r" % jitter_ms)
        if window is not None:
            if len(window) != 4:
                raise ConfigError("window must be (lo_ms, hi_ms, "
                                  "resolution_ms, trials), not %r" % (window,))
            lo, hi, res, trials = (_u32(v, "window") for v in window)
            check(_c.wsp_campaign_set_window_search(c, lo, hi, res, trials),
                  "window=%r" % (tuple(window),))
        why = ctypes.create_string_buffer(256)
        rc = _c.wsp_campaign_validate(c, why, len(why))
        if rc != 0:
            raise ConfigError(why.value.decode("utf-8", "replace"), rc)
        rc = _c.wsp_campaign_run(c)
        if rc != 0:
            raise Error("wsp_campaign_run: " + _strerror(rc), rc)
        out = ctypes.c_void_p()
        rc = _c.wsp_report_json(c, 1 if show_secrets else 0, ctypes.byref(out))
        if rc != 0:
            raise Error("wsp_report_json: " + _strerror(rc), rc)
        raw = json.loads(_lib.take_string(out))
        out = ctypes.c_void_p()
        text = ""
        if _c.wsp_report_text(c, ctypes.byref(out)) == 0:
            text = _lib.take_string(out)
    finally:
        _c.wsp_campaign_free(c)
    return Report(summary=raw["summary"],
                  probes=[Result.from_dict(p) for p in raw["probes"]],
                  raw=raw, text=text)
