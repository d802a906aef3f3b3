#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Checks manifests against data/schemas/manifest.schema.json (JSON Schema 2020-12): every
# file after --valid must pass, every file after --invalid must fail (or not parse).
# Prints TAP. Usage: check-manifests.py SCHEMA --valid FILE... --invalid FILE...
import json
import sys

import jsonschema


def main(argv):
    schema = json.load(open(argv[1], encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    cases = []
    expect_valid = True
    for arg in argv[2:]:
        if arg == "--valid":
            expect_valid = True
        elif arg == "--invalid":
            expect_valid = False
        else:
            cases.append((arg, expect_valid))

    print(f"1..{len(cases)}")
    failed = 0
    for number, (path, expect_valid) in enumerate(cases, 1):
        try:
            errors = [e.message for e in validator.iter_errors(json.load(open(path, encoding="utf-8")))]
        except json.JSONDecodeError as e:
            errors = [f"not JSON: {e}"]
        ok = (not errors) == expect_valid
        failed += not ok
        verdict = "valid" if expect_valid else "invalid"
        print(f"{'ok' if ok else 'not ok'} {number} {path} is {verdict}")
        for message in errors:
            print(f"# {message}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
