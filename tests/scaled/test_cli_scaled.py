#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# CLI contract of quantize (scaled formats) / pack / unpack / formats --catalog: an independent numpy MX oracle, state files,
# statistics, round trips and rejection of damaged packed files.
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

FMTSIM = sys.argv[1]
failures = 0


def run(*args, ok=True):
    r = subprocess.run([FMTSIM, *args], capture_output=True, text=True)
    if ok and r.returncode != 0:
        raise SystemExit(f"fmtsim {' '.join(args)} failed: {r.stderr}")
    return r


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)


def e2m1_round(v):
    # OCP FP4 E2M1 magnitudes; nearest, ties to the even significand (the one whose last mantissa bit is 0)
    grid = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6])
    even = np.array([True, False, True, False, True, False, True, False])
    a = np.minimum(np.abs(v), 6.0)
    out = np.empty_like(a)
    for i, x in enumerate(a):
        hi = np.searchsorted(grid, x)
        if hi < len(grid) and grid[hi] == x:
            out[i] = x
            continue
        lo = hi - 1
        mid = (grid[lo] + grid[hi]) / 2
        out[i] = grid[hi] if x > mid or (x == mid and even[hi]) else grid[lo]
    return np.copysign(out, v)


with tempfile.TemporaryDirectory() as d:
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((3, 64)) * 2.0 ** rng.integers(-6, 6, (3, 64))).astype(np.float32)
    x[1, :32] = np.float32(3.9999998)  # a block maximum just below a power of two
    inp, out = os.path.join(d, "x.npy"), os.path.join(d, "y.npy")
    np.save(inp, x)
    stats = os.path.join(d, "stats.json")
    run("quantize", "-f", "mxfp4_e2m1", inp, out, "--stats", stats)
    y = np.load(out)
    want = np.empty_like(x)
    for r in range(3):
        for b in range(2):
            blk = x[r, 32 * b:32 * b + 32].astype(np.float64)
            amax = np.max(np.abs(blk))
            e = np.frexp(amax)[1] - 1  # floor(log2 amax), exact for a float
            X = 2.0 ** (e - 2)
            want[r, 32 * b:32 * b + 32] = (e2m1_round(blk / X) * X).astype(np.float32)
    check(np.array_equal(y.view(np.uint32), want.view(np.uint32)), "mxfp4 matches the numpy OCP oracle")
    st = json.load(open(stats))
    check(st["elements"] == 192 and st["groups"] == 6 and st["bits_per_element"] == 4.25, "stats fields")

    # pack / unpack round trip, codes and rejection of damaged files
    packed = os.path.join(d, "x.fmtp")
    run("pack", "-f", "mxfp4_e2m1", inp, packed)
    run("unpack", packed, os.path.join(d, "z.npy"))
    check(np.array_equal(np.load(os.path.join(d, "z.npy")).view(np.uint32), y.view(np.uint32)), "unpack == quantize")
    raw = open(packed, "rb").read()
    check(len(raw) < 400 + 192 // 2 + 2 * 6, "4 bits per element plus scales")
    for name, data, msg in [("cut.fmtp", raw[:-3], "truncated"), ("bad.fmtp", raw[:40] + bytes([raw[40] ^ 1]) + raw[41:], "checksum")]:
        p = os.path.join(d, name)
        open(p, "wb").write(data)
        r = run("unpack", p, os.path.join(d, "w.npy"), ok=False)
        check(r.returncode == 1 and msg in r.stderr and not os.path.exists(os.path.join(d, "w.npy")), f"reject {name}: {r.stderr}")

    # tracking across calls through --state
    state = os.path.join(d, "s.json")
    one = os.path.join(d, "one.npy")
    for amax, want_s in [(1.0, 1), (8.0, 2), (8.0, 3)]:
        np.save(one, np.array([amax, amax / 3], dtype=np.float32))
        run("quantize", "-f", "fp134", "--room", "1", "--tracking", "--state", state, one, out)
        check(json.load(open(state))["scale_exp"] == [want_s], f"tracked s {want_s}")
    r = run("quantize", "-f", "fp134", "--room", "2", "--tracking", "--state", state, one, out, ok=False)
    check(r.returncode == 1 and "state" in r.stderr, "state of another quantizer is refused")

    # family specs (asym, scq, sign, sbin, agp, smaq, s2fp8): their own scaling through the same command
    g = (rng.standard_normal((4, 50)) * 3.0).astype(np.float32)
    gin = os.path.join(d, "g.npy")
    np.save(gin, g)

    def fam(*args, ok=True):
        r = run("quantize", *args, gin, out, ok=ok)
        return r if not ok else np.load(out)

    a4 = fam("-f", "asym4")
    lo, hi = float(g.min()), float(g.max())
    step = (hi - lo) / 15
    want = lo + np.round((g.astype(np.float64) - lo) / step) * step
    check(a4.dtype == np.float32 and a4.shape == g.shape, "asym4 keeps dtype and shape")
    check(len(np.unique(a4)) <= 16 and np.abs(a4 - want).max() <= 1e-5 * (hi - lo), "asym4: min/max grid of 16 levels")
    rows = fam("-f", "asym4", "--scale", "channel", "--axis", "0")
    check(all(len(np.unique(rw)) <= 16 for rw in rows) and not np.array_equal(rows, a4), "asym4 per row")
    check(np.array_equal(rows, fam("-f", "scq4:dx")), "scq4:dx == asym4 with one group per row")
    sg = fam("-f", "sign")
    check(np.array_equal(np.abs(sg), np.full_like(g, np.float32(np.abs(g.astype(np.float64)).mean()))), "sign: mean |x|")
    s3, s3b, s4 = (fam("-f", "smaq", "-r", "sr", "--seed", str(k)) for k in (3, 3, 4))
    check(np.array_equal(s3, s3b) and not np.array_equal(s3, s4), "smaq sr: reproducible per seed, seeded")
    fs = os.path.join(d, "fam_stats.json")
    fam("-f", "s2fp8", "--stats", fs)
    st = json.load(open(fs))
    check(st["family"] == "s2fp8" and st["alpha"] > 0 and st["elements"] == 200, "s2fp8 stats with alpha, beta")
    fam("-f", "agp2", "-r", "sr", "--stats", fs)
    st = json.load(open(fs))
    check(len(st["kept"]) == 4 and len(st["keep_probability"]) == 4, "agp2 stats: kept samples")
    for args, msg in [(["-f", "scq4:dx", "--scale", "tensor"], "takes no scale groups"),
                      (["-f", "sign", "--room", "2"], "has its own scaling"),
                      (["-f", "sbin", "--backend", "simd"], "scalar reference only"),
                      (["-f", "sbin", "--sat"], "--sat and --ftz"),
                      (["-f", "asym0"], "asym0"),
                      (["-f", "asym4", "-r", "hys"], "hysteresis")]:
        r = fam(*args, ok=False)
        check(r.returncode == 1 and msg in r.stderr, f"{' '.join(args)}: {r.stderr.strip()}")

    # catalog listing
    cat = json.loads(run("formats", "--catalog", "lee22", "--json").stdout)
    check(len(cat) == 498 and {"id", "bits", "name"} <= set(cat[0]), "catalog lee22 --json")

print("failures:", failures)
sys.exit(1 if failures else 0)
