#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Docs that cannot go stale: re-run every `<!-- fmtsim: ARGS -->` block in docs/*.md and diff its output;
# compile and run every C++ block marked `<!-- compile -->` against the built library.
#   check_docs.py SOURCE_ROOT FMTSIM [--update] [--cxx CXX --lib LIBDIR]
import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("root")
ap.add_argument("fmtsim")
ap.add_argument("--update", action="store_true", help="rewrite the generated blocks in place")
ap.add_argument("--cxx", default="c++")
ap.add_argument("--lib", default=None, help="directory holding libfmtsim.so (compile C++ examples)")
ap.add_argument("--sanitize", default="none", help="the build's b_sanitize: examples are built with it too")
args = ap.parse_args()
args.fmtsim = os.path.abspath(args.fmtsim)
args.root = os.path.abspath(args.root)

CMD = re.compile(r"<!-- fmtsim: (?P<args>.*?) -->\n```text\n(?P<body>.*?)```\n", re.S)
CPP = re.compile(r"<!-- compile -->\n```cpp\n(?P<code>.*?)```\n", re.S)
docs = os.path.join(args.root, "docs")
passed = failed = 0


def run_cmd(cmd_args):
    r = subprocess.run([args.fmtsim, *shlex.split(cmd_args)], capture_output=True, text=True, cwd=args.root)
    return r.stdout + (r.stderr if r.returncode != 0 else "")


for dirpath, _, files in os.walk(docs):
    for name in sorted(files):
        if not name.endswith(".md"):
            continue
        path = os.path.join(dirpath, name)
        text = open(path, encoding="utf-8").read()
        new_text = text
        for m in CMD.finditer(text):
            want = run_cmd(m.group("args"))
            if m.group("body") == want:
                passed += 1
                continue
            if args.update:
                new_text = new_text.replace(m.group(0), f"<!-- fmtsim: {m.group('args')} -->\n```text\n{want}```\n")
                passed += 1
            else:
                failed += 1
                print(f"STALE {os.path.relpath(path, args.root)}: fmtsim {m.group('args')}")
                sys.stdout.writelines(difflib.unified_diff(m.group("body").splitlines(True), want.splitlines(True),
                                                           "docs", "fmtsim"))
        if new_text != text:
            open(path, "w", encoding="utf-8").write(new_text)
        if args.lib is None:
            continue
        for i, m in enumerate(CPP.finditer(text)):
            with tempfile.TemporaryDirectory() as d:
                src, exe = os.path.join(d, "example.cpp"), os.path.join(d, "example")
                open(src, "w").write(m.group("code"))
                san = [] if args.sanitize in ("", "none") else [f"-fsanitize={args.sanitize}"]
                r = subprocess.run([args.cxx, "-std=c++20", *san, "-I", os.path.join(args.root, "include"), src, "-L",
                                    args.lib, "-lfmtsim", f"-Wl,-rpath,{args.lib}", "-o", exe], capture_output=True, text=True)
                if r.returncode == 0:
                    r = subprocess.run([exe], capture_output=True, text=True)
                if r.returncode == 0:
                    passed += 1
                else:
                    failed += 1
                    print(f"EXAMPLE {i} in {os.path.relpath(path, args.root)} failed:\n{r.stdout}{r.stderr}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
