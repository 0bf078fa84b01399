#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Peer comparison, run by hand: fmtsim vs ml_dtypes (astype) vs gfloat (round_ndarray) vs a NumPy copy, same data, one run.
#
# Usage (see docs/performance.md):
#   python3 -m venv /tmp/peers-venv && /tmp/peers-venv/bin/pip install ml_dtypes gfloat matplotlib numpy
#   /tmp/peers-venv/bin/python bench/peers/compare.py --shim build-kernels/bench/libfmtsim_peers_shim.so
# fmtsim is called through a small ctypes shim (bench/peers/fmtsim_shim.cpp) on the NumPy buffers, on one
# library thread and on all of them. The script rewrites the block between the peers markers in
# docs/performance.md and writes docs/performance_peers.svg. Every result is checked: fmtsim must equal
# ml_dtypes' round trip (astype(format).astype(float32)) bit for bit on the benchmark data, and the
# threaded call the one-thread call.
import argparse
import ctypes
import os
import platform
import sys
import time

import numpy as np

FORMATS = [  # (fmtsim spec, ml_dtypes type name, gfloat format_info name)
    ("e4m3fn", "float8_e4m3fn", "format_info_ocp_e4m3"),
    ("e5m2", "float8_e5m2", "format_info_ocp_e5m2"),
    ("e2m1fin", "float4_e2m1fn", "format_info_ocp_e2m1"),
    ("bf16", "bfloat16", "format_info_bfloat16"),
]


def best_time(fn, reps):
    fn()  # warm up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shim", required=True, help="path of libfmtsim_peers_shim.so (built in <build>/bench)")
    ap.add_argument("--log2n", type=int, default=24, help="elements = 2^log2n (default 24)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--gfloat-log2n", type=int, default=20, help="gfloat is slow: timed on 2^k elements (default 20)")
    ap.add_argument("--also", type=int, nargs="*", default=[20],
                    help="further sizes 2^k measured (default 20: in cache, not limited by the memory's bandwidth)")
    ap.add_argument("--docs", default=os.path.join(os.path.dirname(__file__), "..", "..", "docs"))
    args = ap.parse_args()

    import ml_dtypes
    import gfloat
    from gfloat import formats as gformats

    shim = ctypes.CDLL(args.shim)
    shim.fmtsim_shim_quantize_f32.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                                              ctypes.c_size_t, ctypes.c_uint]
    shim.fmtsim_shim_quantize_f32.restype = ctypes.c_int
    shim.fmtsim_shim_isa.restype = ctypes.c_char_p

    threads = os.cpu_count() or 1

    def fmtsim_q(spec, src, dst, nthreads):
        rc = shim.fmtsim_shim_quantize_f32(spec.encode(), b"rne", src.ctypes.data, dst.ctypes.data, src.size, nthreads)
        if rc != 0:
            sys.exit(f"fmtsim shim failed for {spec}")

    def measure(log2n):
        """Rates (elements/s) at 2^log2n elements, every result checked against ml_dtypes (and gfloat once)."""
        n = 1 << log2n
        x = np.random.default_rng(12345).standard_normal(n).astype(np.float32)
        y = np.empty_like(x)
        rate = {"copy": n / best_time(lambda: np.copyto(y, x), args.reps)}
        ng = 1 << min(args.gfloat_log2n, log2n)
        xg = x[:ng].astype(np.float64)
        for spec, mld, gfi in FORMATS:
            rate[("fmtsim", spec)] = n / best_time(lambda: fmtsim_q(spec, x, y, 1), args.reps)
            fm = y.copy()
            rate[("fmtsim threads", spec)] = n / best_time(lambda: fmtsim_q(spec, x, y, threads), args.reps)
            if not np.array_equal(fm.view(np.uint32), y.view(np.uint32)):
                sys.exit(f"{spec}: fmtsim on {threads} threads differs from one thread")
            dt = getattr(ml_dtypes, mld)
            rate[("ml_dtypes", spec)] = n / best_time(lambda: x.astype(dt), args.reps)
            # the same fake quantization as fmtsim's (float32 in, float32 out): the cast and back
            rate[("round trip", spec)] = n / best_time(lambda: x.astype(dt).astype(np.float32), args.reps)
            ref = x.astype(dt).astype(np.float32)
            if not np.array_equal(fm.view(np.uint32), ref.view(np.uint32)):
                bad = np.nonzero(fm.view(np.uint32) != ref.view(np.uint32))[0]
                sys.exit(f"{spec}: fmtsim and ml_dtypes differ at {bad.size} elements, first x={x[bad[0]]!r}")
            if log2n == args.log2n:
                fi = getattr(gformats, gfi)
                rate[("gfloat", spec)] = ng / best_time(lambda: gfloat.round_ndarray(fi, xg), max(1, args.reps // 2))
                gq = gfloat.round_ndarray(fi, xg).astype(np.float32)
                if not np.array_equal(gq.view(np.uint32), fm[:ng].view(np.uint32)):
                    sys.exit(f"{spec}: fmtsim and gfloat differ")
        return rate

    sizes = [args.log2n] + [k for k in args.also if k != args.log2n]
    rates = {k: measure(k) for k in sizes}

    isa = shim.fmtsim_shim_isa().decode()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from importlib import metadata
    versions = {pkg: metadata.version(pkg) for pkg in ("ml_dtypes", "gfloat")}
    rate = rates[args.log2n]
    lines = [
        "<!-- peers:begin (generated by bench/peers/compare.py; do not edit by hand) -->",
        f"Generated by `python bench/peers/compare.py --shim ...` on {cpu}, fmtsim ISA `{isa}`, "
        f"2^{args.log2n} N(0,1) float32 values (gfloat timed on 2^{min(args.gfloat_log2n, args.log2n)}), rne, best of "
        f"{args.reps}; ml_dtypes {versions['ml_dtypes']}, gfloat {versions['gfloat']}, NumPy {np.__version__}. "
        "fmtsim results were checked bit for bit against ml_dtypes and gfloat on the same data, and on "
        f"{threads} threads against one. fmtsim: one library thread (the like-for-like measure: ml_dtypes and "
        f"gfloat run on one); \"{threads} threads\": the library's own threads on the same call, what a caller gets "
        "by default on this machine. ml_dtypes: `x.astype(format)` (float32 to the 8/4/16-bit type, the goal's "
        "measure); round trip: `x.astype(format).astype(float32)`, the same float32-to-float32 fake quantization "
        "fmtsim does.",
        "",
        "| format | fmtsim G elem/s | ml_dtypes G elem/s | ml_dtypes round trip G elem/s | gfloat G elem/s "
        f"| fmtsim / ml_dtypes | fmtsim / round trip | fmtsim / gfloat | fmtsim / NumPy copy "
        f"| fmtsim {threads} threads / ml_dtypes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for spec, mld, gfi in FORMATS:
        f, m, r = rate[("fmtsim", spec)], rate[("ml_dtypes", spec)], rate[("round trip", spec)]
        g, ft = rate[("gfloat", spec)], rate[("fmtsim threads", spec)]
        lines.append(f"| {spec} | {f / 1e9:.3f} | {m / 1e9:.4f} | {r / 1e9:.4f} | {g / 1e9:.5f} | {f / m:.1f}x | "
                     f"{f / r:.1f}x | {f / g:.0f}x | {f / rate['copy']:.2f} | {ft / m:.1f}x |")
    lines.append(f"\nNumPy copy (`np.copyto`): {rate['copy'] / 1e9:.3f} G elem/s.")
    for k in sizes[1:]:
        rk = rates[k]
        lines += [
            "",
            f"At 2^{k} elements ({(1 << k) * 4 >> 20} MiB in and out, so the data stay in this machine's caches "
            "and the copy is not the limit), one thread:",
            "",
            "| format | fmtsim G elem/s | ml_dtypes G elem/s | fmtsim / ml_dtypes | fmtsim / round trip "
            "| fmtsim / NumPy copy |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for spec, mld, gfi in FORMATS:
            f, m, r = rk[("fmtsim", spec)], rk[("ml_dtypes", spec)], rk[("round trip", spec)]
            lines.append(f"| {spec} | {f / 1e9:.3f} | {m / 1e9:.4f} | {f / m:.1f}x | {f / r:.1f}x "
                         f"| {f / rk['copy']:.2f} |")
        lines.append(f"\nNumPy copy (`np.copyto`) at 2^{k}: {rk['copy'] / 1e9:.3f} G elem/s.")
    lines.append("\n![peer comparison](performance_peers.svg)")
    lines.append("<!-- peers:end -->")
    block = "\n".join(lines)

    perf = os.path.join(args.docs, "performance.md")
    with open(perf) as fh:
        text = fh.read()
    begin, end = text.find("<!-- peers:begin"), text.find("<!-- peers:end -->")
    if begin < 0 or end < 0:
        sys.exit(f"{perf}: peers markers not found")
    text = text[:begin] + block + text[end + len("<!-- peers:end -->"):]
    tmp = perf + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, perf)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 4))
    labels = [s for s, _, _ in FORMATS]
    bars = [("fmtsim, one thread", "fmtsim"), (f"fmtsim, {threads} threads", "fmtsim threads"),
            ("ml_dtypes astype", "ml_dtypes"), ("ml_dtypes round trip", "round trip"), ("gfloat", "gfloat")]
    w = 0.8 / len(bars)
    xs = np.arange(len(labels))
    for k, (who, key) in enumerate(bars):
        ax.bar(xs + (k - (len(bars) - 1) / 2) * w, [rate[(key, s)] / 1e9 for s, _, _ in FORMATS], w, label=who)
    ax.axhline(rate["copy"] / 1e9, color="gray", linestyle="--", label="NumPy copy")
    ax.set_yscale("log")
    ax.set_xticks(xs, labels)
    ax.set_ylabel("G elements / s (log scale)")
    ax.set_title(f"float32 -> format, rne, 2^{args.log2n} elements ({isa})")
    ax.legend(fontsize="small")
    fig.tight_layout()
    svg = os.path.join(args.docs, "performance_peers.svg")
    fig.savefig(svg + ".tmp.svg")
    os.replace(svg + ".tmp.svg", svg)
    print(block)


if __name__ == "__main__":
    main()
