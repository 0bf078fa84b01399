#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Lint: every first-party C++ file carries the SPDX line and is clang-format clean.
set -u
root=$1
cd "$root" || exit 1
fail=0; n=0
files=$(git ls-files '*.hpp' '*.cpp' '*.h' '*.cu' '*.cuh' 2>/dev/null || find include lib simulators cuda bench tests -name '*.[ch]pp')
for f in $files; do
  n=$((n+1))
  if ! head -n 2 "$f" | grep -q 'SPDX-License-Identifier'; then echo "missing SPDX line: $f"; fail=$((fail+1)); continue; fi
  if command -v clang-format >/dev/null && ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not clang-format clean: $f (run clang-format -i $f)"; fail=$((fail+1))
  fi
done
echo "$((n-fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
