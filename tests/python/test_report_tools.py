# SPDX-License-Identifier: MIT
# The statistics and selection of docs/reports/finetune_check.py (the indicator-vs-fine-tuning check).
import importlib.util
import math
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "reports" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


fc = load("finetune_check")


def test_average_ranks_share_ties():
    assert fc.average_ranks([10, 30, 20, 30]) == [1.0, 3.5, 2.0, 3.5]
    assert fc.average_ranks([5, 5, 5]) == [2.0, 2.0, 2.0]
    assert fc.average_ranks([math.inf, 1.0, 2.0]) == [3.0, 1.0, 2.0]


def test_spearman_known_values():
    assert fc.spearman([1, 2, 3, 4, 5], [10, 20, 30, 40, 50]) == pytest.approx(1.0)
    assert fc.spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]) == pytest.approx(-1.0)
    # no ties: 1 - 6 sum d^2 / (n (n^2 - 1)) with d = (1, -1, 1, -1, 0): 1 - 24/120
    assert fc.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)
    # ties: the Pearson correlation of average ranks (x ranks 1.5 1.5 3 4, y ranks 1 2 3 4)
    rx, ry = [1.5, 1.5, 3, 4], [1, 2, 3, 4]
    mx, my = sum(rx) / 4, sum(ry) / 4
    want = sum((a - mx) * (b - my) for a, b in zip(rx, ry)) / math.sqrt(
        sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    assert fc.spearman([7, 7, 8, 9], [1, 2, 3, 4]) == pytest.approx(want)
    # a diverged run (inf loss) ranks last
    assert fc.spearman([1, 2, 3], [0.1, 0.2, math.inf]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        fc.spearman([1], [1])


def test_spread_and_select():
    ranked = list(range(100))
    picks = fc.spread(ranked, 5)
    assert picks[0] == 0 and picks[-1] == 99 and len(picks) == 5
    assert picks == [0, 25, 50, 74, 99]  # round(i * 99 / 4): 0, 24.75, 49.5, 74.25, 99 (round half to even)
    assert fc.spread(ranked[:3], 5) == [0, 1, 2]
    formats = [{"rank": r + 1, "id": f"bp:{r}", "name": "", "bits": 8} for r in range(40)]
    formats[30]["name"] = "fp143"
    search = {"results": [{"target": "errors", "formats": formats}]}
    chosen, total = fc.select(search, "errors", 3)
    assert total == 40
    assert [f["rank"] for f in chosen] == [1, 21, 31, 40]  # index round(19.5) = 20 (half to even), plus the named one
    with pytest.raises(SystemExit):
        fc.select(search, "activations", 3)
