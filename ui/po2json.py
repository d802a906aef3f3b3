#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Converts a gettext catalogue (po/<lang>.po) to the JSON the web UI loads:
# {"language": "sv", "messages": {"msgid": "msgstr", ...}}. Fuzzy and untranslated entries
# are left out, so the UI falls back to the English source text, as gettext does.
# Usage: po2json.py LANG INPUT.po OUTPUT.json
import ast
import json
import sys


def entries(path):
    """Yields (msgctxt, msgid, msgstr, fuzzy) for each entry of the catalogue at @path."""
    entry = {}
    key = None
    fuzzy = False

    def flush():
        nonlocal entry, fuzzy
        if "msgid" in entry:
            yield entry.get("msgctxt"), entry["msgid"], entry.get("msgstr", ""), fuzzy
        entry = {}
        fuzzy = False

    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                yield from flush()
                key = None
                continue
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
                continue
            if line.startswith("#"):
                continue
            if line.startswith('"'):
                if key is not None:
                    entry[key] += ast.literal_eval(line)
                continue
            word, _, rest = line.partition(" ")
            if word in ("msgctxt", "msgid", "msgstr"):
                if word == "msgctxt" and "msgid" in entry:
                    yield from flush()
                key = word
                entry[key] = ast.literal_eval(rest)
            else:
                key = None  # msgid_plural, msgstr[n]: the UI has no plural strings
    yield from flush()


def main():
    lang, source, output = sys.argv[1:4]
    messages = {}
    for context, msgid, msgstr, fuzzy in entries(source):
        if msgid == "" or msgstr == "" or fuzzy:
            continue
        messages[msgid if context is None else context + "\x04" + msgid] = msgstr
    with open(output, "w", encoding="utf-8") as f:
        json.dump({"language": lang, "messages": messages}, f, ensure_ascii=False, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
