"""The library's option table as Python keywords, and plans made from them.

Every keyword of probe(), campaign() and dry_run() is an option of the
table the CLI parses its command line by (include/wsprobe.h, "Options and
plans"): same name (as a keyword), same default, same checks, same
messages. A keyword's value is turned into the text the CLI would give the
option, by the option's type; the library parses and checks it. Only the
Python forms of a few values need code here: lists for repeatable options,
dicts of headers, step tuples, (lo, hi[, resolution, trials]) windows,
{phase: ms} timeouts, a dict of JWT claims.
"""
from __future__ import annotations

import ctypes
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

from . import _lib

_c = _lib.lib

# wsp_option_type, wsp_option_flag and wsp_option_field of wsprobe.h.
FLAG, UINT, NUMBER, SECONDS, TEXT, FILE, OUTPUT, LIST, PAIR, CHOICE = range(10)
_TYPE_NAMES = ("flag", "uint", "number", "seconds", "text", "file", "output",
               "list", "pair", "choice")
(REPEATABLE, OPTIONAL, PROBE, CAMPAIGN, REPORT, FRONT_END, SECRET, NEGATIVE,
 MERGE, MERGE_ONLY) = (1 << i for i in range(10))
(_NAME, _KEYWORD, _METAVAR, _HELP, _DEFAULT, _GROUP, _RANGE, _CHOICES,
 _SEPARATOR) = range(9)


@dataclass(frozen=True)
class Option:
    """One option of the library's table (wsprobe.OPTIONS)."""

    #: The CLI's long name: "count" for --count.
    name: str
    #: The Python keyword ("count"), None for the CLI's own (help, quiet).
    keyword: Optional[str]
    #: The CLI's one-letter name ("n"), or None.
    short: Optional[str]
    #: "flag", "uint", "number", "seconds", "text", "file", "output",
    #: "list", "pair" or "choice".
    type: str
    #: What the CLI calls the value ("N"), None for flags.
    metavar: Optional[str]
    #: What it does.
    help: str
    #: The default as the CLI takes it, or None.
    default: Optional[str]
    #: The section of the help and of the man page.
    group: str
    #: "1-10000000" for numbers, else None.
    range: Optional[str]
    #: The words a choice takes, else None.
    choices: Optional[tuple[str, ...]]
    #: ":" or "/" for pairs, else None.
    separator: Optional[str]
    #: Each use adds a value (a list in Python).
    repeatable: bool
    #: Sets the probe (probe() takes it), else the campaign or reports.
    probe: bool
    #: The CLI's own: no keyword.
    front_end: bool
    #: A flag whose keyword names the opposite: keyword=False gives it.
    negative: bool
    #: An option of a merge of reports too (merge() takes it).
    merge: bool
    #: Only an option of a merge: probe() and campaign() do not take it.
    merge_only: bool
    #: The wsp_option_flag bits.
    flags: int


def _text(o: int, field: int) -> Optional[str]:
    v = _c.wsp_option_text(o, field)
    return v.decode("utf-8") if v is not None else None


def _read_table() -> tuple[Option, ...]:
    out = []
    for i in range(_c.wsp_option_count()):
        o = _c.wsp_option_at(i)
        flags = _c.wsp_option_flags(o)
        short = _c.wsp_option_short(o)
        choices = _text(o, _CHOICES)
        out.append(Option(
            name=_text(o, _NAME), keyword=_text(o, _KEYWORD),
            short=chr(short) if short else None,
            type=_TYPE_NAMES[_c.wsp_option_type_of(o)],
            metavar=_text(o, _METAVAR), help=_text(o, _HELP),
            default=_text(o, _DEFAULT), group=_text(o, _GROUP),
            range=_text(o, _RANGE),
            choices=tuple(choices.split()) if choices else None,
            separator=_text(o, _SEPARATOR),
            repeatable=bool(flags & REPEATABLE), probe=bool(flags & PROBE),
            front_end=bool(flags & FRONT_END),
            negative=bool(flags & NEGATIVE), merge=bool(flags & MERGE),
            merge_only=bool(flags & MERGE_ONLY), flags=flags))
    return tuple(out)


#: Every option of the library's table, in the CLI's help order.
OPTIONS: tuple[Option, ...] = _read_table()
#: The options by keyword: what probe(), campaign(), dry_run() and merge()
#: take.
BY_KEYWORD: dict[str, Option] = {o.keyword: o for o in OPTIONS
                                 if o.keyword is not None and
                                 not o.front_end}
#: The keywords of probe(): the probe's own options.
PROBE_KEYWORDS = tuple(k for k, o in BY_KEYWORD.items() if o.probe)
#: The keywords of campaign() and dry_run(): all but a merge's own.
CAMPAIGN_KEYWORDS = tuple(k for k, o in BY_KEYWORD.items()
                          if not o.merge_only)
#: The keywords of merge(): the options of `wsprobe merge`.
MERGE_KEYWORDS = tuple(k for k, o in BY_KEYWORD.items() if o.merge)

_PHASE_TIMEOUTS = {"resolve": "resolve_timeout_ms",
                   "connect": "connect_timeout_ms",
                   "tls": "tls_timeout_ms", "upgrade": "upgrade_timeout_ms",
                   "first_send": "send_timeout_ms",
                   "awaiting_reply": "reply_timeout_ms",
                   "closing": "close_timeout_ms"}


class PlanError(ValueError):
    """The library refused a value: its message and code."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _type_error(kw: str, want: str, value: Any) -> TypeError:
    return TypeError("%s must be %s, not %s" % (kw, want,
                                                type(value).__name__))


def _int(kw: str, v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _type_error(kw, "an int", v)
    return str(v)


def _str(kw: str, v: Any, *, path: bool = False) -> str:
    if path and isinstance(v, os.PathLike):
        v = os.fspath(v)
    if not isinstance(v, str):
        raise _type_error(kw, "a str" + (" or a path" if path else ""), v)
    return v


class Plan:
    """An owned wsp_plan *, fed with keywords; freed by close(). A plan
    runs probes of `url`, or merges reports when `url` is None."""

    def __init__(self, url: Any, func: str) -> None:
        self.func = func
        p = ctypes.c_void_p()
        new = _c.wsp_plan_new if url is not None else _c.wsp_plan_new_merge
        if new(ctypes.byref(p)) != 0:
            raise MemoryError(new.__name__)
        self.ptr = p
        _c.wsp_plan_use_keywords(p, 1)
        if url is not None:
            self._check(_c.wsp_plan_set_url(p, self._bytes(
                "url", _str("url", url))))
            if func != "probe":  # One probe is no shard of anything.
                self._environment()

    def _environment(self) -> None:
        """The scheduler's shard, as the CLI takes it: the library reads
        WSPROBE_SHARD, JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_* and
        WSPROBE_SHARD_COUNT (the ``shard`` keyword comes first)."""
        env = [k + b"=" + v for k, v in os.environb.items()
               if k.startswith((b"WSPROBE_SHARD", b"JOB_COMPLETION_INDEX",
                                b"SLURM_ARRAY_TASK_"))]
        arr = (ctypes.c_char_p * (len(env) + 1))(*env, None)
        self._check(_c.wsp_plan_set_environment(self.ptr, arr))

    def close(self) -> None:
        if self.ptr:
            _c.wsp_plan_free(self.ptr)
            self.ptr = None

    def __enter__(self) -> "Plan":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _check(self, rc: int) -> None:
        if rc != 0:
            raise PlanError(_c.wsp_plan_last_error(self.ptr).decode(
                "utf-8", "replace"), rc)

    @staticmethod
    def _bytes(kw: str, s: str) -> bytes:
        try:
            b = s.encode("utf-8")
        except UnicodeEncodeError as e:
            raise PlanError("%s: not valid Unicode: %s" % (kw, e), 0)
        if b"\0" in b:
            raise PlanError("%s: the value holds a NUL character" % kw, 0)
        return b

    def set(self, name: str, value: Optional[str]) -> None:
        """Gives the option called `name` one value (None: a flag)."""
        v = None if value is None else self._bytes(name, value)
        self._check(_c.wsp_plan_set(self.ptr, name.encode(), v))

    def set_bytes(self, name: str, value: bytes) -> None:
        self._check(_c.wsp_plan_set_bytes(self.ptr, name.encode(), value,
                                          len(value)))

    def give(self, options: Mapping[str, Any], allowed: Iterable[str]) -> None:
        """Gives every keyword of `options`; None means "not given"."""
        allowed = set(allowed)
        for kw, value in options.items():
            if kw not in allowed:
                hint = (" (a campaign option: use wsprobe.campaign())"
                        if kw in BY_KEYWORD else "")
                raise TypeError("%s() got an unexpected keyword argument "
                                "%r%s" % (self.func, kw, hint))
            if value is not None:
                self._give(BY_KEYWORD[kw], value)

    def _give(self, o: Option, value: Any) -> None:
        kw = o.keyword
        special = getattr(self, "_kw_" + kw, None)
        if special is not None and special(o, value):
            return
        if o.repeatable:
            if isinstance(value, (str, bytes)) or not isinstance(value,
                                                                 Iterable):
                value = (value,)
            for item in value:
                self._one(o, item)
        else:
            self._one(o, value)

    def _one(self, o: Option, v: Any) -> None:
        kw = o.keyword
        if o.type == "flag":
            if not isinstance(v, bool):
                raise _type_error(kw, "True or False", v)
            if v != o.negative:
                self.set(kw, None)
        elif o.type in ("uint", "seconds"):
            self.set(kw, _int(kw, v))
        elif o.type == "number":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _type_error(kw, "a number", v)
            self.set(kw, repr(float(v)))
        elif o.type == "list":
            if isinstance(v, str):
                self.set(kw, v)
            elif isinstance(v, Iterable):
                self.set(kw, ",".join(_int(kw, x) for x in v))
            else:
                raise _type_error(kw, "a list of ints", v)
        elif o.type == "pair":
            if isinstance(v, str):
                self.set(kw, v)
            elif isinstance(v, (tuple, list)) and len(v) == 2:
                self.set(kw, o.separator.join(_int(kw, x) for x in v))
            else:
                raise _type_error(kw, "a pair (a, b) of ints", v)
        elif o.type == "choice" and o.choices == ("on", "off") and \
                isinstance(v, bool):
            self.set(kw, "on" if v else "off")
        elif o.type in ("file", "output"):
            self.set(kw, _str(kw, v, path=True))
        elif isinstance(v, (bytes, bytearray, memoryview)) and kw == "send":
            self.set_bytes(kw, bytes(v))
        else:
            self.set(kw, _str(kw, v))

    # Python forms of a few values: each returns True when it gave them.

    def _kw_threads(self, o: Option, v: Any) -> bool:
        # A number of threads, or "auto" (a text option for that word).
        if isinstance(v, int) and not isinstance(v, bool):
            self.set(o.keyword, str(v))
            return True
        return False

    def _kw_send(self, o: Option, v: Any) -> bool:
        if isinstance(v, str):
            # Lone surrogates pass, and the library refuses the result as
            # text that is not UTF-8, by name.
            self.set_bytes("send", v.encode("utf-8", "surrogatepass"))
            return True
        if not isinstance(v, (bytes, bytearray, memoryview)):
            raise _type_error("send", "str or bytes", v)
        return False

    def _kw_headers(self, o: Option, v: Any) -> bool:
        items = v.items() if isinstance(v, Mapping) else (
            (v,) if isinstance(v, (str, tuple)) else v)
        for h in items:
            if isinstance(h, tuple) and len(h) == 2:
                name, value = (_str("headers", x) for x in h)
                if ":" in name:
                    raise PlanError("headers: invalid header name %r" % name,
                                    0)
                h = "%s: %s" % (name, value)
            self.set("headers", _str("headers", h))
        return True

    def _kw_steps(self, o: Option, v: Any) -> bool:
        if isinstance(v, (str, tuple)):
            v = (v,)
        for step in v:
            if isinstance(step, str):
                self.set("steps", step)
                continue
            if not isinstance(step, tuple) or not step:
                raise PlanError("steps: a step is a tuple such as ('send', "
                                "'hi') or text such as 'wait:100', not %r"
                                % (step,), 0)
            kind, args = step[0], step[1:]
            if kind == "send" and len(args) == 1 and isinstance(
                    args[0], (bytes, bytearray, memoryview)):
                self.set_bytes("steps", b"binary:" + bytes(args[0]))
            elif kind == "send" and len(args) == 1:
                self.set_bytes("steps", b"send:" + _str("steps", args[0])
                               .encode("utf-8", "surrogatepass"))
            elif kind == "expect" and len(args) in (1, 2):
                # ":0" is the default timeout, and keeps a type with a
                # colon whole.
                self.set("steps", "expect:%s:%s" % (
                    _str("steps", args[0]),
                    _int("steps", args[1]) if len(args) == 2 else "0"))
            elif kind == "wait" and len(args) == 1:
                self.set("steps", "wait:" + _int("steps", args[0]))
            elif kind == "close" and len(args) in (1, 2):
                self.set("steps", "close:" + _int("steps", args[0]) + (
                    ":" + _str("steps", args[1]) if len(args) == 2 else ""))
            else:
                raise PlanError("steps: unknown step %r: use ('send', data), "
                                "('expect', type[, ms]), ('wait', ms) or "
                                "('close', code[, reason])" % (step,), 0)
        return True

    def _kw_window(self, o: Option, v: Any) -> bool:
        # (lo, hi, resolution, trials): the form of earlier releases.
        if isinstance(v, (tuple, list)) and len(v) == 4:
            self._one(o, tuple(v[:2]))
            self.set("resolution_ms", _int("window", v[2]))
            self.set("trials", _int("window", v[3]))
            return True
        if v is True:
            self.set("window", None)
            return True
        return False

    def _kw_timeout_ms(self, o: Option, v: Any) -> bool:
        if not isinstance(v, Mapping):
            return False
        for phase, ms in v.items():
            if phase not in _PHASE_TIMEOUTS:
                raise PlanError("timeout_ms: unknown phase %r (one of %s)" %
                                (phase, ", ".join(_PHASE_TIMEOUTS)), 0)
            self.set(_PHASE_TIMEOUTS[phase],
                     _int("timeout_ms[%r]" % phase, ms))
        return True

    def _kw_jwt_claims(self, o: Option, v: Any) -> bool:
        if isinstance(v, Mapping):
            self.set("jwt_claims", json.dumps(v))
            return True
        return False

    def build(self) -> ctypes.c_void_p:
        """The campaign (closed by the caller)."""
        c = ctypes.c_void_p()
        self._check(_c.wsp_plan_build(self.ptr, ctypes.byref(c)))
        return c

    def to_json(self) -> dict:
        out = ctypes.c_void_p()
        self._check(_c.wsp_plan_to_json(self.ptr, ctypes.byref(out)))
        return json.loads(_lib.take_string(out))

    def check_reports(self) -> None:
        """Whether the report paths given could be written (PlanError
        with WSP_EIO if not), before anything is read or run."""
        self._check(_c.wsp_plan_check_reports(self.ptr))

    def merge(self, paths: Iterable[Any]) -> ctypes.c_void_p:
        """The report (wsp_report *, freed by the caller) of the JSON
        reports at `paths`."""
        if isinstance(paths, (str, bytes, os.PathLike)):
            paths = (paths,)
        names = []
        for path in paths:
            if isinstance(path, os.PathLike):
                path = os.fspath(path)
            if isinstance(path, str):
                path = self._bytes("paths", path)
            if not isinstance(path, bytes):
                raise _type_error("paths", "a list of paths", path)
            names.append(path)
        rep = ctypes.c_void_p()
        self._check(_c.wsp_plan_merge(
            self.ptr, (ctypes.c_char_p * len(names))(*names), len(names),
            ctypes.byref(rep)))
        return rep

    def save_reports(self, rep: ctypes.c_void_p) -> Optional[str]:
        """Writes the reports given of report `rep`; the error message, or
        None."""
        if _c.wsp_plan_save_reports(self.ptr, rep) != 0:
            return _c.wsp_plan_last_error(self.ptr).decode("utf-8", "replace")
        return None


def describe(keywords: Iterable[str]) -> str:
    """The keyword reference for a docstring, from the table."""
    lines = []
    for kw in keywords:
        o = BY_KEYWORD[kw]
        text = o.help
        if o.default is not None:
            text += " (default %s)" % o.default
        lines.append("    %s: %s" % (kw, text))
    return "\n".join(lines)
