#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Compiles one per-ISA SIMD kernel translation unit (lib/kernels/simd_<isa>.cpp) with that ISA's -m flags.
#
# Meson has no per-source compiler flags, so lib/meson.build runs this through a generator:
#   isa_compile.py INPUT OUTPUT DEPFILE --opt=O --debug=BOOL --ndebug=BOOL --warnings=LEVEL --werror=BOOL
#                  --compiler=ID-VERSION -- COMPILER [ARGS...]
# The ISA is read from the file name; no -march=native anywhere (the dispatcher picks at run time). The build's
# warning level and -Werror apply to these sources as to every other one; its sanitizers do not (see below).
import os
import subprocess
import sys

ISA_FLAGS = {
    "sse4_2": ["-msse4.2"],
    "avx2": ["-mavx2"],
    "avx512bw": ["-mavx512f", "-mavx512cd", "-mavx512dq", "-mavx512bw", "-mavx2"],
    "neon": [],  # AArch64 has NEON in the base ISA
}


def gcc_major(compiler):
    """The major version from meson's 'gcc-12.2.0', or 0 for another compiler."""
    cid, _, version = compiler.partition("-")
    return int(version.split(".")[0]) if cid == "gcc" and version.split(".")[0].isdigit() else 0


def main(argv):
    if "--" not in argv:
        sys.exit("isa_compile.py: usage: INPUT OUTPUT DEPFILE [--opt=..] [--debug=..] [--ndebug=..] -- COMPILER ARGS")
    sep = argv.index("--")
    head, compiler = argv[:sep], argv[sep + 1:]
    if len(head) < 3 or not compiler:
        sys.exit("isa_compile.py: missing input, output, depfile or compiler")
    src, out, dep = head[0], head[1], head[2]
    opts = dict(a[2:].split("=", 1) for a in head[3:] if a.startswith("--") and "=" in a)
    base = os.path.basename(src)
    if not (base.startswith("simd_") and base.endswith(".cpp")):
        sys.exit(f"isa_compile.py: {src} is not a simd_<isa>.cpp kernel file")
    isa = base[len("simd_"):-len(".cpp")]
    if isa not in ISA_FLAGS:
        sys.exit(f"isa_compile.py: unknown ISA '{isa}' in {src} (known: {', '.join(ISA_FLAGS)})")
    flags = list(ISA_FLAGS[isa])
    if isa == "neon" and os.uname().machine.startswith("arm") and not os.uname().machine.startswith("arm64"):
        flags = ["-mfpu=neon"]
    opt = opts.get("opt", "2")
    if opt != "plain":
        flags.append("-O" + opt)
    if opts.get("debug") == "true":
        flags.append("-g")
    if opts.get("ndebug") == "true":
        flags.append("-DNDEBUG")
    warnings = opts.get("warnings", "2")
    flags += {"0": [], "1": ["-Wall"], "2": ["-Wall", "-Wextra"]}.get(warnings, ["-Wall", "-Wextra", "-Wpedantic"])
    if warnings != "0" and isa == "avx512bw" and gcc_major(opts.get("compiler", "")) in range(1, 13):
        # GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() (a self-initialised variable) as the unused merge
        # source, and after inlining every such use is reported as uninitialised: GCC bug 105593, fixed in GCC 13.
        flags += ["-Wno-uninitialized", "-Wno-maybe-uninitialized"]
    if opts.get("werror") == "true":
        flags.append("-Werror")
    # b_sanitize is not applied here: these three files are most of the library's code (every format, mode and
    # sweep instantiated per ISA), and with -fsanitize=address or =undefined each takes over 7 CPU minutes to compile
    # (measured 2026-12-07, against 2.3 without: -O2 -g), too much for CI's sanitizer stage on two cores.
    cmd = compiler + flags + ["-fPIC", "-MD", "-MF", dep, "-c", src, "-o", out]
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
