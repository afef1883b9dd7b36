#!/usr/bin/python3
"""Checks that docs/wsprobe.1 documents every option `wsprobe --help` lists
and that groff renders it without warnings.

  check_man.py WSPROBE_BIN MAN_PAGE
"""
import re
import shutil
import subprocess
import sys


def main():
    wsprobe, page = sys.argv[1], sys.argv[2]
    help_text = subprocess.run([wsprobe, "--help"], capture_output=True,
                               text=True, check=True).stdout
    options = sorted(set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)",
                                    help_text)))
    with open(page, encoding="utf-8") as f:
        roff = f.read()
    # In roff a hyphen is \- ; unescape to compare.
    text = roff.replace("\\-", "-")
    missing = [o for o in options if f"--{o}" not in text]
    for o in missing:
        print(f"{page}: --{o} is in --help but not in the man page",
              file=sys.stderr)
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
                    "EXIT STATUS", "OUTCOMES", "EXAMPLES"):
        if f".SH {section}" not in roff:
            print(f"{page}: no {section} section", file=sys.stderr)
            missing.append(section)
    if shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page],
                           capture_output=True, text=True)
        if r.returncode != 0 or r.stderr.strip():
            print(f"{page}: groff: {r.stderr.strip()}", file=sys.stderr)
            missing.append("groff")
    print(f"{len(options)} options checked")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
