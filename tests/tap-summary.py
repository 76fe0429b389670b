#!/usr/bin/env python3
"""Counts the TAP results of every test in meson's testlog.json and prints
'N passed, N failed, N skipped'; exits non-zero if anything failed."""
import json
import re
import sys

passed = failed = skipped = 0
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        test = json.loads(line)
        subtests = 0
        for out in (test.get("stdout") or "").splitlines():
            m = re.match(r"^(not ok|ok)\b", out)
            if not m:
                continue
            subtests += 1
            if re.search(r"#\s*SKIP\b", out, re.IGNORECASE):
                skipped += 1
            elif m.group(1) == "ok":
                passed += 1
            else:
                failed += 1
        # A test that crashed, timed out or printed no TAP still counts once.
        if test["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and not any(
            r == "not ok" for r in re.findall(r"^(not ok)", test.get("stdout") or "", re.M)
        ):
            failed += 1
        elif subtests == 0:
            if test["result"] == "SKIP":
                skipped += 1
            elif test["result"] in ("OK", "EXPECTEDFAIL"):
                passed += 1

print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
