#!/usr/bin/python3
"""Checks a wsprobe JUnit or HTML report for the test suite.

  check_report.py junit FILE [--tests N] [--failures N] [--forbid TEXT]...
  check_report.py html FILE [--expect TEXT]... [--forbid TEXT]...
                  [--max-bytes N]

JUnit: parsed by xml.etree (and `xmllint --noout` when installed), checked
for the structure CI parsers rely on: <testsuites> of <testsuite>s of
<testcase classname name time>, each <failure> with a message and a type,
and tests/failures attributes that agree with the test cases.

HTML: valid UTF-8, every element closed in order, an inline SVG, nothing
that would load from elsewhere (src=, href=, url(), @import, <link>,
<script src>, http:// or https://).

Exit status 0 when every check passes; the failures are printed.
"""
import argparse
import html.parser
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

problems = []


def fail(msg):
    problems.append(msg)


def clean_text(data, name):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"{name}: not UTF-8: {e}")
        return None
    bad = [c for c in text if (ord(c) < 0x20 and c not in "\t\n")
           or 0x7F <= ord(c) <= 0x9F or c in "\ufffe\uffff"]
    if bad:
        fail(f"{name}: control characters {sorted(set(map(ord, bad)))}")
    return text


def check_junit(path, data, args):
    text = clean_text(data, path)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        fail(f"{path}: not well-formed XML: {e}")
        return
    if shutil.which("xmllint"):
        r = subprocess.run(["xmllint", "--noout", path], capture_output=True,
                           text=True)
        if r.returncode != 0:
            fail(f"{path}: xmllint: {r.stderr.strip()[:500]}")
    if root.tag != "testsuites":
        fail(f"root element is <{root.tag}>, not <testsuites>")
        return
    suites = list(root)
    if not suites or any(s.tag != "testsuite" for s in suites):
        fail("<testsuites> must hold only <testsuite> elements")
        return
    total_tests = total_failures = 0
    for s in suites:
        for attr in ("name", "tests", "failures", "time"):
            if attr not in s.attrib:
                fail(f"<testsuite> lacks {attr}")
        cases = [c for c in s if c.tag == "testcase"]
        others = [c.tag for c in s if c.tag not in ("testcase", "properties")]
        if others:
            fail(f"unexpected elements in <testsuite>: {others}")
        failed = 0
        for c in cases:
            for attr in ("classname", "name", "time"):
                if attr not in c.attrib:
                    fail(f"<testcase> lacks {attr}: {c.attrib}")
            try:
                if float(c.get("time", "0")) < 0:
                    fail(f"negative time: {c.attrib}")
            except ValueError:
                fail(f"time is not a number: {c.attrib}")
            fs = c.findall("failure")
            if len(fs) > 1:
                fail(f"more than one <failure> in {c.get('name')}")
            for f in fs:
                if not f.get("message") or not f.get("type"):
                    fail(f"<failure> without message or type in "
                         f"{c.get('name')}")
            failed += bool(fs)
        if int(s.get("tests", -1)) != len(cases):
            fail(f"testsuite tests={s.get('tests')} but {len(cases)} cases")
        if int(s.get("failures", -1)) != failed:
            fail(f"testsuite failures={s.get('failures')} but {failed} "
                 f"failing cases")
        total_tests += len(cases)
        total_failures += failed
    if int(root.get("tests", -1)) != total_tests:
        fail(f"testsuites tests={root.get('tests')}, cases {total_tests}")
    if int(root.get("failures", -1)) != total_failures:
        fail(f"testsuites failures={root.get('failures')}, failing "
             f"{total_failures}")
    if args.tests is not None and total_tests != args.tests:
        fail(f"{total_tests} test cases, expected {args.tests}")
    if args.failures is not None and total_failures != args.failures:
        fail(f"{total_failures} failures, expected {args.failures}")
    # Every failure message names the outcome, the phase, the close code
    # and the HTTP status (probes), or the failed count (points).
    for f in root.iter("failure"):
        m = f.get("message", "")
        if not (re.search(r" in \w+, close code (\d+|none), HTTP status "
                          r"(\d+|none)", m) or
                re.match(r"\d+ of \d+ probes failed at ", m)):
            fail(f"failure message lacks outcome/phase/close/status: {m!r}")
    return text


VOID = {"meta", "input", "br", "hr", "img", "link", "area", "base", "col",
        "embed", "source", "track", "wbr"}


class Balance(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "formaction",
                        "xlink:href", "data"):
                fail(f"<{tag} {name}={value!r}> refers to something")
            if name.startswith("on"):
                fail(f"<{tag}> has an event handler {name}")
        if tag in ("script", "link", "img", "iframe", "object", "embed",
                   "image", "use", "foreignobject"):
            fail(f"<{tag}> element")
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        stack = len(self.stack)
        self.handle_starttag(tag, attrs)
        del self.stack[stack:]

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1][0] != tag:
            top = self.stack[-1] if self.stack else None
            fail(f"</{tag}> at {self.getpos()} closes {top}")
            return
        self.stack.pop()


def check_html(path, data, args):
    text = clean_text(data, path)
    if text is None:
        return
    p = Balance()
    p.feed(text)
    p.close()
    if p.stack:
        fail(f"unclosed elements: {p.stack[-5:]}")
    if not text.startswith("<!DOCTYPE html>"):
        fail("no <!DOCTYPE html>")
    if "svg" not in p.tags:
        fail("no inline <svg>")
    for bad in ("http://", "https://", "url(", "@import", "//cdn"):
        if bad in text.lower():
            fail(f"contains {bad!r}")
    for e in args.expect:
        if e not in text:
            fail(f"does not contain {e!r}")
    if args.max_bytes is not None and len(data) > args.max_bytes:
        fail(f"{len(data)} bytes, more than {args.max_bytes}")
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["junit", "html"])
    ap.add_argument("file")
    ap.add_argument("--tests", type=int)
    ap.add_argument("--failures", type=int)
    ap.add_argument("--forbid", action="append", default=[])
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--max-bytes", type=int)
    args = ap.parse_args()
    with open(args.file, "rb") as f:
        data = f.read()
    if args.kind == "junit":
        check_junit(args.file, data, args)
    else:
        check_html(args.file, data, args)
    for s in args.forbid:
        if s.encode() in data:
            fail(f"contains the secret {s!r}")
    for p in problems:
        print(f"{args.file}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
