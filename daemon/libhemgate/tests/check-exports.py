#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks what libhemgate exports against its version script and its headers.

  check-exports.py LIBRARY MAP --public HEADER... --private HEADER...

Fails when the library exports a symbol the map does not list, or lacks one it lists;
when a symbol declared in a private header (hg-*-private.h) is exported; when a function
of an installed header is missing from the map (it would be local, so unusable); when the
map lists something no installed header declares (other than hg__private__); or when a
node's global list is not sorted. Prints one line per problem.
"""
import argparse
import re
import subprocess
import sys

# Exported, but declared only in the uninstalled hg-private.h: the door to the private API.
PRIVATE_DOOR = {"hg__private__"}


def map_nodes(path):
    """Returns [(node, [global symbols])] in the order of the file."""
    text = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
    text = re.sub(r"#.*", "", text)
    nodes = []
    for m in re.finditer(r"([\w.]+)\s*\{(.*?)\}\s*([\w.]*)\s*;", text, flags=re.S):
        body = m.group(2)
        g = re.search(r"global:(.*?)(local:|$)", body, flags=re.S)
        names = re.findall(r"([\w*]+)\s*;", g.group(1)) if g else []
        nodes.append((m.group(1), names))
    return nodes


def declared_functions(path, private=False):
    """Names of hg_ functions a header declares (or names in a macro, as HG_TYPE_X does)."""
    text = open(path).read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//.*", "", text)
    if private:
        # the library's own declarations; the inline wrappers outside it have the same names
        m = re.search(r"#ifdef HG_COMPILATION(.*?)#else", text, flags=re.S)
        if m:
            text = m.group(1)
    return set(re.findall(r"\b(hg_[a-z0-9_]+)\s*\(", text))


def exported_symbols(library):
    out = subprocess.run(["nm", "-D", "--defined-only", library], check=True,
                         capture_output=True, text=True).stdout
    symbols = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[1] == "A":  # "A": a version node's own symbol
            continue
        name, _, version = fields[2].partition("@")
        symbols[name] = version.lstrip("@")
    return symbols


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("library")
    parser.add_argument("map")
    parser.add_argument("--public", nargs="+", default=[])
    parser.add_argument("--private", nargs="+", default=[])
    args = parser.parse_args()

    problems = []
    nodes = map_nodes(args.map)
    if not nodes:
        problems.append(f"{args.map}: no version node")
    listed = {}
    for node, names in nodes:
        if names != sorted(names):
            problems.append(f"{args.map}: node {node}: the global symbols are not sorted")
        for name in names:
            if name in listed:
                problems.append(f"{args.map}: {name} is listed in {listed[name]} and {node}")
            listed[name] = node

    exported = exported_symbols(args.library)
    public = set().union(*(declared_functions(h) for h in args.public))
    private = set().union(*(declared_functions(h, private=True) for h in args.private))

    for name in sorted(private & set(exported)):
        problems.append(f"{name} is private (declared in a -private.h) but exported")
    for name in sorted(set(exported) - set(listed)):
        problems.append(f"{name} is exported but not in {args.map}")
    for name in sorted(set(listed) - set(exported)):
        problems.append(f"{name} is in {args.map} but not exported")
    for name, version in sorted(exported.items()):
        if name in listed and version != listed[name]:
            problems.append(f"{name} has version '{version}', the map says {listed[name]}")
    for name in sorted(public - set(listed)):
        problems.append(f"{name} is declared in an installed header but not in {args.map}")
    for name in sorted(set(listed) - public - PRIVATE_DOOR):
        problems.append(f"{name} is in {args.map} but no installed header declares it")
    for name in sorted(private & set(listed)):
        problems.append(f"{name} is private but listed in {args.map}")

    for p in problems:
        print(p)
    print(f"{len(exported)} symbols exported, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
