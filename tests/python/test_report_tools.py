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


rp = load("replay_early_stop")


@pytest.mark.parametrize("per_width", [False, True])
def test_replay_early_stop_equals_the_search(tmp_path, per_width):
    """The replay of docs/reports/replay_early_stop.py on an exhaustive run gives the batch count of every format
    that `fmtsim search --early-stop` gives (the report's tables rest on it)."""
    import json
    import subprocess

    exe = ROOT / "build" / "fmtsim"
    if not exe.exists():
        pytest.skip("build/fmtsim is not built")
    catalog = json.loads(subprocess.run([str(exe), "formats", "--catalog", "lee22", "--json"], check=True,
                                        capture_output=True, text=True).stdout)
    ids = [f["id"] for f in catalog[::12]]  # 42 formats over 8/7/6 bits, int8 (protected) first
    common = [str(exe), "search", "--formats", *ids, "--batches", "12", "--batch-size", "16", "--threads", "2",
              "--quiet"]
    subprocess.run(common + ["--out", str(tmp_path / "exh.json")], check=True, capture_output=True)
    flags = ["--early-stop", "--keep", "4", "--min-batches", "3"] + (["--keep-per-width"] if per_width else [])
    subprocess.run(common + flags + ["--out", str(tmp_path / "early.json")], check=True, capture_output=True)
    scores, bits, protect, got_ids, complete = rp.load(str(tmp_path / "exh.json"))
    assert complete == 12 and protect.sum() == 1
    alive, used = rp.replay(scores, bits, protect, keep=4, z=4.0, min_batches=3, per_width=per_width)
    with open(tmp_path / "early.json") as f:
        early = {fm["index"]: fm for fm in json.load(f)["results"][0]["formats"]}
    assert sum(not a for a in alive) >= 5  # the test drops formats here
    for k in range(len(got_ids)):
        assert early[k]["id"] == got_ids[k]
        assert early[k]["batches"] == used[k], got_ids[k]
        assert early[k]["stopped_early"] == (not alive[k]), got_ids[k]
