#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Markdown tables of a `fmtsim search` result for the reports: the top N per bit width and the
ranks of the named formats (fp134, fp143, fp152, int8).

  python3 docs/reports/search_tables.py errors.json [--top 10]
"""
import argparse
import json
import sys

NAMED = ("fp134", "fp143", "fp152", "int8")


def row(f):
    name = f["name"] or ""
    stop = f" (stopped at {f['batches']})" if f.get("stopped_early") else ""
    return (f"| {f['rank']} | `{f['id']}` | {name} | {f['bits']} | {f['mean']:.3f} | {f['stderr']:.3f} | "
            f"{f['batches']}{stop} |")


HEADER = ["| rank | format | name | bits | mean angle (deg) | stderr | batches |", "|---|---|---|---|---|---|---|"]


def tables(result, top):
    formats = sorted(result["formats"], key=lambda f: f["rank"])
    lines = [f"### {result['target']}: top {top} per bit width", ""]
    for bits in sorted({f["bits"] for f in formats}, reverse=True):
        of_width = [f for f in formats if f["bits"] == bits]
        lines += [f"{bits} bits ({len(of_width)} formats):", ""] + HEADER + [row(f) for f in of_width[:top]] + [""]
    lines += [f"### {result['target']}: the named formats", ""] + HEADER
    lines += [row(f) for f in formats if f["name"] in NAMED] + [""]
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("search", help="fmtsim search JSON")
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args(argv)
    with open(args.search) as f:
        d = json.load(f)
    if not d.get("complete", False):
        print("warning: the search is not complete", file=sys.stderr)
    for result in d["results"]:
        print("\n".join(tables(result, args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
