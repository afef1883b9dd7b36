"""Python on a par with the CLI: every campaign mode, reports written to
files, shards, minted JWTs, slices, the lag threshold; errors that name the
user's argument; outcomes and phases as enums equal to their names; the
false passes of earlier releases refused. Against raceserver."""
import enum
import inspect
import json
import os
import subprocess
import xml.etree.ElementTree as ET

import os
import time

import pytest

import wsprobe
from conftest import PROXY, RUN

SECRET = "s3cret-for-tests"


def test_enums_equal_the_strings(raceserver):
    assert issubclass(wsprobe.Outcome, enum.StrEnum)
    assert wsprobe.Outcome.CLOSED_BY_SERVER == "closed_by_server"
    assert wsprobe.Phase.AWAITING_REPLY == "awaiting_reply"
    assert [str(o) for o in wsprobe.Outcome] == list(wsprobe.OUTCOMES)
    assert [p.value for p in wsprobe.Phase] == list(wsprobe.PHASES)
    s = raceserver("--ready-delay", "300")
    r = wsprobe.probe(s.url(), send=RUN)
    assert r.outcome is wsprobe.Outcome.CLOSED_BY_SERVER
    assert r.outcome == "closed_by_server"
    assert r.phase is wsprobe.Phase.AWAITING_REPLY
    assert (r.outcome, r.phase) == ("closed_by_server", "awaiting_reply")
    assert json.dumps(r.outcome) == '"closed_by_server"'
    assert "%s in %s" % (r.outcome, r.phase) == \
        "closed_by_server in awaiting_reply"


@pytest.mark.parametrize("kw", [
    dict(delays=[0, 10], count=2),
    dict(window=(0, 500)),
    dict(window=(0, 500, 5, 2)),
    dict(burst=True, concurrency=4),
    dict(concurrency_sweep=4),
])
def test_false_passes_are_refused(kw):
    # Earlier releases returned passed=True for these without sending a
    # thing; the CLI exits 2 on them.
    with pytest.raises(wsprobe.ConfigError, match="needs send"):
        wsprobe.campaign("ws://127.0.0.1:1/", **kw)


def test_errors_name_the_argument():
    url = "ws://127.0.0.1:1/"
    cases = [
        (dict(count=0), "count: 0 is out of range (1-10000000)"),
        (dict(delay_ms=-1), "delay_ms: '-1' is not a non-negative integer"),
        (dict(concurrency=2000000), "concurrency: 2000000 is out of range"),
        (dict(delays=[0, 3600001], send="x"), "delays: 3600001 is out of"),
        (dict(headers={"Bad Name": "v"}), "headers: invalid header name"),
        (dict(jwt_placement="both", jwt="a.b.c"),
         "jwt_placement: 'both' is not one of subprotocol bearer query"),
        (dict(trials=3, delays=[0], send="x"),
         "trials applies only to window"),
        (dict(window=(0, 9), count=3, send="x"),
         "count: a window search ignores the count"),
        (dict(shard=(2, 2)), "shard: I must be below N"),
        (dict(origin="http://a", headers=["Origin: http://b"]),
         "Origin given twice"),
        (dict(steps=[("close", 1006)]), "steps: a client closes with"),
        (dict(timeout_ms={"nope": 5}), "timeout_ms: unknown phase 'nope'"),
        (dict(send=b"\xff"), "send: a text message must be valid UTF-8"),
    ]
    for kw, message in cases:
        with pytest.raises(wsprobe.ConfigError) as e:
            wsprobe.campaign(url, **kw)
        assert message in str(e.value), (kw, str(e.value))
        assert "_configure" not in str(e.value)
    with pytest.raises(wsprobe.ConfigError) as e:
        wsprobe.probe("http://x")
    assert e.value.name == "WSP_EURL" and "http://x" in str(e.value)
    assert e.value.exit_code == 2
    # A report that cannot be written is refused before the run too, as
    # the CLI's exit status 3 rather than a refused option.
    for fn in (wsprobe.campaign, wsprobe.dry_run):
        with pytest.raises(wsprobe.Error) as e:
            fn(url, html="/nonexistent/r.html")
        assert not isinstance(e.value, wsprobe.ConfigError)
        assert "html: cannot write /nonexistent/r.html: " in str(e.value)
        assert (e.value.name, e.value.exit_code) == ("WSP_EIO", 3)


def test_type_errors_name_the_keyword():
    with pytest.raises(TypeError, match="unexpected keyword argument "
                       "'no_such_option'"):
        wsprobe.campaign("ws://127.0.0.1:1/", no_such_option=1)
    with pytest.raises(TypeError, match="'count'.*use wsprobe.campaign"):
        wsprobe.probe("ws://127.0.0.1:1/", count=2)
    with pytest.raises(TypeError, match="burst must be True or False"):
        wsprobe.campaign("ws://127.0.0.1:1/", burst="yes")
    with pytest.raises(TypeError, match="count must be an int, not str"):
        wsprobe.campaign("ws://127.0.0.1:1/", count="3")


def test_signatures_come_from_the_table():
    probe_kw = set(inspect.signature(wsprobe.probe).parameters) - {"url"}
    campaign_kw = set(inspect.signature(wsprobe.campaign).parameters) - {
        "url"}
    merge_kw = set(inspect.signature(wsprobe.merge).parameters) - {"paths"}
    for o in wsprobe.OPTIONS:
        if o.front_end:
            assert o.keyword is None or o.keyword == "dry_run", o
            continue
        assert (o.keyword in campaign_kw) != o.merge_only, o
        assert (o.keyword in probe_kw) == o.probe, o
        assert (o.keyword in merge_kw) == o.merge, o
        assert o.keyword in (wsprobe.merge if o.merge_only
                             else wsprobe.campaign).__doc__
    assert merge_kw == {"json", "html", "junit", "show_secrets",
                        "allow_partial"}
    assert set(inspect.signature(wsprobe.asyncio.campaign).parameters) == \
        campaign_kw | {"url"}
    assert set(inspect.signature(wsprobe.asyncio.merge).parameters) == \
        merge_kw | {"paths"}


def test_headers_in_every_form(raceserver):
    s = raceserver()
    for headers in (["X-A: b"], "X-A: b", {"X-A": "b"}, [("X-A", "b")]):
        cfg = wsprobe.dry_run(s.url(), headers=headers)["config"]
        assert cfg["headers"] == [{"name": "X-A", "value": "b"}], headers
    r = wsprobe.probe(s.url(), headers=["X-A: b", "X-C: d"], send=RUN)
    assert r.passed, r
    with pytest.raises(wsprobe.ConfigError, match="headers: invalid header"):
        wsprobe.probe(s.url(), headers={"a:b": "c"})


def test_reports_written(raceserver, tmp_path):
    s = raceserver("--ready-delay", "200")
    paths = {k: tmp_path / ("r." + k) for k in ("json", "html", "junit")}
    rep = wsprobe.campaign(s.url(), delays=[0, 400], count=2, seed=4,
                           send=RUN, concurrency=2,
                           **{k: str(p) for k, p in paths.items()})
    assert rep.failure_rates == {0: 1.0, 400: 0.0}
    with open(paths["json"]) as f:
        on_disk = json.load(f)
    assert on_disk["summary"] == rep.summary
    assert len(on_disk["probes"]) == 4
    html = paths["html"].read_text()
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html
    suite = ET.parse(paths["junit"]).getroot()
    assert int(suite.get("tests") or suite[0].get("tests")) >= 2


def test_concurrency_sweep_and_slices(raceserver):
    s = raceserver("--max-connections", "3", "--on-message", "echo")
    rep = wsprobe.campaign(s.url("/"), concurrency_sweep=8, send="x",
                           lag_threshold_ms=50, slice_ms=200)
    levels = rep.levels
    assert [lv["level"] for lv in levels["levels"]] == [1, 2, 4, 8]
    assert levels["first_failing_level"] == 4
    assert rep.campaign["loop_lag_ms"]["threshold"] == 50
    assert rep.campaign["slice_ms"] == 200
    assert "concurrency sweep up to 8" in rep.text


def test_shards_cover_the_campaign(raceserver):
    s = raceserver("--on-message", "echo")
    got = []
    for i in range(3):
        rep = wsprobe.campaign(s.url("/"), count=7, shard=(i, 3), send="x",
                               seed=5)
        assert rep.campaign["shard"] == {"index": i, "count": 3,
                                         "source": "option"}
        got += [p.index for p in rep.probes]
    assert sorted(got) == list(range(7))
    assert wsprobe.dry_run(s.url(), shard="1/2", seed=1)["campaign"][
        "shard"] == {"index": 1, "count": 2, "source": "option"}


def test_start_at(raceserver):
    """start_at opens the campaign at a wall-clock instant; missed by more
    than start_tolerance_ms it does not run (exit status 3)."""
    s = raceserver("--on-message", "echo")
    at = "%.6f" % (time.time() + 0.3)
    rep = wsprobe.campaign(s.url("/"), send="x", start_at=at,
                           start_tolerance_ms=500)
    start = rep.campaign["start"]
    assert start["tolerance_ms"] == 500 and start["late_ms"] >= 0
    assert rep.campaign["started_at"].endswith("Z")
    with pytest.raises(wsprobe.Error, match="was missed by") as e:
        wsprobe.campaign(s.url("/"), send="x", start_at="%.3f" % (
            time.time() - 5))
    assert e.value.exit_code == 3 and e.value.name == "WSP_ELATE"
    with pytest.raises(wsprobe.ConfigError, match="start_at: 'soon'"):
        wsprobe.campaign(s.url("/"), send="x", start_at="soon")


def test_shard_from_the_environment(monkeypatch):
    """The scheduler's variables, read by the library as the CLI reads
    them; the shard keyword first; several shards need the seed."""
    url = "ws://127.0.0.1:9/"
    for k in list(os.environ):
        if k.startswith(("WSPROBE_SHARD", "JOB_COMPLETION", "SLURM_ARRAY")):
            monkeypatch.delenv(k)
    assert wsprobe.dry_run(url)["campaign"]["shard"] == \
        {"index": 0, "count": 1, "source": "none"}
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "2")
    with pytest.raises(wsprobe.ConfigError, match="without WSPROBE_SHARD_COUNT"):
        wsprobe.dry_run(url, seed=1)
    monkeypatch.setenv("WSPROBE_SHARD_COUNT", "4")
    assert wsprobe.dry_run(url, seed=1)["campaign"]["shard"] == \
        {"index": 2, "count": 4, "source": "kubernetes"}
    with pytest.raises(wsprobe.ConfigError, match="needs seed"):
        wsprobe.dry_run(url)
    assert wsprobe.dry_run(url, shard=(1, 3), seed=1)["campaign"]["shard"] \
        == {"index": 1, "count": 3, "source": "option"}


def test_minted_jwts(raceserver):
    s = raceserver("--require-jwt", "--jwt-secret", SECRET)
    rep = wsprobe.campaign(s.url(), count=3, concurrency=3, send=RUN,
                           jwt_secret=SECRET,
                           jwt_claims={"sub": "user-{index}"}, jwt_ttl=60)
    assert rep.passed, rep.text
    minted = rep.raw["config"]["jwt"]["minted"]
    assert minted["alg"] == "HS256" and minted["ttl"] == 60
    assert minted["claims"] == {"sub": "user-{index}"}
    assert SECRET not in json.dumps(rep.raw) + rep.text
    bad = wsprobe.probe(s.url(), send=RUN, jwt_secret="wrong")
    assert (bad.outcome, bad.http_status) == ("handshake_rejected", 401)
    token = wsprobe.sign_jwt("HS256", SECRET, {"sub": "u"}, ttl=60)
    assert token.count(".") == 2
    assert wsprobe.probe(s.url(), send=RUN, jwt=token).passed
    with pytest.raises(wsprobe.ConfigError, match="jwt_claims needs"):
        wsprobe.probe(s.url(), jwt_claims={"a": 1})


def test_duration_and_bursts(raceserver):
    s = raceserver("--on-message", "echo")
    rep = wsprobe.campaign(s.url("/"), burst=True, concurrency=5, send="x")
    assert rep.summary["total"] == 5  # One burst of the concurrency.
    assert rep.campaign["bursts"]["released"] == 1
    rep = wsprobe.campaign(s.url("/"), duration_ms=400, rate=20, send="x")
    assert 4 <= rep.summary["total"] <= 10, rep.summary
    assert wsprobe.dry_run(s.url(), duration_ms=1500)["campaign"][
        "duration_ms"] == 1500


def test_threads(raceserver):
    # Two loops run the campaign one loop runs: the same probes, delays
    # and outcomes, and a burst released on both at one deadline.
    s = raceserver("--on-message", "echo")
    one = wsprobe.campaign(s.url("/"), count=30, concurrency=6, jitter_ms=9,
                           seed=5, send="x")
    two = wsprobe.campaign(s.url("/"), count=30, concurrency=6, jitter_ms=9,
                           seed=5, send="x", threads=2)
    assert "threads" not in one.campaign
    assert two.campaign["threads"]["count"] == 2
    assert [(p.index, p.delay_ms, p.outcome) for p in two.probes] == \
        [(p.index, p.delay_ms, p.outcome) for p in one.probes]
    assert two.summary["total"] == 30 and two.passed
    assert sum(t["probes"] for t in two.campaign["threads"]["loops"]) == 30
    rep = wsprobe.campaign(s.url("/"), burst=True, concurrency=6, send="x",
                           threads="auto")
    assert rep.campaign["bursts"]["released"] == 1
    assert wsprobe.dry_run(s.url(), threads="auto", concurrency=1)[
        "campaign"]["threads"] == 1
    with pytest.raises(wsprobe.ConfigError, match="threads: 'many' is"):
        wsprobe.campaign(s.url("/"), threads="many")
    with pytest.raises(wsprobe.ConfigError, match="concurrency sweep runs"):
        wsprobe.campaign(s.url("/"), concurrency_sweep=4, threads=2,
                         send="x")


def test_steps_in_every_form(raceserver):
    s = raceserver()
    r = wsprobe.probe(s.url(), steps=["send:" + RUN, ("expect",
                                                      "agent_completed"),
                                      "wait:10", ("close", 4000, "bye")])
    assert r.passed, r
    assert r.close_sent == (4000, "bye")
    r = wsprobe.probe(s.url("/"), steps=[("send", b"\x00\x01"),
                                         ("expect", "never", 200)])
    assert r.step == 1 and "step #1" in r.error


def test_report_paths(raceserver, tmp_path):
    s = raceserver("--on-message", "echo")
    out = tmp_path / "r.json"
    rep = wsprobe.campaign(s.url("/"), send="x", json=out)  # A PathLike.
    assert rep.passed
    assert json.loads(out.read_text())["summary"]["total"] == 1
    # A file that takes no bytes: the run happens, the error says which
    # report failed, and the Report is not lost.
    with pytest.raises(wsprobe.Error) as e:
        wsprobe.campaign(s.url("/"), send="x", json="/dev/full")
    assert "json: cannot write /dev/full: " in str(e.value)
    assert (e.value.name, e.value.exit_code) == ("WSP_EIO", 3)
    assert e.value.result.summary["total"] == 1


@pytest.fixture
def connect_proxy():
    """The tests' CONNECT proxy on 127.0.0.1, stopped by its PID."""
    started = []

    def start(*args):
        p = subprocess.Popen(["/usr/bin/python3", PROXY, *args],
                             stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        started.append(p)
        line = p.stdout.readline()
        assert "listening on 127.0.0.1:" in line, line
        return int(line.rsplit(":", 1)[1])
    yield start
    for p in started:
        p.terminate()
        p.wait(5)
        p.stdout.close()


def test_proxy_keywords(raceserver, connect_proxy):
    s = raceserver()
    port = connect_proxy()
    r = wsprobe.probe(s.url(), send=RUN, proxy="http://127.0.0.1:%d" % port)
    assert r.outcome == "ok", r.error
    assert r.proxy_status == 200
    assert r.timings_ms["proxy"] is not None
    assert r.timeline_ms["tunnel"] is not None
    # noproxy names the host: straight to the server.
    r = wsprobe.probe(s.url(), send=RUN, proxy="http://127.0.0.1:%d" % port,
                      noproxy="127.0.0.0/8")
    assert r.outcome == "ok", r.error
    assert r.proxy_status is None
    # The environment, as curl reads it, when the keywords say nothing.
    os.environ["http_proxy"] = "http://127.0.0.1:%d" % port
    try:
        r = wsprobe.probe(s.url(), send=RUN)
    finally:
        del os.environ["http_proxy"]
    assert r.proxy_status == 200
    refusing = connect_proxy("--auth", "u:p")
    r = wsprobe.probe(s.url(), send=RUN,
                      proxy="http://u:nope@127.0.0.1:%d" % refusing)
    assert r.outcome is wsprobe.Outcome.PROXY_REJECTED
    assert r.phase is wsprobe.Phase.PROXY
    assert r.proxy_status == 407
    assert "nope" not in r.error
    r = wsprobe.probe(s.url(), send=RUN,
                      proxy="http://u:p@127.0.0.1:%d" % refusing)
    assert r.outcome == "ok", r.error
    with pytest.raises(wsprobe.ConfigError,
                       match="proxy: https:// proxies are not supported"):
        wsprobe.probe(s.url(), send=RUN, proxy="https://127.0.0.1:1")


def test_health_beside_the_probes(raceserver):
    # raceserver answers a plain GET with 426: a status like any other,
    # which the verdict ignores.
    s = raceserver("--on-message", "echo")
    health = "http://127.0.0.1:%d/" % s.port
    rep = wsprobe.campaign(s.url("/"), count=3, send="x", health=health,
                           health_interval_ms=100, health_timeout_ms=1000)
    assert rep.passed
    h = rep.health
    assert h["url"] == health and h["timeout_ms"] == 1000
    assert h["samples"] and all(x["status"] == 426 for x in h["samples"])
    assert h["summary"]["statuses"] == {"426": len(h["samples"])}
    assert "health: 426 x" in rep.text
    assert wsprobe.campaign(s.url("/"), count=1, send="x").health is None
