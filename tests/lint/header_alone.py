#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Lint: every public header under include/ compiles on its own (-fsyntax-only), with the project's flags.
import concurrent.futures
import os
import subprocess
import sys

root, cxx = sys.argv[1], sys.argv[2]
extra = sys.argv[3:]
inc = os.path.join(root, "include")
headers = []
for dirpath, _, files in os.walk(inc):
    for f in files:
        if f.endswith(".hpp") or f.endswith(".h"):
            headers.append(os.path.join(dirpath, f))
headers.sort()


def check(h):
    rel = os.path.relpath(h, inc)
    lang = ["-x", "c++", "-std=c++20"] if h.endswith(".hpp") else ["-x", "c", "-std=c11"]
    src = f'#include "{rel}"\n#include "{rel}"\n'  # twice: include guards / pragma once
    r = subprocess.run([cxx if h.endswith(".hpp") else "cc", *lang, "-fsyntax-only", "-Wall", "-Wextra", "-I", inc,
                        *extra, "-"], input=src.encode(), capture_output=True)
    return rel, r.returncode, r.stderr.decode()


failed = 0
with concurrent.futures.ThreadPoolExecutor(2) as ex:
    for rel, rc, err in ex.map(check, headers):
        if rc != 0:
            failed += 1
            print(f"FAIL {rel}\n{err}")
print(f"{len(headers) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
