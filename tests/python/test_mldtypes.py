# SPDX-License-Identifier: MIT
# fmtsim vs ml_dtypes, bit for bit: every code, every midpoint and its float32 neighbours, random data,
# float32 and float64 input, for every ml_dtypes float8/float6/float4 type (and bfloat16).
import numpy as np
import pytest

import fmtsim
from conftest import assert_same_bits

ml_dtypes = pytest.importorskip("ml_dtypes")

# ml_dtypes name -> fmtsim spec (the alias must parse to the same format as the explicit spelling)
TYPES = {
    "float8_e5m2": "e5m2",
    "float8_e4m3": "e4m3",
    "float8_e3m4": "e3m4",
    "float8_e4m3fn": "e4m3fn",
    "float8_e4m3fnuz": "e4m3fnuz",
    "float8_e5m2fnuz": "e5m2fnuz",
    "float8_e4m3b11fnuz": "e4m3b11fnuz",
    "float8_e8m0fnu": "e8m0fnu",
    "float6_e2m3fn": "e2m3fin",
    "float6_e3m2fn": "e3m2fin",
    "float4_e2m1fn": "e2m1fin",
}
AVAILABLE = [n for n in TYPES if hasattr(ml_dtypes, n)]


def test_every_ml_dtypes_float_type_is_covered():
    names = {n for n in dir(ml_dtypes) if n.startswith(("float8_", "float6_", "float4_"))}
    assert names <= set(TYPES), f"ml_dtypes has float types this test does not cover: {sorted(names - set(TYPES))}"


def ref_quantize(x: np.ndarray, name: str) -> np.ndarray:
    return x.astype(getattr(ml_dtypes, name)).astype(x.dtype)


def code_values(name: str):
    """(codes, values as float64) of every code of the ml_dtypes type."""
    dt = np.dtype(getattr(ml_dtypes, name))
    bits = fmtsim.Format(TYPES[name]).bits
    codes = np.arange(2**bits, dtype=np.uint8)
    vals = codes.view(dt).astype(np.float64)
    return codes, vals


def intended_difference(x: np.ndarray, name: str) -> np.ndarray:
    """Inputs where fmtsim deliberately differs from ml_dtypes (docs/python.md):
    NaN into a NaN-less format (fmtsim quantize returns NaN: fake quantization never invents a number;
    ml_dtypes returns +-0), and float32/float64 inputs below 2^-126 into e8m0fnu (ml_dtypes 0.5/0.6
    round them up to 2^-126 instead of to the nearest of 2^-127 and 2^-126; checked by
    test_e8m0fnu_below_min_normal)."""
    fmt = fmtsim.Format(TYPES[name])
    d = np.zeros(x.shape, dtype=bool)
    if not fmt.has_nan:
        d |= np.isnan(x)
    if name == "float8_e8m0fnu":
        d |= (x > 0) & (x < 2.0**-126)
    return d


@pytest.mark.parametrize("name", AVAILABLE)
def test_alias_parses_to_spec(name):
    assert fmtsim.Format(name) == fmtsim.Format(TYPES[name])
    assert fmtsim.Format(name).spec == TYPES[name]


@pytest.mark.parametrize("name", AVAILABLE)
def test_decode_every_code(name):
    codes, want = code_values(name)
    fmt = fmtsim.Format(TYPES[name])
    for dtype in (np.float32, np.float64):
        got = fmtsim.decode(codes, fmt, dtype=dtype)
        assert_same_bits(got, want.astype(dtype), codes, f"decode {name}")


@pytest.mark.parametrize("name", AVAILABLE)
def test_values_and_limits(name):
    _, vals = code_values(name)
    fmt = fmtsim.Format(TYPES[name])
    finite = vals[np.isfinite(vals)]
    assert fmt.finite_values == finite.size
    want = np.sort(finite)
    got = fmt.values()
    assert np.array_equal(got, want)
    assert fmt.max == finite.max()
    info = ml_dtypes.finfo(getattr(ml_dtypes, name))
    assert fmt.max == float(info.max)
    assert fmt.min_normal == float(info.smallest_normal)
    sub = float(info.smallest_subnormal)
    # ml_dtypes reports smallest_subnormal = smallest_normal for formats without subnormals
    assert fmt.min_subnormal == (sub if sub < fmt.min_normal else 0.0)
    assert fmt.has_inf == bool(np.isinf(vals).any())
    assert fmt.has_nan == bool(np.isnan(vals).any())


@pytest.mark.parametrize("name", AVAILABLE)
def test_encode_every_code(name):
    codes, vals = code_values(name)
    fmt = fmtsim.Format(TYPES[name])
    ok = ~np.isnan(vals)
    # every non-NaN code round-trips (encode(decode(c)) == c)
    for dtype in (np.float32, np.float64):
        got = fmtsim.encode(vals[ok].astype(dtype), fmt)
        assert np.array_equal(got, codes[ok]), name
    # and fmtsim's encode of arbitrary input equals ml_dtypes' bits (NaN codes: both must be NaN codes)
    x = probe_inputs(name, np.float32)
    x = x[~intended_difference(x, name) & ~np.isnan(x)]
    got = fmtsim.encode(x, fmt)
    want = x.astype(getattr(ml_dtypes, name)).view(np.uint8)
    gv = fmtsim.decode(got, fmt, dtype=np.float64)
    nan_both = np.isnan(gv) & np.isnan(want.view(getattr(ml_dtypes, name)).astype(np.float64))
    bad = (got != want) & ~nan_both
    assert not bad.any(), (name, x[bad][:5], got[bad][:5], want[bad][:5])


def probe_inputs(name: str, dtype) -> np.ndarray:
    """Every value, every midpoint between neighbours and the float neighbours of both, the values beyond
    max (the overflow midpoint and its neighbours), zeros, infinities and NaN, for both signs."""
    _, vals = code_values(name)
    v = np.unique(vals[np.isfinite(vals)])  # ascending, one zero
    mids = (v[:-1] + v[1:]) / 2  # exact in float64 (and in float32: at most 5 significant bits)
    fmt = fmtsim.Format(TYPES[name])
    top = v[-1]
    gap = top - v[-2]
    beyond = np.array([top + gap / 2, top + gap, 2 * top, 1e30 if dtype == np.float32 else 1e300])
    pts = np.concatenate([v, mids, beyond]).astype(dtype)
    info = np.finfo(dtype)
    nb = np.concatenate([pts, np.nextafter(pts, dtype(np.inf)), np.nextafter(pts, dtype(-np.inf)),
                         np.array([info.tiny, info.smallest_subnormal, info.max], dtype=dtype)])
    allv = np.concatenate([nb, -nb, np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan], dtype=dtype)])
    assert fmt.bits <= 8
    return allv


def random_inputs(name: str, dtype, n: int = 200_000, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fmt = fmtsim.Format(TYPES[name])
    # (a) uniformly random bit patterns (every exponent, NaN/inf included)
    if dtype == np.float32:
        a = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    else:
        a = rng.integers(0, 2**63, n, dtype=np.uint64).view(np.float64) * rng.choice([-1.0, 1.0], n)
    # (b) log-uniform magnitudes across and beyond the format's range
    lo = np.log2(fmt.min_subnormal or fmt.min_normal) - 3
    hi = np.log2(fmt.max) + 2
    b = np.exp2(rng.uniform(lo, hi, n)) * rng.choice([-1.0, 1.0], n)
    # (c) Gaussian data as in a network layer
    c = rng.standard_normal(n) * fmt.max / 8
    return np.concatenate([a, b.astype(dtype), c.astype(dtype)])


def exact_nearest_even(x: np.ndarray, name: str) -> np.ndarray:
    """Independent reference for finite inputs inside the format's range: the nearest value of the code
    table by exact rational distance, ties to the even code (M = 0: to the larger power of two)."""
    from fractions import Fraction

    codes, vals = code_values(name)
    fmt = fmtsim.Format(TYPES[name])
    ok = np.isfinite(vals)
    order = np.argsort(vals[ok], kind="stable")
    v = vals[ok][order]
    c = codes[ok][order]
    out = np.empty(x.shape, dtype=np.float64)
    for i, xi in enumerate(x.astype(np.float64)):
        j = int(np.searchsorted(v, xi))
        if j < v.size and v[j] == xi:
            out[i] = xi
        else:
            lo, hi = v[j - 1], v[j]
            dl, dh = Fraction(xi) - Fraction(lo), Fraction(hi) - Fraction(xi)
            if dl != dh:
                out[i] = lo if dl < dh else hi
            elif fmt.mantissa_bits == 0:
                out[i] = hi if xi > 0 else lo
            else:
                out[i] = lo if c[j - 1] % 2 == 0 else hi
        if out[i] == 0:
            out[i] = -0.0 if (np.signbit(xi) and fmt.has_negative_zero) else 0.0
    return out


@pytest.mark.parametrize("name", AVAILABLE)
def test_quantize_codes_midpoints_neighbours_f32(name):
    x = probe_inputs(name, np.float32)
    keep = ~intended_difference(x, name)
    got = fmtsim.quantize(x[keep], TYPES[name])
    assert_same_bits(got, ref_quantize(x[keep], name), x[keep], f"quantize {name} float32")


@pytest.mark.parametrize("name", AVAILABLE)
def test_quantize_codes_midpoints_neighbours_f64(name):
    """float64 input: ml_dtypes converts float64 through float32 (two roundings), fmtsim rounds the exact
    input once. They agree wherever the float32 step is exact or harmless; where they differ, the input is
    not a float32, ml_dtypes' result is exactly fmtsim's result on float32(x), and fmtsim's result is the
    exactly nearest value (ties to even), checked with rational arithmetic."""
    x = probe_inputs(name, np.float64)
    keep = ~intended_difference(x, name)
    x = x[keep]
    got = fmtsim.quantize(x, TYPES[name])
    ref = ref_quantize(x, name)
    differ = (got != ref) & ~(np.isnan(got) & np.isnan(ref))
    differ |= (got == 0) & (ref == 0) & (np.signbit(got) != np.signbit(ref))
    xd = x[differ]
    assert np.all(xd.astype(np.float32).astype(np.float64) != xd), "a float32 input differs from ml_dtypes"
    via32 = fmtsim.quantize(xd.astype(np.float32), TYPES[name]).astype(np.float64)
    assert_same_bits(via32, ref[differ], xd, f"ml_dtypes = double rounding through float32 ({name})")
    fmt = fmtsim.Format(TYPES[name])
    inside = np.isfinite(x) & (np.abs(x) <= fmt.max) & ((x > 0) | fmt.signed)
    if name == "float8_e8m0fnu":
        inside &= x >= 2.0**-127
    assert_same_bits(got[inside], exact_nearest_even(x[inside], name), x[inside], f"exact nearest {name} float64")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", AVAILABLE)
def test_quantize_random(name, dtype):
    x = random_inputs(name, dtype)
    keep = ~intended_difference(x, name)
    x = x[keep]
    got = fmtsim.quantize(x, TYPES[name])
    ref = ref_quantize(x, name)
    if dtype == np.float64:  # see test_quantize_codes_midpoints_neighbours_f64
        differ = (got != ref) & ~(np.isnan(got) & np.isnan(ref))
        via32 = fmtsim.quantize(x[differ].astype(np.float32), TYPES[name]).astype(np.float64)
        assert_same_bits(via32, ref[differ], x[differ], f"ml_dtypes double rounding {name}")
        ref = ref.copy()
        ref[differ] = got[differ]
    assert_same_bits(got, ref, x, f"quantize {name} random {np.dtype(dtype).name}")


@pytest.mark.parametrize("name", [n for n in AVAILABLE if not fmtsim.Format(TYPES[n]).has_nan])
def test_nan_into_nanless_format(name):
    """The documented difference: fmtsim quantize keeps NaN (fake quantization), ml_dtypes gives a zero;
    fmtsim encode refuses, naming the element."""
    x = np.array([1.0, np.nan, -np.nan], dtype=np.float32)
    q = fmtsim.quantize(x, TYPES[name])
    assert q[0] == 1.0 and np.isnan(q[1]) and np.isnan(q[2])
    r = ref_quantize(x, name)
    assert r[1] == 0 and r[2] == 0
    with pytest.raises(ValueError, match="element 1 is NaN"):
        fmtsim.encode(x, TYPES[name])


def test_e8m0fnu_below_min_normal():
    """e8m0fnu holds 2^-127 .. 2^127. For inputs in (0, 2^-126) the nearest values are 2^-127 and 2^-126,
    with the tie at 1.5 * 2^-127 going up (M = 0: ties go to the larger power, RULES.md 2); inputs below
    2^-127 give 2^-127 (there is no smaller value, RULES.md 4). ml_dtypes rounds every such float32
    subnormal up to 2^-126 (a known ml_dtypes difference); fmtsim follows the rule."""
    t = 2.0**-127
    x = np.array([1.4 * t, 1.49 * t, 1.5 * t, 1.6 * t, t, 0.75 * t, 0.3 * t, 2.0**-149], dtype=np.float32)
    want = np.array([t, t, 2 * t, 2 * t, t, t, t, t], dtype=np.float32)
    got = fmtsim.quantize(x, "e8m0fnu")
    assert_same_bits(got, want, x, "e8m0fnu subnormal inputs")
    # every rounding mode stays inside [2^-127, 2^-126] there
    for r in ("rtz", "rdn"):
        assert np.all(fmtsim.quantize(x, "e8m0fnu", rounding=r) == t)
    up = fmtsim.quantize(x, "e8m0fnu", rounding="rup")
    assert np.all(up[:4] == 2 * t) and up[4] == t and np.all(up[5:] == t)  # below 2^-127: 2^-127 in every mode
    ml = ref_quantize(x, "float8_e8m0fnu")
    differs = ml != want
    # record what ml_dtypes does (the reason for the exclusion in the other tests)
    assert differs.any(), "ml_dtypes now rounds e8m0fnu subnormal inputs correctly: drop the exclusion"


def test_bfloat16_random():
    x = random_inputs("float8_e5m2", np.float32)
    got = fmtsim.quantize(x, "bf16")
    assert_same_bits(got, x.astype(ml_dtypes.bfloat16).astype(np.float32), x, "bfloat16")
