#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks the gradient-angle indicator against reality (docs/reports/search-fashion-mnist.md).

Takes a `fmtsim search` result, picks formats spread evenly over its ranking (plus the named
fp134/fp143/fp152/int8), fine-tunes the checkpoint briefly with the target (errors or
activations) quantized to each format, and reports the Spearman rank correlation between the
indicator's mean angle and the fine-tuning's training loss, test loss and test error rate.

Every run is one `fmtsim train --init CKPT --errors SPEC` (resp. `--activations SPEC`), whose
end-of-epoch evaluation of the test split (with the same quantizers) gives the test numbers; a run
whose loss becomes non-finite counts as diverged (worst). Each format's result is a JSON file in
--workdir, so an interrupted check continues where it stopped.

  python3 docs/reports/finetune_check.py --search errors.json --target errors \\
      --fmtsim build/fmtsim --workdir ft-errors --out ft-errors.json
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

NAMED = ("fp134", "fp143", "fp152", "int8")


def average_ranks(values):
    """Ranks 1..n of values (ties share their average rank)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def pearson(x, y):
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return float("nan")
    return sxy / math.sqrt(sxx * syy)


def spearman(x, y):
    """Spearman's rho: the Pearson correlation of the average ranks."""
    if len(x) != len(y) or len(x) < 2:
        raise ValueError("spearman needs two equally long lists of at least 2 values")
    return pearson(average_ranks(x), average_ranks(y))


def spread(ranked, count):
    """`count` entries of a ranked list at evenly spaced ranks, first and last included."""
    n = len(ranked)
    if count >= n:
        return list(ranked)
    picks = sorted({round(i * (n - 1) / (count - 1)) for i in range(count)})
    return [ranked[i] for i in picks]


def ranked_formats(search, target):
    result = next((r for r in search["results"] if r["target"] == target), None)
    if result is None:
        raise SystemExit(f"the search result has no '{target}' ranking")
    return sorted(result["formats"], key=lambda f: f["rank"])


def select(search, target, count):
    ranked = ranked_formats(search, target)
    chosen = spread(ranked, count)
    ids = {f["id"] for f in chosen}
    for f in ranked:
        if f["name"] in NAMED and f["id"] not in ids:
            chosen.append(f)
            ids.add(f["id"])
    return sorted(chosen, key=lambda f: f["rank"]), len(ranked)


def safe_name(spec):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", spec)


def run(cmd, log):
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=f, text=True)
        f.write(r.stdout)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[1]} failed (exit {r.returncode}); see {log}")
    return r.stdout


def finetune(args, spec, workdir):
    """Fine-tunes with `spec` at the target points (None: FP32) and evaluates; returns the record."""
    tag = "fp32" if spec is None else safe_name(spec)
    result_path = os.path.join(workdir, tag + ".json")
    if os.path.exists(result_path):
        with open(result_path) as f:
            return json.load(f)
    log = os.path.join(workdir, tag + ".log")
    flag = "--errors" if args.target == "errors" else "--activations"
    quant = [] if spec is None else [flag, spec]
    train = [args.fmtsim, "train", "--arch", "resnet20", "--init", args.checkpoint, "--data", args.data,
             "--epochs", "1", "--max-batches", str(args.steps), "--batch-size", str(args.batch_size),
             "--lr", str(args.lr), "--schedule", "constant", "--weight-decay", "0.0005", "--seed", str(args.seed),
             "--quiet"] + quant
    start = time.time()
    try:
        out = run(train, log)
    except RuntimeError:
        with open(log) as f:
            if "loss is" not in f.read():
                raise
        out = None  # fmtsim train stops when the loss becomes non-finite: the format diverged
    # fmtsim train ends the epoch with the test split evaluated with the same quantizers (for
    # errors that is the plain FP32 forward pass; for activations the quantized one, as a model
    # trained in the format would run)
    if out is None:
        rec = {"spec": spec, "diverged": True, "train_loss": None, "train_accuracy": None, "test_loss": None,
               "test_accuracy": 0.0}
    else:
        m = re.search(r"train loss (\S+) acc (\S+)% \| test loss (\S+) acc (\S+)%", out)
        if not m:
            raise RuntimeError(f"no epoch summary in the output of fmtsim train; see {log}")
        rec = {"spec": spec, "diverged": False, "train_loss": float(m.group(1)),
               "train_accuracy": float(m.group(2)) / 100, "test_loss": float(m.group(3)),
               "test_accuracy": float(m.group(4)) / 100}
    rec["seconds"] = round(time.time() - start, 1)
    tmp = result_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(rec, f, indent=1)
    os.replace(tmp, result_path)
    return rec


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--search", required=True, help="fmtsim search JSON (the angles of the correlation)")
    ap.add_argument("--select-from", help="pick the formats by their ranks in this search JSON instead (e.g. a "
                    "snapshot of a search still running); the angles still come from --search")
    ap.add_argument("--target", choices=("errors", "activations"), required=True)
    ap.add_argument("--count", type=int, default=16, help="formats spread over the ranking (plus the named ones)")
    ap.add_argument("--fmtsim", default="build/fmtsim")
    ap.add_argument("--checkpoint", default="simulators/checkpoints/resnet20-fashion-mnist.safetensors")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--steps", type=int, default=200, help="fine-tuning steps (mini-batches)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--out", required=True, help="JSON with every run and the correlations")
    args = ap.parse_args(argv)

    with open(args.search) as f:
        search = json.load(f)
    picked = search
    if args.select_from:
        with open(args.select_from) as f:
            picked = json.load(f)
    chosen, total = select(picked, args.target, args.count)
    final = {f["id"]: f for f in ranked_formats(search, args.target)}
    missing = [f["id"] for f in chosen if f["id"] not in final]
    if missing:
        raise SystemExit(f"formats not in {args.search}: {', '.join(missing)}")
    chosen = sorted((final[f["id"]] for f in chosen), key=lambda f: f["rank"])
    os.makedirs(args.workdir, exist_ok=True)
    baseline = finetune(args, None, args.workdir)
    print(f"FP32 fine-tune: train loss {baseline['train_loss']:.4f}, test loss {baseline['test_loss']:.4f}, "
          f"acc {100 * baseline['test_accuracy']:.2f}%", flush=True)
    rows = []
    for i, f in enumerate(chosen):
        rec = finetune(args, f["id"], args.workdir)
        rows.append({"rank": f["rank"], "id": f["id"], "name": f["name"], "bits": f["bits"], "mean": f["mean"],
                     "stderr": f["stderr"], "batches": f["batches"], **rec})
        what = ("diverged" if rec["diverged"] else
                f"train loss {rec['train_loss']:.4f}  test loss {rec['test_loss']:.4f}  "
                f"acc {100 * rec['test_accuracy']:.2f}%")
        print(f"[{i + 1}/{len(chosen)}] rank {f['rank']:3d} {f['id']:<28} angle {f['mean']:7.2f}  {what}  "
              f"({rec['seconds']:.0f} s)", flush=True)
    angles = [r["mean"] for r in rows]
    def loss(v):  # a diverged run ranks after every finite loss
        return math.inf if v is None else v

    corr = {
        "train_loss": spearman(angles, [loss(r["train_loss"]) for r in rows]),
        "test_loss": spearman(angles, [loss(r["test_loss"]) for r in rows]),
        "test_error": spearman(angles, [1 - r["test_accuracy"] for r in rows]),
    }
    if not search.get("complete", False):
        print(f"warning: {args.search} is not a complete search: its angles are provisional", file=sys.stderr)
    out = {"search": os.path.basename(args.search), "search_complete": search.get("complete", False),
           "target": args.target, "candidates": total,
           "settings": {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "schedule": "constant",
                        "weight_decay": 0.0005, "seed": args.seed},
           "baseline": baseline, "formats": rows, "spearman": corr}
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, args.out)
    for k, v in corr.items():
        print(f"Spearman(angle, {k}) = {v:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
