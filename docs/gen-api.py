#!/usr/bin/python3
"""Generates docs/api.md from include/wsprobe.h and docs/api.md.in.

The header is the documentation: the comment directly above a declaration
(no blank line between) documents it. This script collects, in header order
and under the header's section banners, every WSP_EXTERN function, every
public type and callback, and the X-macro tables (errors, outcomes, phases,
marks, spans), and puts them where docs/api.md.in says @REFERENCE@.

  /usr/bin/python3 docs/gen-api.py            # rewrite docs/api.md
  /usr/bin/python3 docs/gen-api.py --check    # exit 1 if it is stale

It also holds the header to its contract, and fails (exit 1) when it does
not hold:
- every function has a comment of its own;
- every function that returns int documents its errors in a paragraph
  beginning "Errors:" that names codes of WSP_ERRNO_MAP (or libuv's UV_E*
  codes), or says "none";
- every code the function's own body in lib/*.c returns (directly, or
  through a macro of its file) is among them;
- the codes no function returns are exactly those the header marks
  reserved (they keep their values, never reused).
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, "include", "wsprobe.h")
VERSION_H = os.path.join(ROOT, "include", "wsprobe_version.h.in")
MESON = os.path.join(ROOT, "meson.build")
LIB = os.path.join(ROOT, "lib")
TEMPLATE = os.path.join(ROOT, "docs", "api.md.in")
OUTPUT = os.path.join(ROOT, "docs", "api.md")

FIRST_SECTION = "Versions, errors and names"
UNDOCUMENTED = "*No comment of its own in the header.*"


class Item:
    def __init__(self, kind, name, code, doc, section):
        self.kind = kind        # function, type, callback, enum, table, macros
        self.name = name        # the declared name
        self.code = code        # the declaration as written
        self.doc = doc          # the comment above it, or None
        self.section = section  # the header section it is in
        self.rows = []          # table rows, for X-macro maps


def comment_text(lines):
    """The text of a /* */ comment, without its frame, as paragraphs."""
    text = "\n".join(lines)
    text = re.sub(r"^\s*/\*+", "", text)
    text = re.sub(r"\*+/\s*$", "", text)
    out = []
    for line in text.split("\n"):
        line = re.sub(r"^\s*\* ?", "", line).rstrip()
        out.append(line)
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return reflow(out)


def reflow(lines):
    """Joins wrapped lines into paragraphs; keeps indented lines (code)."""
    paras, cur = [], []
    for line in lines:
        if not line.strip():
            if cur:
                paras.append(" ".join(cur))
                cur = []
        elif line.startswith("  "):
            if cur:
                paras.append(" ".join(cur))
                cur = []
            paras.append("    " + line.strip())
        elif cur and cur[-1].endswith("_"):
            cur[-1] += line.strip()  # An identifier broken at the margin.
        else:
            cur.append(line.strip())
    if cur:
        paras.append(" ".join(cur))
    # Prose is Markdown: "<testcase>" must not read as an HTML tag.
    paras = [p if p.startswith("    ") else
             p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
             for p in paras]
    # Indented lines in a row form one code block.
    text = ""
    for i, p in enumerate(paras):
        if i:
            both_code = p.startswith("    ") and paras[i - 1].startswith("    ")
            text += "\n" if both_code else "\n\n"
        text += p
    return text


def is_banner(lines):
    return len(lines) == 1 and re.fullmatch(r"\s*/\*\s*-+\s*\*/\s*", lines[0])


def banner_title(lines):
    m = re.fullmatch(r"\s*/\*\s*(.*?)\s*\*/\s*", lines[0]) if len(lines) == 1 \
        else None
    return m.group(1) if m else None


def parse(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    items, section = [], FIRST_SECTION
    doc, doc_end = None, -2  # The last comment and the line it ended on.
    i = 0

    def take_doc(start):
        return doc if doc_end == start - 1 else None

    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if s.startswith("/*"):
            j = i
            while "*/" not in lines[j]:
                j += 1
            block = lines[i:j + 1]
            # A section: banner, /* Title */, banner.
            if (is_banner(block) and j + 2 < len(lines)
                    and is_banner([lines[j + 2]])):
                section = banner_title([lines[j + 1]])
                i = j + 3
                doc, doc_end = None, -2
                continue
            # A formatter directive is transparent: the comment above it
            # still documents what follows it.
            if re.match(r"/\*\s*clang-format (on|off)\s*\*/$", s):
                if doc_end == i - 1:
                    doc_end = j
                i = j + 1
                continue
            doc, doc_end = comment_text(block), j
            i = j + 1
            continue
        if re.match(r"#define WSP_\w+_MAP\(XX\)", s):
            start, j = i, i
            while lines[j].rstrip().endswith("\\"):
                j += 1
            name = re.match(r"#define (WSP_\w+_MAP)", s).group(1)
            it = Item("table", name, None, take_doc(start), section)
            for row in lines[start + 1:j + 1]:
                m = re.search(r"XX\((.*)\)", row)
                if m:
                    it.rows.append([c.strip() for c in
                                    split_args(m.group(1))])
            items.append(it)
            i = j + 1
            continue
        if s == '#include "wsprobe_version.h"':
            items.append(Item("macros", "WSP_VERSION_*", version_macros(),
                              take_doc(i), section))
            i += 1
            continue
        if s.startswith("#define WSP_VERSION"):
            start, j = i, i
            block = []
            while j < len(lines) and (lines[j].startswith("#define WSP_VERSION")
                                      or lines[j].startswith("/*")
                                      or lines[j].startswith("  (")):
                block.append(lines[j])
                j += 1
            code = "\n".join(re.sub(r"\s+\\$", lambda m: " \\", b)
                             for b in block)
            items.append(Item("macros", "WSP_VERSION_*", code,
                              take_doc(start), section))
            i = j
            continue
        if s == "typedef enum {":
            start, j = i, i
            while not lines[j].startswith("}"):
                j += 1
            name = re.match(r"}\s*(\w+);", lines[j]).group(1)
            code = "\n".join(lines[start:j + 1])
            generated = "WSP__" in code
            it = Item("enum", name, None if generated else code,
                      take_doc(start), section)
            it.generated = generated
            items.append(it)
            i = j + 1
            continue
        m = re.match(r"typedef struct (\w+) (\w+);", s)
        if m:
            items.append(Item("type", m.group(2), s, take_doc(i), section))
            i += 1
            continue
        if s.startswith("typedef ") and "(*" in s:
            start, j = i, i
            while not lines[j].rstrip().endswith(";"):
                j += 1
            code = join_decl(lines[start:j + 1])
            name = re.search(r"\(\*(\w+)\)", code).group(1)
            items.append(Item("callback", name, code, take_doc(start),
                              section))
            i = j + 1
            continue
        if s.startswith("WSP_EXTERN "):
            start, j = i, i
            while not lines[j].rstrip().endswith(";"):
                j += 1
            code = join_decl(lines[start:j + 1])
            name = re.search(r"(\w+)\(", code).group(1)
            items.append(Item("function", name, code, take_doc(start),
                              section))
            i = j + 1
            continue
        i += 1
    return items


def version_macros():
    """The version macros as meson generates them from meson.build."""
    with open(MESON, encoding="utf-8") as f:
        version = re.search(r"version:\s*'([^']+)'", f.read()).group(1)
    major, minor, patch = version.split(".")
    with open(VERSION_H, encoding="utf-8") as f:
        text = f.read()
    for k, v in (("MAJOR", major), ("MINOR", minor), ("PATCH", patch),
                 ("VERSION", version)):
        text = text.replace("@%s@" % k, v)
    lines = [l for l in text.split("\n") if l.startswith("#define WSP_VERSION")
             or l.startswith("  (") or l.startswith("/* (")]
    return "\n".join(re.sub(r"\s+\\$", lambda m: " \\", l) for l in lines)


def lib_bodies():
    """{function: the codes its body returns}, from lib/*.c: WSP_E* names
    in the body, and in the bodies of the file's macros it uses."""
    bodies = {}
    for name in sorted(os.listdir(LIB)):
        if not name.endswith(".c"):
            continue
        with open(os.path.join(LIB, name), encoding="utf-8") as f:
            text = f.read()
        macros = {}
        for m in re.finditer(r"^#define (\w+)\(.*?(?<!\\)$", text, re.M | re.S):
            macros[m.group(1)] = set(re.findall(r"\bWSP_E[A-Z]+\b",
                                                m.group(0)))
        for m in re.finditer(r"^[a-z][\w ]*?\**\b(wsp_\w+)\([^;{]*?\)\s*\{",
                             text, re.M):
            line_end = text.find("\n", m.end())
            if text[m.end():line_end].rstrip().endswith("}"):
                body = text[m.end():line_end]  # A one-line function.
            else:
                body = text[m.end():text.find("\n}\n", m.end())]
            codes = set(re.findall(r"\bWSP_E[A-Z]+\b", body))
            for mac, mc in macros.items():
                if re.search(r"\b%s\(" % mac, body):
                    codes |= mc
            bodies[m.group(1)] = codes
    return bodies


def used_codes():
    """Every WSP_E* code the library's sources return, error.c aside."""
    used = set()
    for name in os.listdir(LIB):
        if name.endswith((".c", ".h")) and name != "error.c":
            with open(os.path.join(LIB, name), encoding="utf-8") as f:
                used |= set(re.findall(r"\bWSP_E[A-Z]+\b", f.read()))
    return used


def check_contract(items):
    """The header's promises about errors; a list of problems."""
    problems = []
    table = next(it for it in items if it.name == "WSP_ERRNO_MAP")
    codes = {"WSP_" + row[0] for row in table.rows}
    bodies = lib_bodies()
    for it in items:
        if it.kind != "function":
            continue
        if it.doc is None:
            problems.append("%s(): no comment" % it.name)
            continue
        if not re.match(r"\s*int\s", it.code):
            continue
        para = next((p for p in it.doc.split("\n\n")
                     if p.startswith("Errors:")), None)
        if para is None:
            problems.append("%s(): returns int but has no \"Errors:\" "
                            "paragraph" % it.name)
            continue
        named = set(re.findall(r"\bWSP_E[A-Z]+\b", para))
        if not named and "none" not in para:
            problems.append("%s(): \"Errors:\" names no code and does not "
                            "say none" % it.name)
        for c in sorted(named - codes):
            problems.append("%s(): %s is not an error code" % (it.name, c))
        for c in sorted(bodies.get(it.name, set()) - named):
            problems.append("%s(): returns %s (lib/) but its \"Errors:\" "
                            "does not name it" % (it.name, c))
    reserved = set(re.findall(r"\bWSP_E[A-Z]+\b",
                              (re.search(r"Reserved[^.]*\.", table.doc or "")
                               or re.match("", "")).group(0)))
    unused = codes - used_codes() - {"WSP_ERRNO_MAX"}
    for c in sorted(unused - reserved):
        problems.append("%s: no function returns it; mark it reserved" % c)
    for c in sorted(reserved - unused):
        problems.append("%s: marked reserved but returned by lib/" % c)
    return problems


def split_args(text):
    """Splits "A, -1, "a, b"" at commas outside string literals."""
    out, cur, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def join_decl(lines):
    """A declaration as the header wraps it, without the export macro:
    continuation lines move left as far as the macro was wide."""
    first = lines[0]
    if not first.startswith("WSP_EXTERN "):
        return "\n".join(l.rstrip() for l in lines)
    shift = len("WSP_EXTERN ")
    out = [first[shift:].rstrip()]
    for l in lines[1:]:
        indent = len(l) - len(l.lstrip())
        out.append(" " * max(indent - shift, 4) + l.strip())
    return "\n".join(out)


TABLE_HEADS = {
    "WSP_ERRNO_MAP": ("constant", "value", "wsp_strerror()"),
    "WSP_OUTCOME_MAP": ("constant", "name"),
    "WSP_PHASE_MAP": ("constant", "name"),
    "WSP_MARK_MAP": ("constant", "name"),
    "WSP_SPAN_MAP": ("constant", "name"),
}
TABLE_PREFIX = {
    "WSP_ERRNO_MAP": "WSP_",
    "WSP_OUTCOME_MAP": "WSP_OUTCOME_",
    "WSP_PHASE_MAP": "WSP_PHASE_",
    "WSP_MARK_MAP": "WSP_MARK_",
    "WSP_SPAN_MAP": "WSP_SPAN_",
}


def render(items):
    out = []
    undocumented = []
    # The index: every function, by section.
    out.append("## Index\n")
    sections = []
    for it in items:
        if it.section not in sections:
            sections.append(it.section)
    for sec in sections:
        names = [it.name for it in items
                 if it.section == sec and it.kind == "function"]
        if names:
            out.append("- **%s**: %s" % (sec, ", ".join(
                "[`%s()`](#%s)" % (n, n) for n in names)))
    out.append("")
    for sec in sections:
        out.append("## %s\n" % sec)
        for it in (x for x in items if x.section == sec):
            if it.kind == "function":
                out.append('### <a id="%s"></a>`%s()`\n' % (it.name, it.name))
                out.append("```c\n%s\n```\n" % it.code)
                if it.doc is None:
                    undocumented.append(it.name)
                out.append((it.doc or UNDOCUMENTED) + "\n")
            elif it.kind == "table":
                out.append("### `%s`\n" % it.name)
                if it.doc:
                    out.append(it.doc + "\n")
                heads = TABLE_HEADS.get(it.name, ("constant", "name"))
                out.append("| " + " | ".join(heads) + " |")
                out.append("|" + "---|" * len(heads))
                prefix = TABLE_PREFIX.get(it.name, "")
                for row in it.rows:
                    cells = ["`%s%s`" % (prefix, row[0])]
                    for c in row[1:]:
                        if not c.startswith('"'):
                            cells.append(c)            # a value
                        elif it.name == "WSP_ERRNO_MAP":
                            cells.append(c.strip('"'))  # a message
                        else:
                            cells.append("`%s`" % c.strip('"'))  # a name
                    out.append("| " + " | ".join(cells) + " |")
                out.append("")
            elif it.kind == "enum":
                out.append("### `%s`\n" % it.name)
                if getattr(it, "generated", False):
                    if it.name == "wsp_errno":
                        out.append("The enum of the table above, with its "
                                   "values; `WSP_ERRNO_MAX` (-30999) bounds "
                                   "the range.\n")
                    else:
                        p = it.name.upper()
                        out.append("The enum of the table above: `%s_*` in "
                                   "the table's order from 0, then `%s_COUNT`."
                                   "\n" % (p, p))
                else:
                    out.append("```c\n%s\n```\n" % it.code)
                if it.doc:
                    out.append(it.doc + "\n")
            else:
                title = it.name if it.kind != "macros" else "Version macros"
                out.append("### `%s`\n" % title if it.kind != "macros"
                           else "### %s\n" % title)
                out.append("```c\n%s\n```\n" % it.code)
                if it.doc:
                    out.append(it.doc + "\n")
    return "\n".join(out).rstrip() + "\n", undocumented


def generate():
    items = parse(HEADER)
    reference, undocumented = render(items)
    with open(TEMPLATE, encoding="utf-8") as f:
        template = f.read()
    nfun = sum(1 for it in items if it.kind == "function")
    text = template.replace("@REFERENCE@", reference.rstrip("\n"))
    text = text.replace("@COUNT@", str(nfun))
    return text, undocumented


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when docs/api.md is not what this generates")
    ap.add_argument("-o", "--output", default=OUTPUT)
    args = ap.parse_args()
    text, undocumented = generate()
    problems = check_contract(parse(HEADER))
    for p in problems:
        print("gen-api: include/wsprobe.h: " + p, file=sys.stderr)
    if problems:
        return 1
    if args.check:
        try:
            with open(args.output, encoding="utf-8") as f:
                current = f.read()
        except OSError:
            current = None
        if current != text:
            print("gen-api: %s is stale; run /usr/bin/python3 docs/gen-api.py"
                  % os.path.relpath(args.output, ROOT), file=sys.stderr)
            return 1
        print("gen-api: %s is current" % os.path.relpath(args.output, ROOT))
        return 0
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
