#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ABI check itself, against baselines altered from the committed one: it must fail
when a released symbol disappears or changes, and pass (reporting them) on additions.

  test-abi-check.py ABI_CHECK BUILD_ROOT LIBRARY BASELINE HEADER...

Prints TAP.
"""
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

abi_check, build_root, library, baseline = sys.argv[1:5]
headers = sys.argv[5:]
# A released function the cases alter; any function of the 1.0 node would do.
VICTIM = "hg_alarm_get_priority"
GONE = "hg_abi_check_test_gone"


def function_decl(root, name):
    for instr in root.iter("abi-instr"):
        for decl in instr.findall("function-decl"):
            if decl.get("name") == name:
                return instr, decl
    raise KeyError(name)


def elf_symbol(root, name):
    symbols = root.find("elf-function-symbols")
    for symbol in symbols.findall("elf-symbol"):
        if symbol.get("name") == name:
            return symbols, symbol
    raise KeyError(name)


def with_removed_symbol(root):
    """The baseline had a function the library no longer has."""
    symbols, symbol = elf_symbol(root, VICTIM)
    copy = ET.fromstring(ET.tostring(symbol))
    copy.set("name", GONE)
    symbols.append(copy)
    instr, decl = function_decl(root, VICTIM)
    copy = ET.fromstring(ET.tostring(decl))
    version = decl.get("elf-symbol-id").partition("@")[2]
    copy.set("name", GONE)
    copy.set("mangled-name", GONE)
    copy.set("elf-symbol-id", GONE + "@" + version)
    instr.append(copy)
    return GONE


def with_changed_return_type(root):
    """The baseline's function returned a 64-bit integer; the library's returns guint."""
    long_id = None
    for decl in root.iter("type-decl"):
        if decl.get("name") == "long int":
            long_id = decl.get("id")
    assert long_id is not None, "no 'long int' in the baseline"
    _, decl = function_decl(root, VICTIM)
    decl.find("return").set("type-id", long_id)
    return VICTIM


def without_a_symbol(root):
    """The baseline did not have a function the library has: an addition."""
    symbols, symbol = elf_symbol(root, VICTIM)
    symbols.remove(symbol)
    instr, decl = function_decl(root, VICTIM)
    instr.remove(decl)
    return VICTIM


def with_class_member_removed(root):
    """The baseline's HgPluginClass had one vfunc more: a plugin built against it would
    call past the end of the class structure."""
    for decl in root.iter("class-decl"):
        if decl.get("name") == "_HgPluginClass" and decl.get("is-declaration-only") != "yes":
            members = decl.findall("data-member")
            last = members[-1]
            copy = ET.fromstring(ET.tostring(last))
            offset = int(last.get("layout-offset-in-bits"))
            copy.set("layout-offset-in-bits", str(offset + 64 * 8))
            copy.find("var-decl").set("name", "hg_abi_check_test_vfunc")
            decl.append(copy)
            decl.set("size-in-bits", str(int(decl.get("size-in-bits")) + 64))
            return "HgPluginClass"
    raise KeyError("_HgPluginClass")


def plugin_class_older_by(root, vfunc):
    """The baseline's HgPluginClass lacked @vfunc and had one pointer more of padding, as
    if the library had since added @vfunc where it is now."""
    for instr in root.iter("abi-instr"):
        for decl in instr.findall("class-decl"):
            if decl.get("name") != "_HgPluginClass" or decl.get("is-declaration-only") == "yes":
                continue
            members = decl.findall("data-member")
            index = [m.find("var-decl").get("name") for m in members].index(vfunc)
            decl.remove(members[index])
            for member in members[index + 1:]:
                offset = int(member.get("layout-offset-in-bits")) - 64
                member.set("layout-offset-in-bits", str(offset))
            padding = members[-1].find("var-decl")
            assert padding.get("name") == "padding"
            array = next(a for a in instr.iter("array-type-def")
                         if a.get("id") == padding.get("type-id"))
            longer = ET.fromstring(ET.tostring(array))
            longer.set("id", "hgtest-padding")
            longer.set("size-in-bits", str(int(array.get("size-in-bits")) + 64))
            subrange = longer.find("subrange")
            subrange.set("id", "hgtest-padding-range")
            subrange.set("length", str(int(subrange.get("length")) + 1))
            instr.insert(list(instr).index(decl), longer)
            padding.set("type-id", "hgtest-padding")
            return "HgPluginClass"
    raise KeyError("_HgPluginClass")


def with_last_vfunc_in_padding(root):
    plugin_class_older_by(root, "handle_event")
    return None


def with_vfunc_inserted_before_others(root):
    return plugin_class_older_by(root, "configure")


def hg_error_enums(root):
    enums = [e for e in root.iter("enum-decl") if e.get("name") == "HgError"]
    assert enums, "no HgError in the baseline"
    return enums


def with_error_appended_since(root):
    """The baseline's HgError lacked its last value before HG_ERROR_LAST, as if the
    library had since appended it."""
    for enum in hg_error_enums(root):
        values = enum.findall("enumerator")
        assert values[-1].get("name") == "HG_ERROR_LAST"
        enum.remove(values[-2])
        values[-1].set("value", str(int(values[-1].get("value")) - 1))
    return None


def with_error_renumbered(root):
    """The baseline's HG_ERROR_INVALID_DATA had another number: a plugin comparing
    codes would now read another error."""
    for enum in hg_error_enums(root):
        for value in enum.findall("enumerator"):
            if value.get("name") == "HG_ERROR_INVALID_DATA":
                value.set("value", "42")
    return "HG_ERROR_INVALID_DATA"


cases = [
    ("a released function removed fails", with_removed_symbol, 1),
    ("a released function's return type changed fails", with_changed_return_type, 1),
    ("HgPluginClass grown in the baseline fails", with_class_member_removed, 1),
    ("a vfunc inserted before others fails, though the padding shrank",
     with_vfunc_inserted_before_others, 1),
    ("a vfunc in the place of padding passes (hemgate-plugin.abignore)",
     with_last_vfunc_in_padding, 0),
    ("an added function passes and is reported", without_a_symbol, 0),
    ("an error code renumbered fails", with_error_renumbered, 1),
    ("an error code appended before HG_ERROR_LAST passes (hemgate-plugin.abignore)",
     with_error_appended_since, 0),
    ("the unaltered baseline passes", None, 0),
]
print(f"1..{len(cases)}")
failed = 0
with tempfile.TemporaryDirectory() as tmp:
    for n, (title, alter, expected) in enumerate(cases, 1):
        tree = ET.parse(baseline)
        name = alter(tree.getroot()) if alter else None
        path = os.path.join(tmp, f"case-{n}.abi")
        tree.write(path)
        result = subprocess.run([abi_check, "check", build_root, library, path, *headers],
                                capture_output=True, text=True)
        output = result.stdout + result.stderr
        ok = result.returncode == expected and (name is None or name in output)
        if not ok:
            failed += 1
            print("# " + output.replace("\n", "\n# "))
        print(f"{'ok' if ok else 'not ok'} {n} - {title}"
              f" (exit {result.returncode}, expected {expected})")
sys.exit(1 if failed else 0)
