"""CLI and Python stay equal: one case per option of the library's table,
generated from the table itself (wsprobe.OPTIONS). For each option the CLI's
--dry-run with the option and wsprobe.dry_run() with its keyword must give
the same settings, different from the settings without it; a value out of
range must be refused by both with the same message. A new option fails
here until its keyword takes the CLI's values (and, for text options, until
it has a sample below).
"""
import json
import subprocess

import pytest

import wsprobe

URL = "ws://127.0.0.1:9/"
WSS = "wss://127.0.0.1:9/"  # For the TLS options, which need it.

# Sample values of text options: (CLI text, Python value).
TEXT_SAMPLES = {
    "header": ("X-A: b", {"X-A": "b"}),
    "subprotocol": ("chat", ["chat"]),
    "origin": ("http://example.test", "http://example.test"),
    "jwt": ("a.b.c", "a.b.c"),
    "jwt-secret": ("s3cret", "s3cret"),
    "jwt-claims": ('{"sub":"u"}', {"sub": "u"}),
    "jwt-prefix": ("tok.", "tok."),
    "jwt-query-param": ("t", "t"),
    "send": ("hello", "hello"),
    "expect": ("done", ["done"]),
    "step": ("wait:5", ["wait:5"]),
}

# What an option needs beside it (the plan refuses it alone): option
# names with their CLI values; the keywords follow from the table.
NEEDS = {
    "binary": [("send", "x")],
    "expect-order": [("expect", "a")],
    "delay-sweep": [("send", "x")],
    "find-window": [("send", "x")],
    "resolution": [("find-window", "0:50"), ("send", "x")],
    "trials": [("find-window", "0:50"), ("send", "x")],
    "concurrency-sweep": [("send", "x")],
    "burst": [("send", "x")],
    "jwt-alg": [("jwt-key", "@key")],
    "jwt-claims": [("jwt-secret", "s")],
    "jwt-ttl": [("jwt-secret", "s")],
    "jwt-placement": [("jwt", "a.b.c")],
    "jwt-prefix": [("jwt", "a.b.c")],
    "jwt-query-param": [("jwt", "a.b.c"), ("jwt-placement", "query")],
    "no-require-subprotocol": [("jwt", "a.b.c")],
}

# Options that only go together: each is tested with the others.
TOGETHER = {"cert": [("key", "@key")], "key": [("cert", "@cert")]}

# Options whose sample cannot show in the settings: the default choice.
INVISIBLE = {"jwt-alg"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("parity")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days",
                    "1", "-subj", "/CN=127.0.0.1"], check=True,
                   capture_output=True, timeout=60)
    (d / "secret").write_text("s3cret\n")
    return {"@key": str(d / "key.pem"), "@cert": str(d / "cert.pem"),
            "@secret": str(d / "secret"), "@dir": str(d)}


def sample(o, files):
    """(CLI value or None for a flag, Python value) for option o."""
    if o.type == "flag":
        return None, not o.negative
    if o.type == "uint":
        lo, hi = (int(x) for x in o.range.split("-"))
        return str(lo + 1), lo + 1
    if o.type == "seconds":
        return "1.5", 1500
    if o.type == "number":
        return "2.5", 2.5
    if o.type == "list":
        return "0,10", [0, 10]
    if o.type == "pair":
        a, b = (1, 2) if o.separator == "/" else (0, 50)
        return "%d%s%d" % (a, o.separator, b), (a, b)
    if o.type == "choice":
        return o.choices[-1], o.choices[-1]
    if o.type == "file":
        path = {"jwt-secret-file": files["@secret"], "jwt-key": files["@key"],
                "key": files["@key"]}.get(o.name, files["@cert"])
        return path, path
    if o.type == "output":
        path = "%s/%s.out" % (files["@dir"], o.name)
        return path, path
    assert o.name in TEXT_SAMPLES, "no sample for --%s: add one" % o.name
    return TEXT_SAMPLES[o.name]


def too_big(o):
    """A CLI value out of range, or None when the type has no range."""
    if o.type == "uint":
        return str(int(o.range.split("-")[1]) + 1)
    if o.type == "list":
        return "0,%d" % (int(o.range.split("-")[1]) + 1)
    if o.type == "choice":
        return "no-such-" + o.choices[0]
    return None


def cli(args):
    p = subprocess.run([CLI] + args, capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


CLI = None
# The options of a run (dry_run()); a merge's own are not among them.
OPTIONS = [o for o in wsprobe.OPTIONS
           if not o.front_end and not o.merge_only]


@pytest.fixture(autouse=True)
def _cli(wsprobe_cli):
    global CLI
    CLI = wsprobe_cli


def needs(o, files, table=NEEDS):
    """The needed options as CLI arguments and as keywords."""
    args, kw = [], {}
    for name, value in table.get(o.name, []):
        value = files.get(value, value)
        args += ["--" + name, value]
        n = wsprobe.OPTIONS[[x.name for x in wsprobe.OPTIONS].index(name)]
        kw[n.keyword] = (value if n.type not in ("uint",) else int(value))
        if n.type == "pair":
            kw[n.keyword] = tuple(int(x) for x in value.split(n.separator))
    return args, kw


def test_every_option_is_covered():
    # The CLI and Python see the same table.
    rc, out, err = cli(["--help"])
    assert rc == 0
    for o in wsprobe.OPTIONS:
        assert "--" + o.name in out, o.name
    assert len({o.keyword for o in OPTIONS}) == len(OPTIONS)


@pytest.mark.parametrize("o", OPTIONS, ids=[o.name for o in OPTIONS])
def test_same_settings(o, files):
    url = WSS if o.group.startswith("TLS") else URL
    cli_value, py_value = sample(o, files)
    args, kw = needs(o, files)
    more, more_kw = needs(o, files, TOGETHER)
    rc, out, err = cli(["--dry-run"] + args + [url])
    assert rc == 0, err
    without = json.loads(out)
    opt = ["--" + o.name] + ([cli_value] if cli_value is not None else [])
    rc, out, err = cli(["--dry-run"] + args + more + opt + [url])
    assert rc == 0, err
    by_cli = json.loads(out)
    by_python = wsprobe.dry_run(url, **kw, **more_kw, **{o.keyword: py_value})
    assert by_python == by_cli
    assert wsprobe.dry_run(url, **kw) == without
    if o.name not in INVISIBLE:
        assert by_cli != without, "--%s %s changed nothing" % (o.name,
                                                              cli_value)


@pytest.mark.parametrize("o", [o for o in OPTIONS if too_big(o)],
                         ids=[o.name for o in OPTIONS if too_big(o)])
def test_same_refusal(o, files):
    args, kw = needs(o, files)
    bad = too_big(o)
    rc, out, err = cli(args + ["--" + o.name, bad, URL])
    assert rc == 2
    # "wsprobe: --count: 10000001 is out of range (1-10000000) (see --help)"
    prefix = "wsprobe: --%s: " % o.name
    assert err.startswith(prefix), err
    message = err[len(prefix):].rsplit(" (see --help)", 1)[0]
    value = bad if o.type != "list" else [int(x) for x in bad.split(",")]
    if o.type == "uint":
        value = int(bad)
    with pytest.raises(wsprobe.ConfigError) as e:
        wsprobe.dry_run(URL, **kw, **{o.keyword: value})
    assert str(e.value) == "%s: %s" % (o.keyword, message)
