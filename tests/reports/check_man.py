#!/usr/bin/python3
"""Checks docs/wsprobe.1 against the library's option table, the one source
of the CLI's options, and that groff renders it without warnings.

For every option of the table (read through the Python binding, from the
library itself): an entry (.TP or .TQ) in OPTIONS under the .SS section of
the option's group, naming --name, its one-letter name and its value's
name; its paragraph gives the default when the option has one. Every
--option an OPTIONS entry names is in the table: the page documents no
option that does not exist. The same for `wsprobe merge`: every option the
table gives it (flagged MERGE) has an entry in the MERGE section, and that
section documents no other; an option only merge takes is in no OPTIONS
section. The page has the usual sections.

  check_man.py MAN_PAGE          (WSPROBE_LIBRARY names the library)
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "bindings", "python"))
import wsprobe  # noqa: E402


def plain(roff):
    """Roff without escapes and fonts: what a reader sees."""
    text = roff.replace("\\-", "-").replace("\\(aq", "'")
    text = text.replace("\\(dq", '"').replace("\\(en", "-")
    text = re.sub(r"\\f[BIRP]", "", text)
    text = re.sub(r"^\.(BI|BR|IR|RB|RI|IB|B|I) ", "", text, flags=re.M)
    return text.replace('"', "")


def entries(roff, sh="OPTIONS"):
    """[(section, [head lines], body)] of the .SH section `sh`."""
    m = re.search(r"^\.SH %s\n(.*?)^\.SH " % sh, roff, re.M | re.S)
    if m is None:
        return []
    out, section, heads, body, in_head = [], None, [], [], False
    lines = m.group(1).split("\n")
    for i, line in enumerate(lines):
        if line.startswith(".SS "):
            if heads:
                out.append((section, heads, "\n".join(body)))
            section, heads, body, in_head = line[4:].strip(), [], [], False
        elif line.startswith(".TP") and not line.startswith(".TP 2"):
            if heads:
                out.append((section, heads, "\n".join(body)))
            heads, body, in_head = [], [], True
        elif line.startswith(".TQ"):
            in_head = True
        elif in_head and heads is not None:
            heads.append(line)
            in_head = False
        else:
            body.append(line)
    if heads:
        out.append((section, heads, "\n".join(body)))
    return out


def documented_in(roff, sh, options, problems):
    """{name: (section, head, body)} of the entries of .SH `sh`; an entry
    naming an option not among `options` is a problem."""
    documented = {}
    names = {o.name for o in options}
    for section, heads, body in entries(roff, sh):
        for head in heads:
            for name in re.findall(r"--([a-z][a-z0-9-]*)", plain(head)):
                documented[name] = (section, plain(head), plain(body))
                if name not in names:
                    problems.append("--%s is documented in %s but is no "
                                    "option there" % (name, sh))
    return documented


def check_entry(o, head, body, problems, where=""):
    """An entry names the option's letter and value, and its default."""
    if o.short and "-%s," % o.short not in head.replace(" ", ""):
        problems.append("--%s%s: its entry lacks -%s" % (o.name, where,
                                                         o.short))
    if o.metavar and o.metavar.lower() not in head.lower():
        problems.append("--%s%s: its entry lacks its value %s" %
                        (o.name, where, o.metavar))
    if o.default is not None and not re.search(
            r"default\s+%s(?!\w)" % re.escape(o.default), body):
        problems.append("--%s%s: its paragraph does not say 'default %s'" %
                        (o.name, where, o.default))


def main():
    page = sys.argv[1]
    with open(page, encoding="utf-8") as f:
        roff = f.read()
    problems = []
    run = [o for o in wsprobe.OPTIONS if not o.merge_only]
    merge = [o for o in wsprobe.OPTIONS if o.merge]
    documented = documented_in(roff, "OPTIONS", run, problems)
    for o in run:
        if o.name not in documented:
            problems.append("--%s is not documented" % o.name)
            continue
        section, head, body = documented[o.name]
        if section != o.group:
            problems.append("--%s is under %r, not %r" % (o.name, section,
                                                          o.group))
        check_entry(o, head, body, problems)
    in_merge = documented_in(roff, "MERGE", merge, problems)
    for o in merge:
        if o.name not in in_merge:
            problems.append("--%s (an option of wsprobe merge) is not in "
                            "MERGE" % o.name)
            continue
        _, head, body = in_merge[o.name]
        check_entry(o, head, body, problems, " in MERGE")
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
                    "EXIT STATUS", "OUTCOMES", "EXAMPLES"):
        if ".SH %s" % section not in roff:
            problems.append("no %s section" % section)
    if shutil.which("groff"):
        # groff is not ours: no sanitizer runtime preloaded into it.
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0 or r.stderr.strip():
            problems.append("groff: " + r.stderr.strip())
    for p in problems:
        print("%s: %s" % (page, p), file=sys.stderr)
    print("%d options (%d of wsprobe merge) checked against the library's "
          "table" % (len(wsprobe.OPTIONS), len(merge)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
