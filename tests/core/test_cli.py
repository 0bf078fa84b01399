#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# CLI contract tests: quantize/encode/decode/describe/formats, raw stdin/stdout, errors leave no output.
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

FMTSIM = sys.argv[1]
failures = []
passed = 0


def run(*args, stdin=None):
    return subprocess.run([FMTSIM, *args], input=stdin, capture_output=True)


def check(cond, what):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(what)
        print("FAIL:", what)


with tempfile.TemporaryDirectory() as d:
    p = lambda n: os.path.join(d, n)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((3, 5, 7)) * 100).astype(np.float32)
    x.flat[0] = 464.0   # tie -> 448 in e4m3fn
    x.flat[1] = np.nan
    np.save(p("x.npy"), x)

    # quantize keeps dtype and shape; values are the format's values
    r = run("quantize", "-f", "e4m3fn", p("x.npy"), p("q.npy"))
    check(r.returncode == 0, "quantize e4m3fn exit 0: " + r.stderr.decode())
    q = np.load(p("q.npy"))
    check(q.dtype == np.float32 and q.shape == x.shape, "quantize keeps dtype and shape")
    check(q.flat[0] == 448.0 and np.isnan(q.flat[1]), "quantize 464 -> 448, NaN passes")
    r = run("describe", "e4m3fn", "--table", "--json")
    table = json.loads(r.stdout)["table"]
    values = {float(e["value"]) for e in table if e["value"] not in ("nan",)}
    check(all((v in values) or np.isnan(v) for v in q.flat), "every quantized value is a code value")

    # float64 in, float64 out
    np.save(p("x64.npy"), x.astype(np.float64))
    r = run("quantize", "-f", "bf16", "-r", "rtz", p("x64.npy"), p("q64.npy"))
    check(r.returncode == 0 and np.load(p("q64.npy")).dtype == np.float64, "float64 in -> float64 out")

    # encode/decode round trip: decode(encode(x)) == quantize(x)
    r = run("encode", "-f", "e4m3fn", p("x.npy"), p("c.npy"))
    c = np.load(p("c.npy"))
    check(r.returncode == 0 and c.dtype == np.uint8 and c.shape == x.shape, "encode gives uint8 codes")
    r = run("decode", "-f", "e4m3fn", p("c.npy"), p("dq.npy"))
    dq = np.load(p("dq.npy"))
    check(np.array_equal(dq, q, equal_nan=True), "decode(encode(x)) == quantize(x)")
    r = run("encode", "-f", "bf16", p("x.npy"), p("c16.npy"))
    check(np.load(p("c16.npy")).dtype == np.uint16, "bf16 codes are uint16")

    # raw stdin/stdout
    raw = x.tobytes()
    r = run("quantize", "-f", "e4m3fn", "-", "-", stdin=raw)
    check(r.returncode == 0 and np.array_equal(np.frombuffer(r.stdout, np.float32), q.ravel(), equal_nan=True),
          "raw float32 stdin -> stdout")
    r = run("encode", "-f", "e2m1fin", "-", "-", stdin=np.array([1.0, -6.0, 0.25], np.float32).tobytes())
    check(list(r.stdout) == [2, 15, 0], "raw codes on stdout (e2m1fin)")
    r = run("quantize", "-f", "e4m3fn", "-", "-", stdin=b"\x00\x01\x02")
    check(r.returncode != 0 and b"not a whole number" in r.stderr, "raw input of 3 bytes rejected")

    # stochastic rounding reproducible per seed
    r1 = run("quantize", "-f", "e5m2", "-r", "sr", "--seed", "7", p("x.npy"), p("s1.npy"))
    r2 = run("quantize", "-f", "e5m2", "-r", "sr", "--seed", "7", p("x.npy"), p("s2.npy"))
    r3 = run("quantize", "-f", "e5m2", "-r", "sr", "--seed", "8", p("x.npy"), p("s3.npy"))
    s1, s2, s3 = (np.load(p(n)) for n in ("s1.npy", "s2.npy", "s3.npy"))
    check(np.array_equal(s1, s2, equal_nan=True) and not np.array_equal(s1, s3, equal_nan=True), "sr seeds")

    # errors: one line on stderr, non-zero exit, no output file left behind
    for args, needle in [
        (["quantize", "-f", "e4x3", p("x.npy"), p("bad.npy")], b"position 2 ('x')"),
        (["quantize", "-f", "e4m3fn", "-r", "nearest", p("x.npy"), p("bad.npy")], b"unknown rounding mode"),
        (["quantize", "-f", "e4m3fn", p("missing.npy"), p("bad.npy")], b"cannot open"),
        (["encode", "-f", "e2m1fin", p("x.npy"), p("bad.npy")], b"element 1 is NaN"),
        (["quantize", "-f", "e4m3fn", "-r", "hys", p("x.npy"), p("bad.npy")], b"previous"),
    ]:
        r = run(*args)
        lines = r.stderr.decode().strip().splitlines()
        check(r.returncode != 0, f"{args[:3]} exits non-zero")
        check(len(lines) == 1 and needle in r.stderr, f"{args[:3]} one clear line: {r.stderr!r}")
        check(not os.path.exists(p("bad.npy")), f"{args[:3]} leaves no output")
    check(not any(n.startswith("bad.npy") for n in os.listdir(d)), "no temporary files left")

    # truncated .npy is rejected
    with open(p("x.npy"), "rb") as fh:
        blob = fh.read()
    with open(p("trunc.npy"), "wb") as fh:
        fh.write(blob[:-5])
    r = run("quantize", "-f", "e4m3fn", p("trunc.npy"), p("bad.npy"))
    check(r.returncode != 0 and b"header declares" in r.stderr and not os.path.exists(p("bad.npy")),
          "truncated npy rejected")

    # hysteresis with previous values
    np.save(p("prev.npy"), np.array([2.0, 3.0], np.float32))
    np.save(p("w.npy"), np.array([2.6, 2.4], np.float32))
    r = run("quantize", "-f", "int8", "-r", "hys", "--previous", p("prev.npy"), p("w.npy"), p("h.npy"))
    check(r.returncode == 0 and np.load(p("h.npy")).tolist() == [2.0, 3.0], "hysteresis via --previous")

    # describe JSON keys exactly as the issue names them
    r = run("describe", "float8_e4m3fn", "--json")
    j = json.loads(r.stdout)
    for k, v in {"bits": 8, "exponent_bits": 4, "mantissa_bits": 3, "bias": 7, "max": 448.0, "min_normal": 2.0**-6,
                 "min_subnormal": 2.0**-9, "has_inf": False, "has_nan": True, "finite_values": 254}.items():
        check(j.get(k) == v, f"describe {k} = {j.get(k)} (want {v})")
    r = run("describe", "e2m1fin", "--table")
    check(r.stdout.decode().count("\n") == 17, "e2m1fin table has 16 codes + header")
    r = run("formats", "--json")
    names = {e["spec"]: e for e in json.loads(r.stdout)}
    check(names["float8_e4m3fnuz"]["max"] == 240 and names["float6_e2m3fn"]["max"] == 7.5 and
          names["float6_e3m2fn"]["max"] == 28 and names["float4_e2m1fn"]["max"] == 6 and
          names["float8_e5m2fnuz"]["max"] == 57344, "formats --json limits")

# catalogs
r = run("formats", "--catalog", "lee22", "--json")
cat = json.loads(r.stdout)
check(len(cat) == 498 and sum(e["bits"] == 8 for e in cat) == 252 and sum(e["bits"] == 7 for e in cat) == 185,
      "lee22 catalog: 498 = 252 + 185 + 61")
check(any(e["name"] == "fp134" and e["id"] == "bp:5x7,4,3,2,1,0" for e in cat), "fp134 in lee22")
r = run("formats", "--catalog", "lee22", "--bits", "6", "--json")
check(len(json.loads(r.stdout)) == 61, "--bits 6 gives 61 entries")
r = run("formats", "--catalog", "nope")
check(r.returncode != 0 and b"lee22" in r.stderr, "unknown catalog lists the known ones")

print(f"{passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
