"""CLI and Python stay equal: one case per option of the library's table,
generated from the table itself (wsprobe.OPTIONS). For each option of a run
the CLI's --dry-run with the option and wsprobe.dry_run() with its keyword
must give the same settings, different from the settings without it; a
value out of range must be refused by both with the same message. For each
option of `wsprobe merge`, the CLI's merge and wsprobe.merge() with its
keyword must write the same reports and end the same way. A new option
fails here until its keyword takes the CLI's values (and, for text
options, until it has a sample below).
"""
import json
import os
import re
import subprocess

import pytest

import wsprobe
from conftest import WSPROBE

URL = "ws://127.0.0.1:9/"
WSS = "wss://127.0.0.1:9/"  # For the TLS options, which need it.

# Sample values of text options: (CLI text, Python value).
TEXT_SAMPLES = {
    "start-at": ("2030-01-01T00:00:00.5Z", "2030-01-01T00:00:00.5Z"),
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
    "expect-key": ("op", "op"),
    "resolve": ("h.test:80:127.0.0.1", ["h.test:80:127.0.0.1"]),
    "record-header": ("X-Served-By", ["X-Served-By"]),
    "step": ("wait:5", ["wait:5"]),
    "proxy": ("http://127.0.0.1:3128", "http://127.0.0.1:3128"),
    "noproxy": ("example.test", "example.test"),
    "threads": ("2", 2),
    "health": ("http://127.0.0.1:9/health", "http://127.0.0.1:9/health"),
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
    "threads": [("concurrency", "2")],
    "health-interval": [("health", "http://127.0.0.1:9/health")],
    "health-timeout": [("health", "http://127.0.0.1:9/health")],
    "jwt-alg": [("jwt-key", "@key")],
    "jwt-claims": [("jwt-secret", "s")],
    "jwt-ttl": [("jwt-secret", "s")],
    "jwt-placement": [("jwt", "a.b.c")],
    "start-tolerance": [("start-at", "2030-01-01T00:00:00Z")],
    "jwt-prefix": [("jwt", "a.b.c")],
    "jwt-query-param": [("jwt", "a.b.c"), ("jwt-placement", "query")],
    "no-require-subprotocol": [("jwt", "a.b.c")],
    "noproxy": [("proxy", "http://127.0.0.1:3128")],
}

# Options that only go together: each is tested with the others.
TOGETHER = {"cert": [("key", "@key")], "key": [("cert", "@cert")],
            "shard": [("seed", "7")]}

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
# The options of a run (dry_run()), and those of a merge (merge()).
OPTIONS = [o for o in wsprobe.OPTIONS
           if not o.front_end and not o.merge_only]
MERGE_OPTIONS = [o for o in wsprobe.OPTIONS if o.merge and not o.front_end]


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
    # The help lists merge's options after its paragraph, and only them.
    merge_part = out.split("Merge options:\n", 1)[1].split("\nExit status",
                                                           1)[0]
    listed = re.findall(r"^ +(?:-\w, )?--([a-z-]+)", merge_part, re.M)
    assert listed == [o.name for o in wsprobe.OPTIONS if o.merge]


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


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Two shards of one campaign against a closed port (every probe fails,
    at once), their JSON reports showing a token."""
    d = tmp_path_factory.mktemp("shards")
    paths = []
    for i in range(2):
        path = str(d / ("shard-%d.json" % i))
        p = subprocess.run([WSPROBE, "-q", "--json", path, "-n", "4",
                            "--seed", "5", "--shard", "%d/2" % i,
                            "--jwt", "tok.en.s3cret", "--show-secrets", URL],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 1, p.stderr
        paths.append(path)
    return paths


def merge_sample(o, tmp):
    """(CLI arguments, keywords) giving merge option o, into tmp."""
    if o.type == "output":
        path = os.path.join(tmp, "merged." + o.name)
        return ["--" + o.name, path], {o.keyword: path}
    assert o.type == "flag", "no merge sample for --%s: add one" % o.name
    # A flag's effect shows in the JSON report.
    path = os.path.join(tmp, "merged.json")
    return ["--" + o.name, "--json", path], {o.keyword: True, "json": path}


def written(tmp):
    """{name: bytes} of the files in tmp."""
    out = {}
    for name in sorted(os.listdir(tmp)):
        with open(os.path.join(tmp, name), "rb") as f:
            out[name] = f.read()
    return out


@pytest.mark.parametrize("o", MERGE_OPTIONS,
                         ids=[o.name for o in MERGE_OPTIONS])
def test_same_merge(o, shards, tmp_path):
    # allow-partial needs a shard missing; the others merge both.
    given = shards[1:] if o.name == "allow-partial" else shards
    by_cli, by_python = tmp_path / "cli", tmp_path / "python"
    by_cli.mkdir()
    by_python.mkdir()
    args, _ = merge_sample(o, str(by_cli))
    rc, out, err = cli(["merge", "-q"] + args + given)
    _, kw = merge_sample(o, str(by_python))
    rep = wsprobe.merge(given, **kw)
    assert (rc, err) == (rep.exit_code, "")
    assert written(by_cli) == written(by_python)
    assert written(by_python), "--%s wrote nothing" % o.name
    # And without it, something else comes out.
    plain = tmp_path / "plain"
    plain.mkdir()
    rc, _, err = cli(["merge", "-q", "--json", str(plain / "merged.json")]
                     + given)
    if o.type == "output" and o.name != "json":
        assert "merged." + o.name not in written(plain)
    elif o.type == "flag":
        assert written(plain) != written(by_cli) or rc != rep.exit_code


def test_merge_verdicts_and_refusals(shards, tmp_path):
    rep = wsprobe.merge(shards)
    assert (rep.verdict, rep.exit_code, rep.missing_shards) == (
        wsprobe.Verdict.FAIL, 1, [])
    assert rep.verdict == "fail" and not rep.passed
    assert rep.summary["total"] == 4 and len(rep.probes) == 4
    assert rep.text == cli(["merge"] + shards)[1]
    # A shard missing: refused, as the CLI refuses it (exit status 4).
    rc, _, err = cli(["merge"] + shards[:1])
    with pytest.raises(wsprobe.MergeError) as e:
        wsprobe.merge(shards[:1])
    assert (rc, e.value.exit_code, e.value.name) == (4, 4, "WSP_EMERGE")
    assert err == "wsprobe merge: %s\n" % str(e.value).replace(
        "allow_partial merges", "--allow-partial merges")
    assert "shard 1 of 2 is missing" in str(e.value)
    # Partial on request: its verdict, the shards it lacks, exit status 4.
    rep = wsprobe.merge(shards[:1], allow_partial=True)
    assert (rep.verdict, rep.missing_shards, rep.exit_code) == (
        wsprobe.Verdict.PARTIAL, [1], 4)
    # A file that is no report, an unwritable report, a bad keyword.
    junk = tmp_path / "junk.json"
    junk.write_text('{"x": 1}\n')
    with pytest.raises(wsprobe.MergeError) as e:
        wsprobe.merge([shards[0], junk])
    assert e.value.name == "WSP_EJSON" and str(junk) in str(e.value)
    with pytest.raises(wsprobe.Error) as e:
        wsprobe.merge(shards, html="/nonexistent/m.html")
    assert (e.value.name, e.value.exit_code) == ("WSP_EIO", 3)
    assert str(e.value) == ("html: cannot write /nonexistent/m.html: No "
                            "such file or directory")
    with pytest.raises(TypeError, match="unexpected keyword argument "
                       "'count'"):
        wsprobe.merge(shards, count=3)
    with pytest.raises(wsprobe.ConfigError, match="no reports given"):
        wsprobe.merge([])
