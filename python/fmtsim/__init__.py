# SPDX-License-Identifier: MIT
"""fmtsim: bit-accurate simulation of low-precision number formats (NumPy API).

Element formats are spelled as in the C++ library and the CLI (``e4m3fn``, ``float8_e5m2``,
``e2m1fin``, ``bf16``, ``int8``, ``fix8.4``, ``bp:5x7,4,3,2,1,0``, ``fp134``, ``log4`` ...);
rounding modes are ``rne`` (default), ``rna``, ``rtz``, ``rup``, ``rdn``, ``rto``, ``sr``,
``sr<R>`` and ``hys``. See docs/python.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _fmtsim

__all__ = [
    "Format",
    "TensorQuantizer",
    "CatalogEntry",
    "quantize",
    "encode",
    "decode",
    "pack",
    "unpack",
    "pack_tensor",
    "pack_smaq",
    "unpack_tensor",
    "SmaQ",
    "s2fp8",
    "is_family_spec",
    "catalog",
    "catalogs",
    "formats",
    "rounding_modes",
    "set_thread_count",
    "thread_count",
    "simd_isa",
]

__version__ = "0.1.0"

rounding_modes: Tuple[str, ...] = ("rne", "rna", "rtz", "rup", "rdn", "rto", "sr", "hys")
"""The rounding mode names (``sr<R>``, R = 1..64, is stochastic rounding with R random bits)."""


def _fresh_seed() -> int:
    return int.from_bytes(os.urandom(8), "little")


class Format:
    """An element (scalar) format, e.g. ``Format("e4m3fn")``.

    Raises ValueError with the parser's message for a malformed spec. ``saturate=True`` is the
    ``:sat`` modifier (overflow gives +-max in every rounding mode).
    """

    __slots__ = ("_f", "_name")

    def __init__(self, spec: Union[str, "Format"], saturate: bool = False):
        if isinstance(spec, Format):
            f = spec._f
            name = spec._name
        else:
            if not isinstance(spec, str):
                raise TypeError(f"a format spec is a string, got {type(spec).__name__}")
            f = _fmtsim.ElementFormat(spec)
            name = spec
        if saturate and not f.saturate:
            f = f.with_saturate(True)
        self._f = f
        self._name = name

    # --- description ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The spelling this object was created from."""
        return self._name

    @property
    def spec(self) -> str:
        """Canonical spec: ``Format(f.spec) == f``."""
        return self._f.spec

    @property
    def family(self) -> str:
        """``minifloat``, ``integer``, ``fixed``, ``profile`` or ``log``."""
        return self._f.family

    @property
    def bits(self) -> int:
        """Width of a code in bits."""
        return self._f.bits

    @property
    def exponent_bits(self) -> Optional[int]:
        return self._f.exponent_bits

    @property
    def mantissa_bits(self) -> Optional[int]:
        return self._f.mantissa_bits

    @property
    def bias(self) -> Optional[int]:
        return self._f.bias

    @property
    def int_bits(self) -> Optional[int]:
        return self._f.int_bits

    @property
    def frac_bits(self) -> Optional[int]:
        return self._f.frac_bits

    @property
    def profile(self) -> Tuple[int, ...]:
        """Binade profile (significant bits per binade, top binade first); empty for other families."""
        return tuple(self._f.profile)

    @property
    def signed(self) -> bool:
        return self._f.signed

    @property
    def has_inf(self) -> bool:
        return self._f.has_inf

    @property
    def has_nan(self) -> bool:
        return self._f.has_nan

    @property
    def has_zero(self) -> bool:
        return self._f.has_zero

    @property
    def has_negative_zero(self) -> bool:
        return self._f.has_negative_zero

    @property
    def saturate(self) -> bool:
        return self._f.saturate

    @property
    def ftz(self) -> bool:
        return self._f.ftz

    @property
    def max(self) -> float:
        """Largest finite value."""
        return self._f.max

    @property
    def lowest(self) -> float:
        """Most negative finite value (the smallest value for unsigned formats)."""
        return self._f.lowest

    @property
    def min_normal(self) -> float:
        """Smallest positive normal value."""
        return self._f.min_normal

    @property
    def min_subnormal(self) -> float:
        """Smallest positive subnormal value, 0.0 if the format has no subnormals."""
        return self._f.min_subnormal

    @property
    def finite_values(self) -> int:
        """Number of codes that decode to finite numbers (+0 and -0 counted separately)."""
        return self._f.finite_values

    @property
    def float32_exact(self) -> bool:
        """Every value is exactly a float32 (float32 data can be quantized to it)."""
        return self._f.float32_exact

    def values(self) -> np.ndarray:
        """Every finite value (one per code), ascending, -0 before +0, as float64."""
        return np.asarray(self._f.values(), dtype=np.float64)

    def code_dtype(self) -> np.dtype:
        """The smallest unsigned dtype that holds a code."""
        b = self.bits
        return np.dtype(np.uint8 if b <= 8 else np.uint16 if b <= 16 else np.uint32)

    # --- operations ------------------------------------------------------------------------------
    def quantize(self, x, rounding: str = "rne", seed: Optional[int] = None, **kw) -> np.ndarray:
        return quantize(x, self, rounding=rounding, seed=seed, **kw)

    def encode(self, x, rounding: str = "rne", seed: Optional[int] = None, **kw) -> np.ndarray:
        return encode(x, self, rounding=rounding, seed=seed, **kw)

    def decode(self, codes, dtype=None) -> np.ndarray:
        return decode(codes, self, dtype=dtype)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = Format(other)
            except ValueError:
                return False
        return isinstance(other, Format) and self._f == other._f

    def __hash__(self) -> int:
        return hash(self.spec)

    def __repr__(self) -> str:
        return f"fmtsim.Format({self.spec!r})"


def _as_format(spec: Union[str, Format], saturate: bool = False) -> Format:
    if isinstance(spec, Format):
        return Format(spec, saturate=saturate) if saturate and not spec.saturate else spec
    return Format(spec, saturate=saturate)


def _as_real_array(x) -> Tuple[np.ndarray, bool]:
    """x as a float32/float64 array (no copy when it already is one); True if x was a Python scalar."""
    scalar = np.ndim(x) == 0 and not isinstance(x, np.ndarray)
    a = np.asarray(x)
    if a.dtype == np.float32 or a.dtype == np.float64:
        return a, scalar
    if a.dtype == np.float16:
        return a.astype(np.float32), scalar  # exact
    if a.dtype.kind in "iub" or a.dtype.kind == "f":
        return a.astype(np.float64), scalar
    raise TypeError(f"fmtsim takes real numbers, got an array of dtype {a.dtype}")


def _scale_options_given(kw: Dict[str, Any]) -> bool:
    return any(kw.get(k) is not None for k in ("groups", "rule", "room")) or bool(kw.get("tracking"))


_TENSOR_SPECS = ("mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4_e2m1", "mxint8")


def is_family_spec(spec) -> bool:
    """True for a real-scaled family spec: ``asym<B>``, ``scq<B>:dx``/``scq<B>:dw``, ``sign``, ``sbin``,
    ``agp<B>[:det]``, ``smaq[:M,O[:sample=S[@SEED]]]``, ``s2fp8`` (docs/python.md, "Families")."""
    return isinstance(spec, str) and _fmtsim.is_family_spec(spec)


def _is_tensor_spec(spec) -> bool:
    return isinstance(spec, str) and (spec in _TENSOR_SPECS or spec.split(":")[0] in ("bm8", "bm6", "bm5", "bm4")
                                      or _fmtsim.is_family_spec(spec))


def quantize(
    x,
    spec: Union[str, Format],
    rounding: str = "rne",
    seed: Optional[int] = None,
    saturate: bool = False,
    *,
    previous=None,
    out: Optional[np.ndarray] = None,
    index_offset: int = 0,
    backend: str = "auto",
    groups: Optional[str] = None,
    rule: Optional[str] = None,
    room: Optional[int] = None,
    nonfinite: Optional[str] = None,
):
    """Fake-quantize ``x`` to the format: the result holds the format's values in x's dtype.

    x: float32 or float64 array of any shape and strides (float16/integers are converted to
    float32/float64; contiguous float32/float64 input is read in place, never copied).
    rounding: rne | rna | rtz | rup | rdn | rto | sr | sr<R> | hys.
    seed: stochastic rounding key (element i of the C-order flattening uses stream
    index_offset + i); None draws a fresh seed per call.
    saturate: the ``:sat`` modifier. previous: the previous quantized values, for ``hys``.
    out: write into this array (same shape and dtype; may be x itself).
    groups / rule / room / nonfinite: scaled quantization (see TensorQuantizer); MX
    (``mxfp8_e4m3`` ...) and block minifloat (``bm8`` ...) specs are scaled by default.
    Family specs (``asym8``, ``scq4:dx``, ``sign``, ``sbin``, ``agp4``, ``smaq``, ``s2fp8``) go through
    a TensorQuantizer too (groups= applies to asym/sign/sbin; rounding rne or sr).
    The GIL is released while the kernels run.
    """
    if _is_tensor_spec(spec) or _scale_options_given({"groups": groups, "rule": rule, "room": room}):
        if previous is not None:
            raise ValueError("previous= is for element quantization; use a TensorQuantizer with rounding='hys'")
        q = TensorQuantizer(spec, groups=groups, rule=rule, room=room, rounding=rounding, seed=seed,
                            saturate=saturate, nonfinite=nonfinite, backend=backend)
        return q(x, out=out)
    if nonfinite is not None:
        raise ValueError("nonfinite= applies to scaled quantization (groups/rule)")
    fmt = _as_format(spec, saturate)
    a, scalar = _as_real_array(x)
    if out is None:
        out = np.empty(a.shape, dtype=a.dtype)
    prev = None
    if previous is not None:
        prev = np.asarray(previous, dtype=a.dtype)
    if seed is None:
        seed = _fresh_seed() if rounding.startswith("sr") else 0
    _fmtsim.quantize_into(fmt._f, a, out, rounding, int(seed), int(index_offset), prev, backend)
    if scalar:
        return out[()]
    return out


def encode(
    x,
    spec: Union[str, Format],
    rounding: str = "rne",
    seed: Optional[int] = None,
    saturate: bool = False,
    *,
    previous=None,
    index_offset: int = 0,
) -> np.ndarray:
    """Quantize and return the codes (uint8/uint16/uint32 by code width), same shape as x.

    NaN into a format without a NaN code raises ValueError naming the element.
    """
    fmt = _as_format(spec, saturate)
    a, _ = _as_real_array(x)
    codes = np.empty(a.shape, dtype=fmt.code_dtype())
    prev = None if previous is None else np.asarray(previous, dtype=a.dtype)
    if seed is None:
        seed = _fresh_seed() if rounding.startswith("sr") else 0
    _fmtsim.encode_into(fmt._f, a, codes, rounding, int(seed), int(index_offset), prev)
    return codes


def decode(codes, spec: Union[str, Format], dtype=None) -> np.ndarray:
    """Values of integer codes (any integer dtype, any shape and strides).

    dtype: float32 or float64; default float32 when every value of the format is a float32,
    else float64. A code outside the format raises ValueError naming the element.
    """
    fmt = _as_format(spec)
    c = np.asarray(codes)
    if c.dtype.kind not in "iu":
        raise TypeError(f"codes must be an integer array, got dtype {c.dtype}")
    if dtype is None:
        dtype = np.float32 if fmt.float32_exact else np.float64
    out = np.empty(c.shape, dtype=np.dtype(dtype))
    _fmtsim.decode_into(fmt._f, c, out)
    return out


# ---- bit packing ------------------------------------------------------------------------------


def pack(codes, bits: Union[int, str, Format]) -> np.ndarray:
    """Bit-pack codes of ``bits`` bits each (or a format's code width) into a uint8 array.

    Layout (the library's bit_pack, also used by packed tensor files): the codes in C order form one
    little-endian bit stream (code i occupies bits i*bits .. i*bits+bits-1, least significant bit
    first); the last byte is zero-padded.
    """
    b = bits if isinstance(bits, int) else _as_format(bits).bits
    if not 1 <= b <= 32:
        raise ValueError(f"pack: code width must be 1..32 bits, got {b}")
    c = np.asarray(codes)
    if c.dtype.kind not in "iu":
        raise TypeError(f"codes must be an integer array, got dtype {c.dtype}")
    flat = c.reshape(-1)
    if flat.size and flat.min() < 0:
        raise ValueError(f"pack: element {int(np.argmin(flat))} is a negative code")
    if flat.size and int(flat.max()) >> b:
        raise ValueError(f"pack: element {int(np.argmax((flat.astype(np.uint64) >> np.uint64(b)) != 0))} "
                         f"does not fit in {b} bits")
    return np.frombuffer(_fmtsim.bit_pack(flat.astype(np.uint32).tolist(), b), dtype=np.uint8).copy()


def unpack(packed, bits: Union[int, str, Format], count: int, shape: Optional[Sequence[int]] = None) -> np.ndarray:
    """Inverse of pack: ``count`` codes of ``bits`` bits (uint8/16/32 by width), optionally reshaped."""
    b = bits if isinstance(bits, int) else _as_format(bits).bits
    if not 1 <= b <= 32:
        raise ValueError(f"unpack: code width must be 1..32 bits, got {b}")
    p = np.ascontiguousarray(packed, dtype=np.uint8).reshape(-1)
    need = (count * b + 7) // 8
    if p.size < need:
        raise ValueError(f"unpack: {count} codes of {b} bits need {need} bytes, got {p.size}")
    vals = np.asarray(_fmtsim.bit_unpack(p[:need].tobytes(), b, int(count)), dtype=np.uint32)
    dt = np.uint8 if b <= 8 else np.uint16 if b <= 16 else np.uint32
    out = vals.astype(dt)
    return out.reshape(shape) if shape is not None else out


def pack_tensor(x, spec: str, *, groups: Optional[str] = None, rule: Optional[str] = None,
                room: Optional[int] = None, saturate: bool = False, rounding: str = "rne",
                seed: Optional[int] = None) -> bytes:
    """Quantize and store x as a packed tensor container (version 1, docs/packed.md): bit-packed element
    codes, the group scales, shape and format; ``unpack_tensor`` reads it back."""
    a, _ = _as_real_array(x)
    if seed is None:
        seed = _fresh_seed() if rounding.startswith("sr") else 0
    return _fmtsim.pack_tensor(a, spec.spec if isinstance(spec, Format) else spec, groups, rule, room,
                               bool(saturate), rounding, int(seed))


def pack_smaq(x, *, main_bits: int = 6, outlier_bits: int = 8, sampled: bool = False, sample_size: int = 1024,
              sample_seed: int = 0, rounding: str = "sr", seed: Optional[int] = None) -> bytes:
    """SmaQ-encode x and store it as a packed tensor container (codes at main/outlier bits + mu, sigma)."""
    a, _ = _as_real_array(x)
    if seed is None:
        seed = _fresh_seed()
    return _fmtsim.pack_smaq(a, main_bits, outlier_bits, sampled, sample_size, sample_seed, rounding, int(seed))


def unpack_tensor(data: bytes, dtype=None) -> np.ndarray:
    """Values of a packed tensor container (the quantized tensor); dtype defaults to the packed tensor's
    original float32/float64. Malformed, truncated or corrupted data raises ValueError."""
    vals, shape, is64, _ = _fmtsim.unpack_tensor(bytes(data))
    if dtype is None:
        dtype = np.float64 if is64 else np.float32
    return np.asarray(vals, dtype=np.float64).astype(dtype).reshape(shape)


# ---- SmaQ and S2FP8 ---------------------------------------------------------------------------


class SmaQ:
    """SmaQ (methods.md 4): per-tensor z-scores, main codes for |z| <= 1 (main_bits, 1 flag + data) and
    outlier codes beyond (outlier_bits), stochastic rounding by default; outliers beyond the code range
    are clamped and counted. Calling it returns the decoded (fake-quantized) tensor; ``stats`` holds the
    per-call statistics (outliers, outliers_clamped, bits_per_element). The same as
    ``TensorQuantizer("smaq:M,O")`` (``:sample=S@SEED`` when sampled)."""

    def __init__(self, main_bits: int = 6, outlier_bits: int = 8, *, sampled: bool = False,
                 sample_size: int = 1024, sample_seed: int = 0, rounding: str = "sr", seed: Optional[int] = None):
        self.main_bits, self.outlier_bits = int(main_bits), int(outlier_bits)
        self.sampled, self.sample_size, self.sample_seed = bool(sampled), int(sample_size), int(sample_seed)
        self.rounding, self.seed = rounding, seed
        spec = f"smaq:{self.main_bits},{self.outlier_bits}"
        if self.sampled:
            spec += f":sample={self.sample_size}@{self.sample_seed}"
        self._q = TensorQuantizer(spec, rounding=rounding, seed=seed)
        self.stats: Dict[str, Any] = {}

    @property
    def spec(self) -> str:
        return self._q.description

    def __call__(self, x, out: Optional[np.ndarray] = None) -> np.ndarray:
        r = self._q(x, out=out)
        self.stats = self._q.stats
        return r

    def __repr__(self) -> str:
        return f"fmtsim.SmaQ(main_bits={self.main_bits}, outlier_bits={self.outlier_bits}, rounding={self.rounding!r})"


def s2fp8(x, rounding: str = "rne", seed: Optional[int] = None) -> Tuple[np.ndarray, float, float]:
    """S2FP8 (methods.md 5): returns (decoded tensor, alpha, beta) of the per-tensor log-domain shift and
    squeeze over e5m2. The same as ``TensorQuantizer("s2fp8")`` plus its ``family_params()``."""
    q = TensorQuantizer("s2fp8", rounding=rounding, seed=seed)
    a, _ = _as_real_array(x)
    out = q(a)
    p = q.family_params()
    return out, p["alpha"], p["beta"]


# ---- catalogs and named formats ---------------------------------------------------------------


@dataclass(frozen=True)
class CatalogEntry:
    """One binade-profile format of a catalog (docs/catalogs.md)."""

    id: str  # canonical bp spelling, e.g. "bp:5x7,4,3,2,1,0"
    name: str  # short name ("fp134") or ""
    bits: int
    profile: Tuple[int, ...]
    binades: int

    @property
    def format(self) -> Format:
        return Format(self.id)


def catalogs() -> List[str]:
    """Names of the format catalogs (``lee22``, ``lee22-extra``)."""
    return list(_fmtsim.catalog_names())


def catalog(name: str = "lee22", bits: Optional[int] = None) -> List[CatalogEntry]:
    """The entries of a catalog in its documented order, optionally only those of ``bits`` bits."""
    entries = [CatalogEntry(i, n, b, tuple(p), d) for (i, n, b, p, d) in _fmtsim.catalog(name)]
    if bits is not None:
        entries = [e for e in entries if e.bits == bits]
    return entries


def formats() -> List[Tuple[str, str, str]]:
    """Every alias and named format: (name, canonical spec, note)."""
    return list(_fmtsim.named_formats())


# ---- tensor quantizer -------------------------------------------------------------------------


class TensorQuantizer:
    """A scaled tensor quantizer: element format + scale groups + scale rule, with state.

    spec: element spec, or an MX name (``mxfp8_e4m3``, ``mxfp8_e5m2``, ``mxfp6_e2m3``,
    ``mxfp6_e3m2``, ``mxfp4_e2m1``, ``mxint8``) or block minifloat preset (``bm8`` ... ``bm4``,
    ``:fwd``/``:bwd``). bp/fp1xy/log specs default to a per-tensor room-0 scale.
    groups: ``tensor``, ``channel[:AXIS]``, ``block:SIZE[:AXIS]``, ``tile:AxB``.
    rule: ``none``, ``floor``, ``ceil``, ``room``, ``fp32`` (``room=r`` alone implies ``room``).
    tracking: keep the scale between calls and move it by at most one binade per call.
    rounding ``hys``: hysteresis against the previous call's output (the first call rounds rne).
    seed: stochastic rounding key used by every call; None draws a fresh seed per call.
    nonfinite: what a group holding NaN/inf does: ``nan`` (default), ``error``, ``pass``.

    spec may also be a real-scaled family (``is_family_spec``): ``asym<B>`` (FracTrain min/max, B bits,
    groups= applies), ``scq<B>:dx`` / ``scq<B>:dw`` (SCQ's per-sample / per-channel copy of a 2-d dY),
    ``sign`` (1-bit sign * mean|x|, groups= applies), ``sbin`` (stochastic binary, groups= applies),
    ``agp<B>`` / ``agp<B>:det`` (activation gradient pruning, samples on axis 0), ``smaq[:M,O]``,
    ``s2fp8``. Families take rounding ``rne`` or ``sr[<R>]`` and no rule/room/tracking/nonfinite/saturate;
    ``family_params()`` returns what the last call chose.
    """

    def __init__(
        self,
        spec: str,
        *,
        groups: Optional[str] = None,
        rule: Optional[str] = None,
        room: Optional[int] = None,
        tracking: bool = False,
        rounding: str = "rne",
        seed: Optional[int] = None,
        saturate: bool = False,
        nonfinite: Optional[str] = None,
        backend: str = "auto",
    ):
        if isinstance(spec, Format):
            spec = spec.spec
        self._seed = seed
        self._q = _fmtsim.TensorQuantizerCore(
            spec, groups, rule, room, bool(tracking), bool(saturate), nonfinite, rounding,
            0 if seed is None else int(seed), backend)
        self.stats: Dict[str, Any] = {}

    @property
    def description(self) -> str:
        return self._q.description

    @property
    def element(self) -> Format:
        f = Format.__new__(Format)
        f._f = self._q.element
        f._name = f._f.spec
        return f

    @property
    def groups(self) -> str:
        return self._q.groups

    @property
    def rule(self) -> str:
        return self._q.rule

    @property
    def room(self) -> int:
        return self._q.room

    @property
    def tracking(self) -> bool:
        return self._q.tracking

    @property
    def rounding(self) -> str:
        return self._q.rounding

    def _prepare(self):
        if self._seed is None:
            self._q.set_seed(_fresh_seed())

    def __call__(self, x, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Fake-quantize x (float32/float64, any shape and strides); statistics go to ``self.stats``."""
        a, scalar = _as_real_array(x)
        if out is None:
            out = np.empty(a.shape, dtype=a.dtype)
        self._prepare()
        self.stats = self._q.quantize_into(a, out)
        return out[()] if scalar else out

    quantize = __call__

    def encode(self, x) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
        """Quantize and return (codes with x's shape, scales of the groups as from ``scales()``)."""
        a, _ = _as_real_array(x)
        self._prepare()
        codes, self.stats = self._q.encode(a)
        dt = self.element.code_dtype()
        return np.asarray(codes, dtype=np.uint32).astype(dt).reshape(a.shape), self.scales()

    @property
    def is_family(self) -> bool:
        """True for a real-scaled family spec (asym, scq, sign, sbin, agp, smaq, s2fp8)."""
        return self._q.is_family

    def family_params(self) -> Dict[str, Any]:
        """Family quantizers: what the last call chose: ``alpha``, ``beta`` (S2FP8's squeeze and shift;
        1, 0 otherwise), ``keep_probability`` and ``kept`` (AGP, per sample; empty otherwise)."""
        d = dict(self._q.family_params())
        d["keep_probability"] = np.asarray(d["keep_probability"], dtype=np.float64)
        d["kept"] = np.asarray(d["kept"], dtype=bool)
        return d

    def scales(self) -> Dict[str, np.ndarray]:
        """Per-group scales of the last call: scale_exp (power-of-two rules), real_scale (fp32 rule),
        nan (group turned to NaN), clamped (exponent hit the stored range); groups in C order."""
        e, r, nan, cl = self._q.last_scales()
        return {
            "scale_exp": np.asarray(e, dtype=np.int32),
            "real_scale": np.asarray(r, dtype=np.float32),
            "nan": np.asarray(nan, dtype=bool),
            "clamped": np.asarray(cl, dtype=bool),
        }

    def state(self) -> str:
        """The tracking/hysteresis state as a JSON document (save it, restore with load_state)."""
        return self._q.save_state()

    def load_state(self, state: str) -> None:
        self._q.load_state(state)

    def reset(self) -> None:
        self._q.reset()

    def __repr__(self) -> str:
        return f"fmtsim.TensorQuantizer({self.description!r}, rounding={self.rounding!r})"


def set_thread_count(threads: int) -> None:
    """Threads the SIMD backend splits large calls over (0 restores the default)."""
    _fmtsim.set_thread_count(int(threads))


def thread_count() -> int:
    return _fmtsim.thread_count()


def simd_isa() -> str:
    """The SIMD instruction set the kernels use on this machine (or ``none``)."""
    return _fmtsim.simd_isa()
