#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# House rules that a machine can check (as fwupd's contrib/ci/check-source.py).
# Usage: check-source.py [ROOT]   — prints one line per violation, exits 1 if any.
import os
import re
import sys

RULES = []


def rule(func):
    RULES.append(func)
    return func


def c_files(root, under=""):
    base = os.path.join(root, under)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if not d.startswith(("build", ".", "node_modules", "subprojects"))]
        for name in sorted(filenames):
            if name.endswith((".c", ".h")):
                yield os.path.join(dirpath, name)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def lines_matching(path, pattern):
    for number, line in enumerate(strip_comments(read(path)).splitlines(), 1):
        if re.search(pattern, line):
            yield number


@rule
def no_goto(root):
    """no goto: clean-up is g_autoptr's job"""
    for path in c_files(root):
        for n in lines_matching(path, r"\bgoto\b"):
            yield f"{path}:{n}: goto is not used in hemgate"


@rule
def no_g_error_or_abort(root):
    """no g_error () or abort () in the daemon, the host, the plugin API or plugins"""
    for under in ("daemon", "plugins"):
        for path in c_files(root, under):
            if "/tests/" in path:
                continue
            for n in lines_matching(path, r"\b(g_error|abort)\s*\("):
                yield f"{path}:{n}: g_error ()/abort () would take the gateway down; return a GError"


@rule
def plugins_use_public_api_only(root):
    """plugins include only <hemgate-plugin.h> and call no hgd_ symbol"""
    for path in c_files(root, "plugins"):
        for n in lines_matching(path, r"\bhgd_|#include\s+[\"<]hgd-|#include\s+[\"<].*-private\.h"):
            yield f"{path}:{n}: plugins use only the public plugin API"


@rule
def libhemgate_stays_small(root):
    """the plugin API library does not use libsoup or SQLite"""
    for path in c_files(root, os.path.join("daemon", "libhemgate")):
        for n in lines_matching(path, r"#include\s+[\"<](libsoup|sqlite3)"):
            yield f"{path}:{n}: libhemgate must not depend on libsoup or SQLite"


@rule
def async_has_finish(root):
    """every _async function declared in a header has its _finish"""
    for path in c_files(root):
        if not path.endswith(".h"):
            continue
        text = strip_comments(read(path))
        for m in re.finditer(r"\b(\w+)_async\s*\(", text):
            name = m.group(1)
            if name.startswith("(") or not re.search(r"\b" + re.escape(name) + r"_finish\b", text):
                n = text[: m.start()].count("\n") + 1
                yield f"{path}:{n}: {name}_async has no {name}_finish"


@rule
def spdx_header(root):
    """every C file opens with its SPDX line"""
    for path in c_files(root):
        first = read(path).split("\n", 1)[0]
        if "SPDX-License-Identifier" not in first:
            yield f"{path}:1: the first line must be the SPDX licence line"


@rule
def translated_files_in_potfiles(root):
    """a file that marks strings with _() or N_() is listed in po/POTFILES.in"""
    potfiles_path = os.path.join(root, "po", "POTFILES.in")
    listed = set()
    if os.path.exists(potfiles_path):
        listed = {l.strip() for l in read(potfiles_path).splitlines() if l.strip() and not l.startswith("#")}
    for path in c_files(root):
        if "/tests/" in path:
            continue
        if re.search(r"\b(N_|_)\s*\(\s*\"", strip_comments(read(path))):
            rel = os.path.relpath(path, root)
            if rel not in listed:
                yield f"{rel}:1: uses _() but is missing from po/POTFILES.in"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    root = os.path.normpath(root)
    problems = 0
    for check in RULES:
        for message in check(root):
            print(message)
            problems += 1
    if problems:
        print(f"check-source: {problems} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
