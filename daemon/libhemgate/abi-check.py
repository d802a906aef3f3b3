#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ABI of libhemgate-plugin-1 against its released baseline (libabigail).

  abi-check.py dump  BUILD_ROOT LIBRARY BASELINE HEADER...   write LIBRARY's ABI to BASELINE
  abi-check.py check BUILD_ROOT LIBRARY BASELINE HEADER...   compare LIBRARY with BASELINE

HEADER... are the installed headers: types declared elsewhere (hg-private.h, the .c files)
are left out of the description, so the private table behind hg__private__ () and the
instance structures of final types may change freely. libabigail matches them against the
file names in the debug information, which are relative to BUILD_ROOT (meson compiles from
there), so abidw runs there with the headers' paths relative to it; the compiler's working
directory in the debug information (which a shared compiler cache can carry over from
another tree) plays no part.

check fails (exit 1) when a symbol of the baseline disappeared or changed: its signature,
or a type it reaches (a struct's size or members, an enum's values). Additions are allowed
and reported: they need a new node in hemgate-plugin.map and, at the release, a new
baseline (`ninja -C build abi-dump`). abidiff's exit status is a bit field: 1 error,
2 usage error, 4 a change, 8 an incompatible change (a removed symbol); additions alone
set 4, so the decision is taken on a comparison that leaves additions out.
"""
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

DUMP_OPTIONS = [
    "--no-corpus-path",      # not the build directory's path to the library
    "--no-comp-dir-path",    # nor the compiler's working directory
    "--no-show-locs",        # nor file and line, which change with every edit
    "--drop-undefined-syms", # nor what the library imports from GLib and json-glib
    "--drop-private-types",  # only types the installed headers declare
    "--load-all-types",      # all of them, also those no function reaches: the class
                             # structures plugins derive from (HgPluginClass)
    "--type-id-style", "hash",
]


def header_args(flag, headers):
    args = []
    for header in headers:
        args += [flag, header]
    return args


# A public type the dump must describe in full: if the headers' names did not match those
# in the debug information, every type would be left out as private.
PUBLIC_STRUCT = "_HgPluginClass"


def dump(build_root, library, baseline, headers):
    build_root = os.path.abspath(build_root)
    headers = [os.path.relpath(os.path.abspath(h), build_root) for h in headers]
    subprocess.run(["abidw", *DUMP_OPTIONS, *header_args("--header-file", headers),
                    "--out-file", os.path.abspath(baseline), os.path.abspath(library)],
                   check=True, cwd=build_root)
    complete = any(decl.get("name") == PUBLIC_STRUCT and
                   decl.get("is-declaration-only") != "yes"
                   for decl in ET.parse(baseline).getroot().iter("class-decl"))
    if not complete:
        print(f"abi-check: {baseline} does not describe {PUBLIC_STRUCT}: the headers "
              "given are not those the debug information names", file=sys.stderr)
        return 1
    return 0


# Compatible changes abidiff cannot tell from incompatible ones (a vfunc in the place of a
# class structure's padding), each with its reason.
SUPPRESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hemgate-plugin.abignore")


def abidiff(baseline, current, *extra):
    cmd = ["abidiff", "--no-show-locs", "--non-reachable-types", "--suppressions", SUPPRESSIONS,
           *extra, baseline, current]
    result = subprocess.run(cmd, capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def check(build_root, library, baseline, headers):
    # the library described as its baseline was, so that both sides are read alike
    with tempfile.TemporaryDirectory() as tmp:
        current = os.path.join(tmp, "current.abi")
        if dump(build_root, library, current, headers) != 0:
            return 1
        return compare(baseline, current)


def compare(baseline, current):
    status, report = abidiff(baseline, current, "--no-added-syms")
    if status != 0:
        print(report)
        what = "an incompatible change to the released ABI" if status & 8 else \
            "a change to a released symbol or a type it uses" if status & 4 else \
            "abidiff failed"
        print(f"abi-check: FAIL: {what} against {baseline} (abidiff exit status {status})")
        return 1
    status, report = abidiff(baseline, current, "--added-fns", "--added-vars")
    if status & 4:
        print(report)
        print("abi-check: symbols were added: allowed; list them in a new node of "
              "hemgate-plugin.map and run `ninja -C build abi-dump` at the release")
    print(f"abi-check: OK: every symbol of {baseline} is there, unchanged")
    return 0


def main():
    if len(sys.argv) < 6 or sys.argv[1] not in ("dump", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    command, build_root, library, baseline = sys.argv[1:5]
    headers = sys.argv[5:]
    if command == "dump":
        status = dump(build_root, library, baseline, headers)
        if status == 0:
            print(f"wrote {baseline}")
        return status
    return check(build_root, library, baseline, headers)


if __name__ == "__main__":
    sys.exit(main())
