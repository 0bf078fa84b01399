# SPDX-License-Identifier: MIT
# Installs the build into a temporary DESTDIR, compiles each C program given (capi_program.c,
# capi_families.c) with pkg-config's flags for fmtsim and runs it against the installed libfmtsim.so.
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile


def run(cmd, **kw):
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def sanitize_flags(build):
    """A sanitized libfmtsim.so (-Db_sanitize=...) needs the program built with the same sanitizers."""
    opts = json.loads(subprocess.run(["meson", "introspect", build, "--buildoptions"], check=True,
                                     capture_output=True, text=True).stdout)
    value = next((o["value"] for o in opts if o["name"] == "b_sanitize"), "none")
    return [] if value in ("none", "") else [f"-fsanitize={value}"]


def main() -> int:
    build, programs = sys.argv[1], sys.argv[2:]
    for tool in ("meson", "pkg-config", "cc"):
        if shutil.which(tool) is None:
            print(f"{tool} not found: skipped")
            return 77
    with tempfile.TemporaryDirectory(prefix="fmtsim-capi-") as tmp:
        dest = os.path.join(tmp, "root")
        run(["meson", "install", "-C", build, "--destdir", dest, "--no-rebuild", "--quiet"])
        pcs = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs if f == "fmtsim.pc"]
        if len(pcs) != 1:
            print(f"expected one installed fmtsim.pc, found {pcs}")
            return 1
        pc_dir = os.path.dirname(pcs[0])
        env = dict(os.environ, PKG_CONFIG_PATH=pc_dir, PKG_CONFIG_SYSROOT_DIR=dest)
        flags = run(["pkg-config", "--cflags", "--libs", "fmtsim"], env=env, capture_output=True, text=True).stdout
        print("pkg-config --cflags --libs fmtsim:", flags.strip())
        headers = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs if f == "fmtsim.h"]
        if not headers:
            print("fmtsim/fmtsim.h was not installed")
            return 1
        libdirs = [f[2:] for f in shlex.split(flags) if f.startswith("-L")]
        renv = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(libdirs))
        failed = 0
        for program in programs:
            exe = os.path.join(tmp, os.path.splitext(os.path.basename(program))[0])
            run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", *sanitize_flags(build), program, "-o", exe,
                 *shlex.split(flags), "-lm"])
            r = subprocess.run([exe], env=renv)
            if r.returncode != 0:
                print(f"{os.path.basename(program)}: exit {r.returncode}")
                failed = 1
        return failed

if __name__ == "__main__":
    sys.exit(main())
