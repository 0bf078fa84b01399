# SPDX-License-Identifier: MIT
# Real-scaled families through the general spec mechanism (fmtsim.quantize / TensorQuantizer with asym<B>,
# scq<B>:dx|dw, sign, sbin, agp<B>[:det], smaq, s2fp8): bit for bit against exact references written from
# methods.md / formats.md (fractions.Fraction arithmetic), statistical checks of the stochastic modes.
import math
from fractions import Fraction

import numpy as np
import pytest

import fmtsim
from conftest import assert_same_bits


# ---- exact helpers ------------------------------------------------------------------------------


def round_f32(q: Fraction) -> np.float32:
    """The float32 nearest to the exact q (ties to even), by comparing the candidates exactly."""
    c = np.float32(float(q))
    best = None
    for cand in (np.nextafter(c, np.float32(-np.inf)), c, np.nextafter(c, np.float32(np.inf))):
        if not np.isfinite(cand):
            continue
        d = abs(Fraction(float(cand)) - q)
        if best is None or d < best[0] or (d == best[0] and (int(cand.view(np.uint32)) & 1) == 0):
            best = (d, cand)
    return best[1]


def round_to(q: Fraction, dtype) -> float:
    return float(q) if dtype == np.float64 else round_f32(q)  # float(Fraction) is correctly rounded


def round_half_even(t: Fraction) -> int:
    fl = math.floor(t)
    f = t - fl
    if f > Fraction(1, 2) or (f == Fraction(1, 2) and fl % 2 == 1):
        return fl + 1
    return fl


def asym_ref(x: np.ndarray, bits: int, dtype) -> np.ndarray:
    """FracTrain min/max quantizer of one group (methods.md; families.hpp): lo, hi = min, max; D = (hi - lo) /
    (2^b - 1) rounded once to float32; k = round((x - lo) / D) ties to even, clamped; lo + k D rounded once."""
    flat = [Fraction(float(v)) for v in x.reshape(-1)]
    lo, hi = min(flat), max(flat)
    out = np.empty(len(flat), dtype=dtype)
    if lo == hi:
        out[:] = float(lo)
        return out.reshape(x.shape)
    L = 2**bits - 1
    D = Fraction(float(round_f32((hi - lo) / L)))
    for i, v in enumerate(flat):
        k = min(max(round_half_even((v - lo) / D), 0), L)
        out[i] = round_to(lo + k * D, dtype)
    return out.reshape(x.shape)


def f32_data(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# ---- spec parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["asym8", "asym1", "asym16", "scq4:dx", "scq4:dw", "sign", "sbin", "agp4",
                                  "agp2:det", "smaq", "smaq:5,7", "smaq:6,8:sample=64@3", "s2fp8"])
def test_family_specs_are_recognised(spec):
    assert fmtsim.is_family_spec(spec)
    q = fmtsim.TensorQuantizer(spec)
    assert q.is_family
    assert q.description.split()[0].split(":")[0] == spec.split(":")[0]


@pytest.mark.parametrize("spec", ["e4m3fn", "bf16", "mxfp8_e4m3", "bm8", "int8", "fp134"])
def test_other_specs_are_not_families(spec):
    assert not fmtsim.is_family_spec(spec)


@pytest.mark.parametrize("spec,msg", [
    ("asym0", "bit width must be an integer 1..16"),
    ("asym17", "bit width must be an integer 1..16"),
    ("asym8:x", "takes no modifier"),
    ("scq4", "needs :dx"),
    ("agp4:fast", "only the modifier :det"),
    ("smaq:2,8", "bit width must be an integer 3..16"),
    ("smaq:6", "write smaq:M,O"),
    ("smaq:6,8:every=3", "sample=SIZE"),
    ("s2fp8:sat", "takes no modifier"),
])
def test_bad_family_specs_raise_the_parser_message(spec, msg):
    with pytest.raises(ValueError, match=msg):
        fmtsim.TensorQuantizer(spec)


def test_family_option_errors():
    x = np.ones(4, dtype=np.float32)
    with pytest.raises(ValueError, match="has its own scaling"):
        fmtsim.quantize(x, "asym8", rule="floor")
    with pytest.raises(ValueError, match="takes no scale groups"):
        fmtsim.TensorQuantizer("s2fp8", groups="channel:0")
    with pytest.raises(ValueError, match="takes no scale groups"):
        fmtsim.TensorQuantizer("scq4:dx", groups="tensor")
    with pytest.raises(ValueError, match="does not saturate"):
        fmtsim.TensorQuantizer("sign", saturate=True)
    with pytest.raises(ValueError, match="hysteresis"):
        fmtsim.TensorQuantizer("asym4", rounding="hys")
    with pytest.raises(ValueError, match="rounding must be rne"):
        fmtsim.quantize(x, "asym4", rounding="rtz")
    with pytest.raises(ValueError, match="matrix"):
        fmtsim.quantize(x, "scq4:dx")
    with pytest.raises(ValueError, match="keeps no"):
        fmtsim.TensorQuantizer("asym4").state()
    with pytest.raises(ValueError, match="not a family"):
        fmtsim.TensorQuantizer("mxfp8_e4m3").family_params()
    with pytest.raises(ValueError, match="float32 value"):
        fmtsim.quantize(np.array([0.1, 0.2], dtype=np.float64), "asym4")


# ---- asymmetric (FracTrain) and SCQ -------------------------------------------------------------


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_asym_tensor_bit_for_bit(bits, dtype):
    rng = np.random.default_rng(bits)
    x = f32_data(rng, (7, 9), 3.0).astype(dtype)
    got = fmtsim.quantize(x, f"asym{bits}")
    assert_same_bits(got, asym_ref(x, bits, dtype), x, f"asym{bits} {np.dtype(dtype).name}")


def test_asym_ties_go_to_even_codes():
    # lo = 0, hi = 3, 2 bits: D = 1, x = 0.5, 1.5, 2.5 are ties -> codes 0, 2, 2
    x = np.array([0.0, 3.0, 0.5, 1.5, 2.5], dtype=np.float32)
    assert fmtsim.quantize(x, "asym2").tolist() == [0.0, 3.0, 0.0, 2.0, 2.0]


def test_asym_per_channel_groups_and_scq():
    rng = np.random.default_rng(5)
    x = f32_data(rng, (5, 6))
    rows = fmtsim.quantize(x, "asym3", groups="channel:0")
    cols = fmtsim.quantize(x, "asym3", groups="channel:1")
    want_rows = np.stack([asym_ref(x[i], 3, np.float32) for i in range(5)])
    want_cols = np.stack([asym_ref(x[:, j], 3, np.float32) for j in range(6)], axis=1)
    assert_same_bits(rows, want_rows, x, "asym3 channel:0")
    assert_same_bits(cols, want_cols, x, "asym3 channel:1")
    assert_same_bits(fmtsim.quantize(x, "scq3:dx"), want_rows, x, "scq3:dx (per sample)")
    assert_same_bits(fmtsim.quantize(x, "scq3:dw"), want_cols, x, "scq3:dw (per channel)")


def test_asym_strided_input_and_in_place():
    rng = np.random.default_rng(9)
    base = f32_data(rng, (8, 10))
    view = base[::2, ::-3]
    want = asym_ref(np.ascontiguousarray(view), 4, np.float32)
    assert_same_bits(fmtsim.quantize(view, "asym4"), want, view, "strided view")
    buf = np.ascontiguousarray(view).copy()
    fmtsim.quantize(buf, "asym4", out=buf)
    assert_same_bits(buf, want, view, "in place")


def test_asym_stochastic_is_unbiased():
    n = 200_000
    x = np.full(n, 0.3, dtype=np.float32)
    x[0], x[1] = -1.0, 1.0  # lo, hi: 1 bit gives -1 or 1
    y = fmtsim.quantize(x, "asym1", rounding="sr", seed=11)
    assert set(np.unique(y).tolist()) == {-1.0, 1.0}
    # E[y] = 0.3; the standard deviation of the mean is sqrt(1 - 0.09) / sqrt(n) ~ 0.0021
    assert abs(float(y[2:].mean()) - 0.3) < 5 * 0.0022
    # reproducible by seed, different for another seed
    assert np.array_equal(y, fmtsim.quantize(x, "asym1", rounding="sr", seed=11))
    assert not np.array_equal(y, fmtsim.quantize(x, "asym1", rounding="sr", seed=12))
    # rne rounds 0.3 to the nearer end every time
    assert set(np.unique(fmtsim.quantize(x, "asym1")[2:]).tolist()) == {1.0}


# ---- 1-bit codes --------------------------------------------------------------------------------


def test_sign_bit_for_bit():
    rng = np.random.default_rng(3)
    x = f32_data(rng, (4, 33))
    x[0, 0] = 0.0
    x[1, 1] = -0.0
    got = fmtsim.quantize(x, "sign", groups="channel:0")
    want = np.empty_like(x)
    for i in range(4):
        s = round_f32(sum(Fraction(abs(float(v))) for v in x[i]) / x.shape[1])
        want[i] = np.where((x[i] < 0), -s, s)  # sign(0) = sign(-0) = +1
    assert_same_bits(got, want, x, "sign channel:0")


def test_sbin_is_unbiased_and_binary():
    n = 200_000
    x = np.full(n, -0.25, dtype=np.float32)
    x[0] = 2.0  # a = max|x| = 2
    y = fmtsim.quantize(x, "sbin", rounding="sr", seed=5)
    assert set(np.unique(y[1:]).tolist()) == {-2.0, 2.0}
    assert y[0] == 2.0
    # P(+a) = (x + a) / 2a = 0.4375; E[y] = x; sd of the mean = 2 sqrt(p(1-p)) / sqrt(n) ~ 0.0044
    assert abs(float(y[1:].mean()) + 0.25) < 5 * 0.0045


# ---- AGP ----------------------------------------------------------------------------------------


def test_agp_deterministic_keeps_the_widest_samples():
    rng = np.random.default_rng(21)
    x = f32_data(rng, (6, 5))
    x[2] *= 10
    x[4] *= 5
    q = fmtsim.TensorQuantizer("agp3:det")
    got = q(x)
    ranges = [float(x[i].max()) - float(x[i].min()) for i in range(6)]
    keep = sorted(range(6), key=lambda i: -ranges[i])[: math.ceil(6 / 3)]
    want = np.zeros_like(x)
    for i in keep:
        want[i] = asym_ref(x[i], 3, np.float32)
    assert_same_bits(got, want, x, "agp3:det")
    p = q.family_params()
    assert p["kept"].tolist() == [i in keep for i in range(6)]


def test_agp_probabilistic_rescales_kept_samples():
    rng = np.random.default_rng(4)
    x = f32_data(rng, (16, 8))
    x[3] *= 20
    q = fmtsim.TensorQuantizer("agp4", seed=7)
    got = q(x.astype(np.float64))
    p = q.family_params()
    ranges = np.array([float(x[i].max()) - float(x[i].min()) for i in range(16)])
    want_p = np.minimum(1.0, 16 * ranges / (4 * ranges.sum()))
    assert np.allclose(p["keep_probability"], want_p, rtol=1e-12, atol=0)
    assert p["kept"][3]  # probability 1
    for i in range(16):
        if p["kept"][i]:
            ref = asym_ref(x[i].astype(np.float64), 4, np.float64) / want_p[i]
            assert np.allclose(got[i], ref, rtol=1e-15, atol=0), i
        else:
            assert not got[i].any()


# ---- SmaQ ---------------------------------------------------------------------------------------


def test_smaq_rne_codes_lie_on_the_grid():
    rng = np.random.default_rng(8)
    x = rng.standard_normal(5000).astype(np.float32)
    q = fmtsim.TensorQuantizer("smaq:6,8", rounding="rne")
    y = q(x)
    mu, sigma = float(np.mean(x, dtype=np.float64)), float(np.std(x.astype(np.float64)))
    K = 2 ** (6 - 2) - 1
    main = np.abs(x - mu) <= sigma * 0.999
    # a main value is mu + sigma c / K: within half a step of x
    assert np.all(np.abs(y[main] - x[main]) <= sigma / K / 2 * 1.001)
    # outliers: |x - mu| > sigma (mu, sigma rounded to float32: elements right at the border may flip)
    assert abs(q.stats["outliers"] - int((np.abs(x - mu) > sigma).sum())) <= 2
    # the SmaQ class and the packed container give the same tensor
    assert_same_bits(fmtsim.SmaQ(6, 8, rounding="rne")(x), y, x, "SmaQ class")
    assert_same_bits(fmtsim.unpack_tensor(fmtsim.pack_smaq(x, rounding="rne")), y, x, "pack_smaq")


def test_smaq_stochastic_is_unbiased_for_main_values():
    x = np.concatenate([np.full(100_000, 0.1), np.array([-1.0, 1.0] * 10)]).astype(np.float64)
    y = fmtsim.quantize(x, "smaq", rounding="sr", seed=3)
    assert abs(float(y[:100_000].mean()) - 0.1) < 0.003
    assert len(np.unique(y[:100_000])) == 2


# ---- S2FP8 --------------------------------------------------------------------------------------


def s2fp8_ref(x: np.ndarray):
    """methods.md 5: mu = mean(log2|x|), m = max over the non-zero elements (double, libm log2), alpha = 15 /
    (m - mu), beta = -alpha mu as float32; stored e5m2(sign 2^(beta + alpha log2|x|)); decoded
    sign 2^((log2|y| - beta) / alpha)."""
    logs = [math.log2(abs(float(v))) for v in x.reshape(-1) if v != 0]
    s = 0.0
    for v in logs:
        s += v
    mu = s / len(logs)
    m = max(logs)
    alpha = np.float32(15.0 / (m - mu)) if m > mu else np.float32(1.0)
    beta = np.float32(-float(alpha) * mu) if m > mu else np.float32(-mu)
    out = np.empty(x.size, dtype=x.dtype)
    for i, v in enumerate(x.reshape(-1)):
        v = float(v)
        if v == 0:
            out[i] = v
            continue
        y = math.copysign(math.exp2(float(beta) + float(alpha) * math.log2(abs(v))), v)
        q = float(fmtsim.quantize(np.float64(y), "e5m2"))
        out[i] = q if q == 0 else math.copysign(math.exp2((math.log2(abs(q)) - float(beta)) / float(alpha)), q)
    return out.reshape(x.shape), float(alpha), float(beta)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_s2fp8_bit_for_bit(dtype):
    rng = np.random.default_rng(13)
    x = (rng.standard_normal((10, 12)) * np.exp2(rng.integers(-20, 20, (10, 12)))).astype(dtype)
    x[0, :3] = 0
    got, alpha, beta = fmtsim.s2fp8(x)
    want, wa, wb = s2fp8_ref(x)
    assert (alpha, beta) == (wa, wb)
    assert_same_bits(got, want, x, "s2fp8")
    q = fmtsim.TensorQuantizer("s2fp8")
    assert_same_bits(q(x), want, x, "TensorQuantizer('s2fp8')")
    assert q.family_params()["alpha"] == wa


def test_agp_keep_frequency_matches_the_probability():
    rng = np.random.default_rng(30)
    x = f32_data(rng, (12, 4))
    x[0] *= 8
    ranges = np.array([float(x[i].max()) - float(x[i].min()) for i in range(12)])
    p = np.minimum(1.0, 12 * ranges / (4 * ranges.sum()))
    trials = 600
    kept = np.zeros(12)
    for seed in range(trials):
        q = fmtsim.TensorQuantizer("agp4", seed=seed)
        q(x)
        kept += q.family_params()["kept"]
    freq = kept / trials
    sd = np.sqrt(p * (1 - p) / trials)
    assert np.all(np.abs(freq - p) <= 5 * sd + 1e-12), (freq, p)
