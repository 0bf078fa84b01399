#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets (clang++, -fsanitize=fuzzer,address,undefined) for the safetensors,
# IDX and .npy/.npz readers and runs each for SECONDS/3 seconds (default 60 in total). Inputs are at
# most 4 KiB, so any single allocation above 512 MiB is reported as a finding (hostile size fields).
# Usage: tests/io/fuzz/run.sh [SECONDS] [BUILD_DIR]   (needs clang++ and zlib1g-dev)
set -eu
seconds=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${2:-"$root/build-fuzz"}
cxx=${CXX_FUZZ:-clang++}
mkdir -p "$out"
per=$(( seconds / 3 ))
[ "$per" -ge 1 ] || per=1
flags="-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$root/include"
io="$root/lib/io"
srcs="$io/safetensors.cpp $io/idx.cpp $io/compress.cpp $io/file.cpp $io/npy.cpp $io/zip.cpp $io/npz.cpp"
# Build the shared reader objects once.
objs=""
for s in $srcs; do
  o="$out/$(basename "$s" .cpp).o"
  if [ ! -f "$o" ] || [ "$s" -nt "$o" ]; then
    $cxx $flags -fsanitize=fuzzer-no-link -c "$s" -o "$o"
  fi
  objs="$objs $o"
done
python3 "$here/seeds.py" "$out/seeds"
status=0
for t in safetensors idx npy; do
  $cxx $flags "$here/fuzz_$t.cpp" $objs -lz -o "$out/fuzz_$t"
  mkdir -p "$out/corpus_$t"
  echo "fuzz_$t: ${per}s"
  if ! "$out/fuzz_$t" -max_total_time="$per" -max_len=4096 -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 \
      -artifact_prefix="$out/crash_${t}_" "$out/corpus_$t" "$out/seeds/$t" 2>"$out/fuzz_$t.log"; then
    echo "fuzz_$t FAILED: see $out/fuzz_$t.log"; tail -40 "$out/fuzz_$t.log"; status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$out/fuzz_$t.log" | tail -2
  fi
done
exit $status
