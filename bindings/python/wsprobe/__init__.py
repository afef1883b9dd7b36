"""wsprobe: probe WebSocket servers for race conditions, from Python.

A pure-Python ctypes binding over libwsprobe.so: no compiled extension. The
library is the one named by the environment variable ``WSPROBE_LIBRARY``
(that one or none), else the build tree next to these sources
(``build*/lib/libwsprobe.so.0``), else the system's library path; when none
loads, ``import wsprobe`` raises an ImportError that names every path it
tried.

Every probe ends in exactly one outcome (:class:`Outcome`: ``"ok"``,
``"closed_by_server"``, ``"handshake_rejected"``, ...) together with the
phase it happened in (:class:`Phase`); only ``"ok"`` passes. A failed probe
is a :class:`Result`, never an exception. Only a bad configuration raises
(:class:`ConfigError`, naming the keyword), and Ctrl-C raises
:class:`Interrupted` with what ran so far.

Every keyword is an option of the CLI, from the library's own option table
(:data:`OPTIONS`): ``--delay-sweep 0,10`` is ``delays=[0, 10]``, ``-n 5``
is ``count=5``. Campaigns write the CLI's reports (``json=``, ``html=``,
``junit=``) and :func:`merge` joins the JSON reports of shards as ``wsprobe
merge`` does, with the same verdict (:class:`Verdict`) and exit status.
Probes run on a thread of the library's own: the GIL is released, probes
in several Python threads run in parallel, and :mod:`wsprobe.asyncio` has
coroutines of the same functions.

    import wsprobe
    r = wsprobe.probe("ws://127.0.0.1:8765/agent", send='{"type":"run"}',
                      expect=["agent_completed"], timeout_ms=2000)
    assert r.passed, r
"""
from __future__ import annotations

import copy
import ctypes
import enum
import inspect
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from . import _lib
from ._lib import OUTCOMES, PHASES, VERDICTS
from ._options import (CAMPAIGN_KEYWORDS, MERGE_KEYWORDS, OPTIONS,
                       PROBE_KEYWORDS, Option, Plan, PlanError, describe)

__all__ = ["probe", "campaign", "dry_run", "merge", "sign_jwt", "Result",
           "Report", "Outcome", "Phase", "Verdict", "Option", "OPTIONS",
           "Error", "ConfigError", "MergeError", "Interrupted", "OUTCOMES",
           "PHASES", "library_path", "library_version"]

_c = _lib.lib
_EINVAL = -30001  # WSP_EINVAL: a bad argument.
_EIO = -30016  # WSP_EIO: a report file could not be written.
_ELATE = -30020  # WSP_ELATE: start_at passed longer ago than its tolerance.
# wsp_report_format of wsprobe.h, and its flag that shows secrets.
_REPORT_TEXT, _REPORT_JSON = 0, 1
_REPORT_SHOW_SECRETS = 1
# The CLI's exit statuses (docs/wsprobe.1, EXIT STATUS).
EXIT_FAIL, EXIT_USAGE, EXIT_CANNOT_WRITE, EXIT_MERGE = 1, 2, 3, 4

#: Path (or name) of the libwsprobe that was loaded.
library_path: str = _lib.path


def library_version() -> str:
    """The version of the loaded library, "major.minor.patch"."""
    return _c.wsp_version_string().decode("ascii")


def _source_version() -> str:
    """The version in meson.build, for a binding used from the sources."""
    meson = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))), "meson.build")
    try:
        with open(meson, encoding="utf-8") as f:
            return re.search(r"version:\s*'([^']+)'", f.read()).group(1)
    except (OSError, AttributeError):
        return library_version()


try:  # Written into installed packages by the build backend.
    from ._version import version as __version__
except ImportError:
    __version__ = _source_version()

#: The outcomes, the library's names: Outcome.OK == "ok".
Outcome = enum.StrEnum("Outcome", [(n.upper(), n) for n in OUTCOMES],
                       module=__name__)
Outcome.__doc__ = "A probe's outcome; equal to its name (str)."
#: The phases, in order: Phase.AWAITING_REPLY == "awaiting_reply".
Phase = enum.StrEnum("Phase", [(n.upper(), n) for n in PHASES],
                     module=__name__)
Phase.__doc__ = "Where an outcome was decided; equal to its name (str)."
#: What a report concludes: Verdict.PASS == "pass", "fail", "partial".
Verdict = enum.StrEnum("Verdict", [(n.upper(), n) for n in VERDICTS],
                       module=__name__)
Verdict.__doc__ = ("A report's verdict; equal to its name (str). Only a "
                   "report whose probes all passed passes; a partial merge "
                   "fails whatever its probes say.")

Headers = Any
CloseFrame = tuple[int, Union[str, bytes]]


class Error(Exception):
    """A call into wsprobe failed. ``code`` is the library's negative error
    code (0 when the binding refused the input itself), ``name`` its name
    ("WSP_EURL", "ENOMEM", ...) and ``exit_code`` the exit status the CLI
    ends with for the same failure: 3 for a report that cannot be written
    (``code`` WSP_EIO) or a ``start_at`` missed beyond its tolerance
    (WSP_ELATE), 1 for anything else that is not a ConfigError (2) or a
    MergeError (4)."""

    #: The CLI's exit status for this failure.
    exit_code: int = EXIT_FAIL

    def __init__(self, message: str, code: int = 0, result: Any = None):
        super().__init__(message)
        self.code = code
        self.name = _c.wsp_err_name(code).decode("ascii") if code else None
        if code in (_EIO, _ELATE) and type(self) is Error:
            self.exit_code = EXIT_CANNOT_WRITE
        #: What ran, when the error came after running (a report that
        #: could not be written): a Report, else None.
        self.result = result


class ConfigError(Error, ValueError):
    """An option was refused; the message names it ("count: 0 is out of
    range (1-10000000)") and says why. ``exit_code`` 2, a usage error."""

    exit_code = EXIT_USAGE


class MergeError(Error):
    """merge() refused the reports (``exit_code`` 4, as ``wsprobe merge``):
    reports of different campaigns, a shard missing (without
    ``allow_partial``) or given twice, a report cut short or edited
    (``code`` WSP_EMERGE), a file that is not a wsprobe JSON report
    (WSP_EJSON) or cannot be read (WSP_EIO). The message names the reports
    concerned."""

    exit_code = EXIT_MERGE


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a probe or a campaign: probes in flight were
    cancelled, no more started. ``result`` holds what ran: a Report for
    campaign(), a Result (or None) for probe(). Reports asked for with
    json=, html=, junit= were written."""

    def __init__(self, result: Any):
        super().__init__("interrupted")
        #: What ran before the interrupt.
        self.result = result


def _strerror(rc: int) -> str:
    return "%s (%s)" % (_c.wsp_strerror(rc).decode("utf-8", "replace"),
                        _c.wsp_err_name(rc).decode("ascii"))


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

    #: An Outcome (equal to its name); only "ok" passes.
    outcome: Outcome
    #: A Phase (equal to its name): where the outcome was decided.
    phase: Phase
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
    #: Scripted probes: the step it ended in, from 0 (None without steps).
    step: Optional[int] = None
    #: The first-message delay asked for, ms.
    delay_ms: int = 0
    #: The delay achieved: from the 101 response's arrival (the kernel's
    #: receive stamp) to the first message's send, ms; None when nothing
    #: was sent.
    delay_achieved_ms: Optional[float] = None
    #: Window searches: True when the prober lagged while this probe's
    #: point ran, so the point was run again and this run is left out of
    #: the evidence and the estimate (it is still listed).
    discarded: bool = False
    #: wss://: version, cipher, alpn, verified, close_notify, resumed and
    #: group of the completed TLS handshake; None without one.
    tls: Optional[dict] = None
    #: Through a proxy: the status it answered CONNECT with (200, 407,
    #: 403, 502...); None without a proxy or before it answered.
    proxy_status: Optional[int] = None
    #: The address and port connected to ("127.0.0.1:8080", "[::1]:8080"),
    #: the last one tried when none answered, None before connecting.
    peer: Optional[str] = None
    #: The headers named by ``record_headers``, as the upgrade response gave
    #: them ({name: value or None}); empty when none were asked for.
    recorded_headers: dict = field(default_factory=dict)
    #: With ``compress``: the Sec-WebSocket-Extensions the server agreed
    #: to ("permessage-deflate; ..."), None when it agreed to none.
    extensions: Optional[str] = None
    _raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        """Builds a Result from a probe object of the JSON report."""
        close = d.get("close") or {}
        return cls(
            outcome=Outcome(d["outcome"]), phase=Phase(d["phase"]),
            passed=d["passed"], http_status=d.get("http_status"),
            http_reason=d.get("http_reason"),
            subprotocol=d.get("subprotocol"),
            extensions=d.get("extensions"),
            close_received=_close_frame(close.get("received")),
            close_sent=_close_frame(close.get("sent")),
            timings_ms=dict(d.get("timings_ms") or {}),
            timeline_ms=dict(d.get("timeline_ms") or {}),
            messages=d.get("messages", 0),
            events=[(e["type"], e["t_ms"]) for e in d.get("events", [])],
            error=d.get("error"), index=d.get("index", 0),
            step=d.get("step"), tls=d.get("tls"), peer=d.get("peer"),
            recorded_headers=dict(d.get("recorded_headers") or {}),
            delay_ms=d.get("delay_ms", 0),
            delay_achieved_ms=d.get("delay_achieved_ms"),
            discarded=bool(d.get("discarded", False)),
            proxy_status=(d.get("proxy") or {}).get("status"), _raw=d)

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
    """A campaign's report, or a merge's (docs/report.md): the JSON report
    as a dict, the CLI's summary, and the verdict every format states."""

    #: The report's "summary": total, passed, failed, outcomes, ...
    summary: dict
    #: Every probe's Result, in probe-index order.
    probes: list[Result]
    #: The whole report as a dict (config, campaign, probes, summary).
    raw: dict = field(repr=False)
    #: The human summary the CLI prints.
    text: str = field(default="", repr=False)
    #: Ctrl-C ended the campaign early: the probes are those that ran.
    interrupted: bool = False
    #: The report's Verdict: "pass", "fail", or "partial" for a merge
    #: with shards missing (allow_partial).
    verdict: Verdict = Verdict.FAIL
    #: The shards a partial merge lacks, ascending ([] when complete).
    missing_shards: list[int] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when at least one probe ran, every probe passed, no shard
        is missing and the campaign was not interrupted."""
        return self.verdict == Verdict.PASS and not self.interrupted

    @property
    def exit_code(self) -> int:
        """The exit status the CLI ends with for this report: 0 passed, 1
        a probe failed or the run was interrupted, 4 a partial merge."""
        code = _c.wsp_verdict_exit_code(VERDICTS.index(self.verdict))
        return EXIT_FAIL if code == 0 and self.interrupted else code

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
    def levels(self) -> Optional[dict]:
        """A concurrency sweep's levels and first failing level."""
        return self.campaign.get("concurrency_sweep")

    @property
    def health(self) -> Optional[dict]:
        """What the health URL said beside the probes (health=URL): its
        "samples" (t_ms, status, ms, error, body) and "summary" (samples,
        statuses, errors, skipped, ms); None without health polling."""
        return self.raw.get("health")

    @property
    def planned(self) -> Optional[int]:
        """Probes a fixed schedule was to run (None for timed campaigns and
        searches)."""
        return self.campaign.get("planned")

    def __str__(self) -> str:
        return self.text


def _refused(e: PlanError) -> Error:
    """The exception of a plan's refusal: a report path that cannot be
    written (the CLI's exit status 3), else a refused option (2)."""
    return (Error if e.code == _EIO else ConfigError)(str(e), e.code)


def _take_string(fn: Callable, *args: Any) -> str:
    out = ctypes.c_void_p()
    rc = fn(*args, ctypes.byref(out))
    if rc != 0:
        raise Error("%s: %s" % (fn.__name__, _strerror(rc)), rc)
    return _lib.take_string(out)


def _take_json(fn: Callable, *args: Any) -> Any:
    return json.loads(_take_string(fn, *args))


def _report_of(rep: ctypes.c_void_p, show_secrets: bool,
               interrupted: bool = False) -> Report:
    """The Report of a wsp_report * (still the caller's to free)."""
    raw = _take_json(_c.wsp_report_string, rep, _REPORT_JSON,
                     _REPORT_SHOW_SECRETS if show_secrets else 0)
    missing = (ctypes.c_uint32 * _c.wsp_report_missing_shards(rep, None,
                                                               0))()
    _c.wsp_report_missing_shards(rep, missing, len(missing))
    return Report(summary=raw["summary"],
                  probes=[Result.from_dict(p) for p in raw["probes"]],
                  raw=raw, text=_take_string(_c.wsp_report_string, rep,
                                             _REPORT_TEXT, 0),
                  interrupted=interrupted,
                  verdict=Verdict(VERDICTS[_c.wsp_report_verdict(rep)]),
                  missing_shards=list(missing))


class _Job:
    """A plan built into a campaign, run on a thread of its own so that
    the caller's thread stays free: to take Ctrl-C, or to run an event
    loop. The campaign is freed by close() only once the thread is done."""

    def __init__(self, func: str, url: Any, options: dict,
                 keywords: tuple[str, ...]):
        self.func = func
        self.show_secrets = bool(options.get("show_secrets"))
        self.plan = Plan(url, func)
        try:
            self.plan.give(options, keywords)
            self.c = self.plan.build()
        except PlanError as e:
            self.plan.close()
            raise _refused(e) from None
        except BaseException:
            self.plan.close()
            raise
        self.done = threading.Event()
        self.thread: Optional[threading.Thread] = None
        self.value: Any = None         # What finish() returns.
        self.error: Optional[Error] = None

    def start(self, on_done: Optional[Callable[[], None]] = None) -> None:
        def work() -> None:
            try:
                rc = _c.wsp_campaign_run(self.c)
                if rc == _ELATE:
                    self.error = Error("%s: %s" % (
                        self.func, _c.wsp_campaign_last_error(self.c).decode(
                            "utf-8", "replace")), rc)
                elif rc != 0:
                    self.error = Error("%s: cannot run: %s" % (
                        self.func, _strerror(rc)), rc)
                else:
                    self.value = self._collect()
            except Error as e:
                self.error = e
            finally:
                self.done.set()
                if on_done is not None:
                    on_done()
        self.thread = threading.Thread(target=work, daemon=True,
                                       name="wsprobe-" + self.func)
        self.thread.start()

    def interrupt(self) -> None:
        """Safe from any thread, at any time before close()."""
        _c.wsp_campaign_interrupt(self.c)

    @property
    def interrupted(self) -> bool:
        return bool(_c.wsp_campaign_interrupted(self.c))

    def _collect(self) -> Any:
        """The result, made on the worker thread (a large report takes a
        while to parse: not on the caller's event loop). The reports asked
        for are written from the campaign's report model, as the CLI
        writes them."""
        rep = ctypes.c_void_p()
        rc = _c.wsp_report_new(self.c, ctypes.byref(rep))
        if rc != 0:
            raise Error("%s: cannot report: %s" % (self.func, _strerror(rc)),
                        rc)
        try:
            failed = self.plan.save_reports(rep)
            if self.func == "probe":
                r = _c.wsp_campaign_result(self.c, 0)
                value = (Result.from_dict(_take_json(_c.wsp_result_to_json,
                                                     r)) if r else None)
            else:
                value = _report_of(rep, self.show_secrets, self.interrupted)
        finally:
            _c.wsp_report_free(rep)
        if failed is not None:
            raise Error(failed, _EIO, value)
        return value

    def close(self) -> None:
        if self.thread is not None:
            self.thread.join()
        if self.c:
            _c.wsp_campaign_close(self.c)
            self.c = None
        self.plan.close()

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def _run(job: _Job) -> Any:
    """Runs a job from a blocking call; Ctrl-C interrupts it."""
    try:
        job.start()
        try:
            job.done.wait()
        except KeyboardInterrupt as e:
            job.interrupt()
            # The campaign's memory is freed only after its thread ends;
            # a second Ctrl-C does not cut that short (it takes a moment).
            while not job.done.is_set():
                try:
                    job.done.wait()
                except KeyboardInterrupt:
                    pass
            if job.error is not None:
                raise job.error from e
            raise Interrupted(job.value) from e
        return job.result()
    finally:
        job.close()


def _with_keywords(fn: Callable, keywords: tuple[str, ...],
                   first: str = "url") -> Callable:
    """Gives fn the signature and keyword reference of the table."""
    params = [inspect.Parameter(first, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                annotation=str if first == "url" else Any)]
    params += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY,
                                 default=None) for k in keywords]
    fn.__signature__ = inspect.Signature(params)
    fn.__doc__ = (fn.__doc__ or "") + "\n    Keywords (None: the default):\n" \
        + describe(keywords) + "\n"
    return fn


def _new_job(func: str, url: Any, options: dict) -> _Job:
    return _Job(func, url, options,
                PROBE_KEYWORDS if func == "probe" else CAMPAIGN_KEYWORDS)


def probe(url: str, **options: Any) -> Result:
    """Runs one probe of ``url`` (ws:// or wss://) to completion.

    Connects, upgrades (offering ``subprotocols``, adding ``headers``: a
    dict, (name, value) pairs or "Name: value" lines; the ``jwt`` placed per
    ``jwt_placement``), waits ``delay_ms`` after the open, sends ``send``
    (str: a text frame; bytes: binary with ``binary=True``), waits for the
    reply or for every type in ``expect`` (in order with
    ``expect_order``), and closes. Without ``send`` the connection is held
    ``hold_ms``. ``timeout_ms`` is every phase's timeout, or a dict
    {phase: ms}. ``steps`` scripts the conversation instead: ("send",
    data), ("expect", type[, ms]), ("wait", ms), ("close", code[,
    reason]), or the CLI's text ("wait:100").

    Returns the Result, whatever the outcome. Raises ConfigError when an
    option is refused, TypeError for an unknown keyword, Interrupted on
    Ctrl-C.
    """
    return _run(_new_job("probe", url, options))


def campaign(url: str, **options: Any) -> Report:
    """Runs a campaign: many probes of one configuration, as the CLI does.

    ``count`` probes, ``concurrency`` at once, at most ``rate`` a second;
    ``delays=[0, 50, 200]`` is a delay sweep (``count`` probes per delay,
    ``Report.failure_rates``); ``window=(lo_ms, hi_ms)`` searches the race
    window by bisection (with ``resolution_ms`` and ``trials``;
    ``Report.window``); ``concurrency_sweep=MAX`` bursts 1, 2, 4, ... MAX
    connections; ``burst=True`` sends every first message at once,
    ``delay_ms`` after the last connection opened (a ``jitter_ms`` or
    ``delays`` with it is a ``ConfigError``);
    ``duration_ms`` keeps probing that long; ``shard=(i, n)`` runs one
    shard (without it, the shard of a Kubernetes Indexed Job or a Slurm
    array task is read from the environment, as the CLI reads it; several
    shards need ``seed``); ``start_at`` (RFC 3339 or Unix seconds, a str)
    opens the campaign at that instant, ``start_tolerance_ms`` how late it
    may be (``Report.campaign["start"]``). ``json``, ``html`` and ``junit`` write the reports to files,
    from the same report model as the CLI's (paths checked before the run;
    a file appears whole or not at all). Every keyword of probe() applies
    to each probe. Delays, windows and bursts need ``send``.

    Returns the Report (``verdict``, ``exit_code`` as the CLI's). Raises
    ConfigError when an option is refused (the message names it),
    Interrupted on Ctrl-C (``.result``: the Report of what ran, its files
    written), Error with ``exit_code`` 3 when a report path cannot be
    written (before the run) or a report could not be (after it;
    ``.result``: the Report).
    """
    return _run(_new_job("campaign", url, options))


def dry_run(url: str, **options: Any) -> dict:
    """What campaign() would run with these keywords, checked but not run:
    the CLI's ``--dry-run`` (config, campaign settings, reports, open files
    needed). Raises ConfigError, or Error for a report path that cannot be
    written, as campaign() would."""
    with Plan(url, "dry_run") as plan:
        try:
            plan.give(options, CAMPAIGN_KEYWORDS)
            return plan.to_json()
        except PlanError as e:
            raise _refused(e) from None


def merge(paths: Any, **options: Any) -> Report:
    """Merges the JSON reports of a campaign's shards (``shard=(i, n)``),
    as ``wsprobe merge`` does: counts add up, histograms merge exactly,
    probes return to index order; the reports are streamed (of any size).
    One report alone is read as it is. ``json``, ``html`` and ``junit``
    write the merged report (paths checked before anything is read);
    ``show_secrets`` keeps secrets the shards' JSON reports show;
    ``allow_partial`` merges the shards given when some are missing.

    Returns the Report: its ``verdict`` (Verdict.PASS, FAIL, or PARTIAL
    when shards are missing), ``missing_shards`` and ``exit_code`` (0, 1,
    or 4 as the CLI's). Raises MergeError (exit_code 4) when the merge is
    refused, with the library's message naming the reports; ConfigError
    for a refused keyword; Error (exit_code 3) when a report path cannot
    be written (before reading) or a report could not be written (after:
    ``.result`` holds the Report).
    """
    with Plan(None, "merge") as plan:
        try:
            plan.give(options, MERGE_KEYWORDS)
            plan.check_reports()
        except PlanError as e:
            raise _refused(e) from None
        try:
            rep = plan.merge(paths)
        except PlanError as e:
            if e.code in (0, _EINVAL):
                raise ConfigError(str(e), e.code) from None
            raise MergeError(str(e), e.code) from None
        try:
            report = _report_of(rep, bool(options.get("show_secrets")))
            failed = plan.save_reports(rep)
        finally:
            _c.wsp_report_free(rep)
        if failed is not None:
            raise Error(failed, _EIO, report)
        return report


_with_keywords(probe, PROBE_KEYWORDS)
_with_keywords(campaign, CAMPAIGN_KEYWORDS)
_with_keywords(dry_run, CAMPAIGN_KEYWORDS)
_with_keywords(merge, MERGE_KEYWORDS, "paths")


def sign_jwt(alg: str, key: Union[str, bytes], claims: Optional[dict] = None,
             *, ttl: int = 300, now: Optional[int] = None) -> str:
    """Mints a JWT as campaigns do per probe: HS256 with a secret, RS256 or
    ES256 with a PEM private key; "iat" = now, "exp" = now + ttl."""
    code = _c.wsp_jwt_alg_from_name(alg.encode())
    if code < 0:
        raise ConfigError("alg: %r is not HS256, RS256 or ES256" % (alg,))
    k = key.encode() if isinstance(key, str) else bytes(key)
    out = ctypes.c_void_p()
    rc = _c.wsp_jwt_sign(code, k, len(k),
                         json.dumps(claims).encode() if claims else None,
                         int(time.time()) if now is None else now, ttl,
                         ctypes.byref(out))
    if rc != 0:
        raise ConfigError("sign_jwt: %s" % _strerror(rc), rc)
    return _lib.take_string(out)


from . import asyncio  # noqa: E402,F401  (wsprobe.asyncio after import)
