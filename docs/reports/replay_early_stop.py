#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Replays `fmtsim search --early-stop` on the per-batch scores of an exhaustive run.

Every evaluation is a deterministic function of (format, batch), so the decisions of the sequential
test (docs/search.md, simulators/search.cpp early_stopper) can be replayed from an exhaustive run's
progress log (OUT.progress) for any --keep / --z / --min-batches and either rule, without running the
search again. Prints the evaluations, the survivors and whether the exhaustive top K (overall and of
every bit width) survived.

  python3 docs/reports/replay_early_stop.py exh-errors.json [--keep 10] [--z 4] [--min-batches 10]
      [--keep-per-width] [--table]

--table prints the report's table over the rules and min-batches settings. Needs NumPy.
"""
import argparse
import json
import sys

import numpy as np

# the formats `fmtsim search` never drops (lib/cli/cmd_search.cpp reference_formats), matched by id or name
PROTECTED = ("fp134", "fp143", "fp152", "int8")


def load(results_path, progress_path=None, target=0):
    """(scores[batch, format] with NaN where not evaluated, bits, protected, ids, batches complete)."""
    with open(results_path) as f:
        res = json.load(f)
    formats = res["results"][target]["formats"]
    n = len(formats)
    bits = np.zeros(n, dtype=int)
    ids = [""] * n
    protect = np.zeros(n, dtype=bool)
    for fm in formats:
        k = fm["index"]
        bits[k] = fm["bits"]
        ids[k] = fm["id"]
        protect[k] = fm["id"] in PROTECTED or (fm["name"] or "") in PROTECTED
    batches = res["config"]["batches"]
    scores = np.full((batches, n), np.nan)
    with open(progress_path or results_path + ".progress") as f:
        header = f.readline()
        if not header.startswith("fmtsim-search-progress"):
            raise SystemExit("not a fmtsim search progress log")
        if res["config"]["score"] != "first-layer":
            raise SystemExit("replay supports the first-layer score only")
        for line in f:
            p = line.split()
            if len(p) < 7 or p[0] != "R" or int(p[1]) != target:
                continue
            scores[int(p[2]), int(p[3])] = float.fromhex(p[5])  # first_layer
    complete = int(np.flatnonzero(~np.isnan(scores).any(axis=1)).size)
    return scores, bits, protect, ids, complete


def replay(scores, bits, protect, keep=10, z=4.0, min_batches=10, per_width=False, batches=None):
    """The early_stopper of simulators/search.cpp, operation for operation: (alive, batches used)."""
    n = scores.shape[1]
    batches = scores.shape[0] if batches is None else batches
    alive = np.ones(n, dtype=bool)
    used = np.zeros(n, dtype=int)
    sums = np.zeros((n, n))
    squares = np.zeros((n, n))
    for b in range(batches):
        live = np.flatnonzero(alive)
        s = scores[b, live]
        if np.isnan(s).any():
            raise SystemExit(f"batch {b}: a live format has no score (not an exhaustive run?)")
        used[live] += 1
        d = s[:, None] - s[None, :]  # score_i - score_j
        sums[np.ix_(live, live)] += d
        squares[np.ix_(live, live)] += d * d
        done = b + 1
        if done < max(2, min_batches):
            continue
        m = float(done)
        drop = []
        for pos, i in enumerate(live):
            if protect[i]:
                continue
            sm, sq = sums[i, live], squares[i, live]
            mean = sm / m
            var = np.maximum(0.0, (sq - sm * mean) / (m - 1.0))
            worse = mean - z * np.sqrt(var / m) > 0
            worse[pos] = False
            if per_width:
                worse &= bits[live] <= bits[i]
            if worse.sum() >= keep:
                drop.append(i)
        alive[drop] = False
    return alive, used


def top_kept(scores, bits, alive, keep, complete):
    """Whether the exhaustive top `keep` overall / of every bit width survived."""
    means = scores[:complete].mean(axis=0)
    order = np.argsort(means, kind="stable")
    overall = bool(alive[order[:keep]].all())
    widths = all(alive[[k for k in order if bits[k] == w][:keep]].all() for w in sorted(set(bits)))
    return overall, widths


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="an exhaustive run's results JSON (its OUT.progress next to it)")
    ap.add_argument("--progress", help="the progress log (default: RESULTS.progress)")
    ap.add_argument("--keep", type=int, default=10)
    ap.add_argument("--z", type=float, default=4.0)
    ap.add_argument("--min-batches", type=int, default=10)
    ap.add_argument("--keep-per-width", action="store_true")
    ap.add_argument("--table", action="store_true", help="the report's table of rules and settings")
    a = ap.parse_args()
    scores, bits, protect, ids, complete = load(a.results, a.progress)
    total = complete * scores.shape[1]
    print(f"{scores.shape[1]} formats, {complete} complete batches, {total} exhaustive evaluations")
    settings = [(a.keep_per_width, a.min_batches, a.z)]
    if a.table:
        settings = [(w, mb, z) for w in (False, True) for mb, z in ((10, 4.0), (5, 4.0), (3, 4.0), (2, 4.0), (3, 3.0))]
        print("| rule | min batches | z | evaluations | of exhaustive | survivors | exhaustive top "
              f"{a.keep} overall kept | top {a.keep} of every width kept |")
        print("|---|---|---|---|---|---|---|---|")
    for per_width, mb, z in settings:
        alive, used = replay(scores, bits, protect, a.keep, z, mb, per_width, complete)
        overall, widths = top_kept(scores, bits, alive, a.keep, complete)
        rule = "per width" if per_width else "overall"
        yes = {True: "yes", False: "no"}
        print(f"| {rule} | {mb} | {z:g} | {used.sum():,} | {100 * used.sum() / total:.1f}% | {alive.sum()} | "
              f"{yes[overall]} | {yes[widths]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
