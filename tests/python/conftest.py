# SPDX-License-Identifier: MIT
# Shared helpers for the python suite: bitwise float comparison and the fmtsim module under test.
import numpy as np
import pytest


def bits_of(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def assert_same_bits(got: np.ndarray, want: np.ndarray, x: np.ndarray, what: str) -> None:
    """Bit-for-bit equality, except that any NaN equals any NaN (payloads are not part of the contract)."""
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape, got.dtype, want.dtype)
    both_nan = np.isnan(got) & np.isnan(want)
    bad = (bits_of(got) != bits_of(want)) & ~both_nan
    if bad.any():
        idx = np.flatnonzero(bad)[:10]
        rows = [f"x={x.flat[i]!r} ({x.flat[i].hex() if hasattr(x.flat[i], 'hex') else ''}) fmtsim={got.flat[i]!r} ref={want.flat[i]!r}"
                for i in idx]
        pytest.fail(f"{what}: {int(bad.sum())} of {bad.size} differ, e.g.\n  " + "\n  ".join(rows))
