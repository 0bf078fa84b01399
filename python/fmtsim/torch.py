# SPDX-License-Identifier: MIT
"""fmtsim.torch: fake quantization for PyTorch (CPU tensors through the C++ kernels, no copies).

- ``quantize(t, spec, ...)``: autograd function, straight-through estimator.
- ``Quantizer(forward=spec, backward=spec)``: quantizes activations in the forward pass and errors
  (output gradients) in the backward pass, like QPyTorch's ``Quantizer``.
- ``quantize_model(model, activations=..., errors=..., weights=..., weight_grads=...)``: inserts
  quantizers at the outputs of Conv/Linear/BatchNorm layers and after residual additions (Lee et al.
  2022's placement; see docs/pytorch.md).
- ``QuantizedOptimizer(opt, weights=..., hysteresis=..., grads=..., state=...)``: quantized weights
  with a full-precision master copy (optionally hysteresis rounding), quantized gradients and
  quantized optimizer state (momentum, Adam moments) as in SmaQ.

A format argument ("quantizer") is one of: a spec string or ``fmtsim.Format`` (element quantization;
MX/bm names are scaled per block), a ``fmtsim.TensorQuantizer`` (scaled, possibly stateful), a
zero-argument callable returning a fresh TensorQuantizer or spec (a factory: every insertion point
gets its own instance), a ``fmtsim.SmaQ`` (SmaQ's z-score codes, e.g. for optimizer state), or None.
"""

from __future__ import annotations

import operator
import warnings
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

import torch
from torch import nn

import fmtsim
from fmtsim import _fmtsim

__all__ = [
    "quantize",
    "quantize_",
    "Quantizer",
    "quantize_model",
    "QuantizedOptimizer",
    "QUANTIZED_LAYERS",
]

Spec = Union[None, str, "fmtsim.Format", "fmtsim.TensorQuantizer", Callable[[], Any]]

QUANTIZED_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _torch_seed() -> int:
    # drawn from PyTorch's generator, so torch.manual_seed makes stochastic rounding reproducible
    return int(torch.randint(0, 2**62, (1,), dtype=torch.int64).item())


def _check_device(t: torch.Tensor, what: str = "this quantizer") -> None:
    """CPU tensors pass; CUDA tensors pass only to element quantization of a CUDA build (``_cuda_quantize``)."""
    if t.device.type == "cpu":
        return
    if t.device.type == "cuda" and _fmtsim.cuda_built():
        raise ValueError(
            f"fmtsim.torch: tensor on {t.device}: {what} runs on the CPU only (the CUDA kernels cover element "
            "formats); move the tensor to the CPU with tensor.cpu()")
    if t.device.type == "cuda":
        raise ValueError(
            f"fmtsim.torch: tensor on {t.device}: this fmtsim build has no CUDA kernels (build it with "
            "-Dcuda=enabled where nvcc is installed), so it quantizes CPU tensors only; move the tensor to the "
            "CPU with tensor.cpu()")
    raise ValueError(
        f"fmtsim.torch: tensor on {t.device}: fmtsim quantizes CPU tensors (and CUDA tensors in a build with "
        "the CUDA kernels); move the tensor to the CPU with tensor.cpu()")


def _cuda_quantize(src: torch.Tensor, fmt: "fmtsim.Format", rounding: str, seed: int,
                   previous: Optional[torch.Tensor]) -> torch.Tensor:
    """Element quantization of a CUDA tensor by the cuda/ kernels (float32 in device memory)."""
    x = src.contiguous().float()
    dst = torch.empty_like(x)
    prev = None if previous is None else previous.detach().to(device=x.device, dtype=torch.float32).contiguous()
    with torch.cuda.device(x.device):
        torch.cuda.current_stream().synchronize()  # the kernels run on the default stream
        _fmtsim.quantize_cuda_into(fmt._f, x.data_ptr(), dst.data_ptr(), x.numel(), rounding, int(seed), 0,
                                   0 if prev is None else prev.data_ptr())
        torch.cuda.synchronize(x.device)
    return dst if dst.dtype == src.dtype else dst.to(src.dtype)


def _element_quantize(t: torch.Tensor, fmt: "fmtsim.Format", rounding: str, seed: Optional[int],
                      previous: Optional[torch.Tensor] = None, out: Optional[torch.Tensor] = None) -> torch.Tensor:
    if t.device.type == "cuda" and _fmtsim.cuda_built():
        if seed is None:
            seed = _torch_seed() if rounding.startswith("sr") else 0
        r = _cuda_quantize(t.detach(), fmt, rounding, seed, previous)
        if out is not None:
            out.detach().copy_(r)
            return out
        return r
    _check_device(t, "element quantization")
    src = t.detach()
    cast_back = None
    if src.dtype not in (torch.float32, torch.float64):
        if not src.is_floating_point():
            raise TypeError(f"fmtsim.torch quantizes floating-point tensors, got {src.dtype}")
        cast_back = src.dtype  # float16 / bfloat16: quantize in float32 (exact), cast back
        src = src.float()
    if seed is None:
        seed = _torch_seed() if rounding.startswith("sr") else 0
    prev = None
    if previous is not None:
        prev = previous.detach().to(src.dtype)
    if out is None or cast_back is not None:
        dst = torch.empty(src.shape, dtype=src.dtype)
    else:
        dst = out.detach()
    # torch tensors go to the kernels through DLPack: contiguous input is read in place
    _fmtsim.quantize_into(fmt._f, src, dst, rounding, int(seed), 0, prev, "auto")
    if cast_back is not None:
        dst = dst.to(cast_back)
        if out is not None:
            out.detach().copy_(dst)
            return out
    return dst


class _Q:
    """A resolved quantizer: element format, or a TensorQuantizer (scaled, stateful)."""

    def __init__(self, spec: Spec, rounding: str = "rne", seed: Optional[int] = None, saturate: bool = False):
        if callable(spec) and not isinstance(spec, (str, fmtsim.Format, fmtsim.TensorQuantizer, fmtsim.SmaQ)):
            spec = spec()
        self.tensor_quantizer: Optional[fmtsim.TensorQuantizer] = None
        self.smaq: Optional[fmtsim.SmaQ] = spec if isinstance(spec, fmtsim.SmaQ) else None
        self.format: Optional[fmtsim.Format] = None
        self.rounding = rounding
        self.seed = seed
        if self.smaq is not None:
            self.tensor_quantizer = self.smaq._q  # SmaQ is the family quantizer "smaq:M,O"
        elif isinstance(spec, fmtsim.TensorQuantizer):
            self.tensor_quantizer = spec
        elif isinstance(spec, str) and fmtsim._is_tensor_spec(spec):
            self.tensor_quantizer = fmtsim.TensorQuantizer(spec, rounding=rounding, seed=seed, saturate=saturate)
        elif isinstance(spec, (str, fmtsim.Format)):
            self.format = fmtsim._as_format(spec, saturate)
            _fmtsim.check_rounding(rounding)
        else:
            raise TypeError(f"not a quantizer: {spec!r} (a spec string, fmtsim.Format, fmtsim.TensorQuantizer, "
                            "or a factory returning one)")

    def __call__(self, t: torch.Tensor, previous: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.tensor_quantizer is not None:
            _check_device(t, f"the tensor quantizer {self.tensor_quantizer.description!r}")
            src = t.detach()
            dt = src.dtype
            if dt not in (torch.float32, torch.float64):
                src = src.float()
            out = torch.empty(src.shape, dtype=src.dtype)
            tq = self.tensor_quantizer
            tq._prepare()
            tq.stats = tq._q.quantize_into(src, out)
            if self.smaq is not None:
                self.smaq.stats = tq.stats
            return out if dt == out.dtype else out.to(dt)
        return _element_quantize(t, self.format, self.rounding, self.seed, previous)

    def describe(self) -> str:
        if self.smaq is not None:
            return repr(self.smaq)
        if self.tensor_quantizer is not None:
            return self.tensor_quantizer.description
        return f"{self.format.spec} rounding={self.rounding}"


def _resolve(spec: Spec, rounding: str = "rne", seed: Optional[int] = None) -> Optional[_Q]:
    return None if spec is None else _Q(spec, rounding, seed)


# ---- autograd functions -------------------------------------------------------------------------


class _QuantizeSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, q):  # noqa: D401
        return q(x)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class _QuantizeForwardBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, fq, bq):
        ctx.bq = bq
        return fq(x) if fq is not None else x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        bq = ctx.bq
        return (bq(grad) if bq is not None else grad), None, None


def quantize(t: torch.Tensor, spec: Spec, rounding: str = "rne", seed: Optional[int] = None,
             saturate: bool = False) -> torch.Tensor:
    """Fake-quantize t (differentiable: the straight-through estimator passes the gradient unchanged).

    seed=None draws the stochastic rounding key from PyTorch's generator (torch.manual_seed applies).
    """
    return _QuantizeSTE.apply(t, _Q(spec, rounding, seed, saturate))


def quantize_(t: torch.Tensor, spec: Spec, rounding: str = "rne", seed: Optional[int] = None,
              saturate: bool = False) -> torch.Tensor:
    """In-place fake quantization of a tensor's data (no autograd); returns t."""
    q = _Q(spec, rounding, seed, saturate)
    with torch.no_grad():
        if q.tensor_quantizer is None and q.smaq is None and t.is_contiguous() and t.dtype in (torch.float32, torch.float64):
            _element_quantize(t, q.format, rounding, seed, out=t)
        else:
            t.copy_(q(t))
    return t


class Quantizer(nn.Module):
    """Quantize activations in the forward pass and errors (output gradients) in the backward pass.

    ``Quantizer(forward="e4m3fn", backward="e5m2")`` is QPyTorch's
    ``Quantizer(forward_number=FloatingPoint(4, 3), backward_number=FloatingPoint(5, 2))`` with
    fmtsim's formats; rounding modes are fmtsim names (``rne``, ``sr``, ...).
    """

    def __init__(self, forward: Spec = None, backward: Spec = None, forward_rounding: str = "rne",
                 backward_rounding: str = "rne", seed: Optional[int] = None):
        super().__init__()
        self.fq = _resolve(forward, forward_rounding, seed)
        self.bq = _resolve(backward, backward_rounding, seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fq is None and self.bq is None:
            return x
        return _QuantizeForwardBackward.apply(x, self.fq, self.bq)

    def extra_repr(self) -> str:
        f = self.fq.describe() if self.fq else "none"
        b = self.bq.describe() if self.bq else "none"
        return f"forward={f}, backward={b}"


# ---- quantize_model ------------------------------------------------------------------------------


class _WeightQuantization(nn.Module):
    """Parametrization: the layer sees the quantized weight; its gradient is quantized on the way back."""

    def __init__(self, weights: Spec, weight_grads: Spec, rounding: str, grad_rounding: str):
        super().__init__()
        self.fq = _resolve(weights, rounding)
        self.bq = _resolve(weight_grads, grad_rounding)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return _QuantizeForwardBackward.apply(w, self.fq, self.bq)


def _is_residual_add(node) -> bool:
    if node.op != "call_function" or node.target not in (operator.add, operator.iadd, torch.add):
        return False
    args = [a for a in node.args if hasattr(a, "op")]
    return len(args) == 2


def quantize_model(model: nn.Module, activations: Spec = None, errors: Spec = None, weights: Spec = None,
                   weight_grads: Spec = None, *, activation_rounding: str = "rne", error_rounding: str = "rne",
                   weight_rounding: str = "rne", weight_grad_rounding: str = "rne", residual: bool = True,
                   layers=QUANTIZED_LAYERS) -> nn.Module:
    """Insert quantization the way Lee et al. 2022 place it (methods.md section 1).

    A Quantizer(activations, errors) follows the output of every Conv/Linear/BatchNorm layer (ReLU,
    pooling and flatten pass values through unchanged), and, with residual=True, every residual
    addition (an add of two tensors in the traced graph) quantizes its forward sum and the error
    flowing back into it. weights / weight_grads fake-quantize each quantized layer's ``weight`` in the
    forward pass and its gradient in the backward pass (a parametrization; for a master copy, hysteresis
    or quantized optimizer state use QuantizedOptimizer).

    Returns a torch.fx GraphModule when the model can be traced (residual adds found), else the model
    itself with forward hooks (a warning says residual adds were not instrumented). Spec factories give
    every insertion point its own (stateful) quantizer.
    """

    def make() -> Quantizer:
        return Quantizer(activations, errors, activation_rounding, error_rounding)

    if weights is not None or weight_grads is not None:
        from torch.nn.utils import parametrize

        for m in model.modules():
            if isinstance(m, layers) and getattr(m, "weight", None) is not None:
                parametrize.register_parametrization(
                    m, "weight", _WeightQuantization(weights, weight_grads, weight_rounding, weight_grad_rounding))

    if activations is None and errors is None:
        return model

    if residual:
        try:
            import torch.fx as fx

            class _Tracer(fx.Tracer):
                def is_leaf_module(self, m, qualname):
                    return isinstance(m, layers) or super().is_leaf_module(m, qualname)

            graph = _Tracer().trace(model)
            gm = fx.GraphModule(model, graph)
            count = 0
            for node in list(gm.graph.nodes):
                hit = (node.op == "call_module" and isinstance(gm.get_submodule(node.target), layers)) or \
                    _is_residual_add(node)
                if not hit:
                    continue
                name = f"fmtsim_q{count}"
                count += 1
                gm.add_submodule(name, make())
                with gm.graph.inserting_after(node):
                    qn = gm.graph.call_module(name, (node,))
                node.replace_all_uses_with(qn)
                qn.args = (node,)
            gm.graph.lint()
            gm.recompile()
            return gm
        except Exception as e:  # untraceable control flow: fall back to hooks on the layers
            warnings.warn(f"fmtsim.torch.quantize_model: the model cannot be traced by torch.fx ({e}); "
                          "quantizing layer outputs with hooks, residual additions are not quantized")

    for m in list(model.modules()):
        if isinstance(m, layers):
            q = make()
            m.add_module("fmtsim_output_quantizer", q)
            m.register_forward_hook(lambda mod, inp, out: mod.fmtsim_output_quantizer(out))
    return model


# ---- optimizer wrapper ----------------------------------------------------------------------------


_STATE_KEYS = {"momentum": ("momentum_buffer",), "exp_avg": ("exp_avg",), "exp_avg_sq": ("exp_avg_sq",)}


class QuantizedOptimizer:
    """Wrap a torch optimizer: quantized weights (with a full-precision master copy, optionally
    hysteresis rounding), quantized gradients, quantized optimizer state.

    weights: quantizer of the weights after each step (the model then computes with quantized weights;
    the optimizer updates a master copy). hysteresis=True: the new quantized weight is ceil(W) if
    W < Q_previous else floor(W) on the format's grid (Lee et al. 2022; element formats use rounding
    'hys', TensorQuantizers must be created with rounding='hys'). grads: quantizer applied to every
    gradient before the step. state: quantizer for the optimizer state (SGD momentum, Adam exp_avg and
    exp_avg_sq), or a dict {"momentum"|"exp_avg"|"exp_avg_sq": quantizer}, applied after each step.
    weights/state factories give each parameter its own quantizer (e.g. per-channel TensorQuantizers).

    ``change_frequency`` lists, per step, the share of quantized weights whose value (code) changed.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, weights: Spec = None, *, hysteresis: bool = False,
                 master: bool = True, grads: Spec = None, state: Union[Spec, Dict[str, Spec]] = None,
                 weight_rounding: Optional[str] = None, grad_rounding: str = "rne", state_rounding: str = "rne",
                 params: Optional[Iterable[torch.nn.Parameter]] = None):
        self.optimizer = optimizer
        self.hysteresis = hysteresis
        if hysteresis and not master:
            raise ValueError("hysteresis needs the master copy (master=True): it compares the updated "
                             "full-precision weight with the previous quantized weight")
        wr = weight_rounding or ("hys" if hysteresis else "rne")
        self.params: List[torch.nn.Parameter] = list(params) if params is not None else [
            p for g in optimizer.param_groups for p in g["params"]]
        self.wq: Dict[int, _Q] = {}
        self.master: Dict[int, torch.Tensor] = {}
        if weights is not None:
            for p in self.params:
                q = _Q(weights, wr)
                if hysteresis and q.tensor_quantizer is not None and q.tensor_quantizer.rounding != "hys":
                    raise ValueError("hysteresis=True with a TensorQuantizer needs rounding='hys' on it")
                self.wq[id(p)] = q
                with torch.no_grad():
                    if master:
                        self.master[id(p)] = p.detach().clone()
                    # first quantization: nearest (hysteresis needs a previous value)
                    first = _Q(weights, "rne") if (hysteresis and q.format is not None) else q
                    p.copy_(first(p))
        self.use_master = master and weights is not None
        self.gq = _resolve(grads, grad_rounding)
        if isinstance(state, dict):
            unknown = set(state) - set(_STATE_KEYS)
            if unknown:
                raise ValueError(f"unknown optimizer state keys {sorted(unknown)} (known: {sorted(_STATE_KEYS)})")
            self.state_specs = {k: v for k, v in state.items()}
        elif state is not None:
            self.state_specs = {k: state for k in _STATE_KEYS}
        else:
            self.state_specs = {}
        self.state_rounding = state_rounding
        self.sq: Dict[tuple, _Q] = {}
        self.change_frequency: List[float] = []

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> Dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(),
                "master": [self.master[id(p)].clone() for p in self.params if id(p) in self.master]}

    @torch.no_grad()
    def step(self, closure=None):
        if self.gq is not None:
            for p in self.params:
                if p.grad is not None:
                    p.grad.copy_(self.gq(p.grad))
        previous = {}
        if self.use_master:
            for p in self.params:
                if id(p) in self.master:
                    previous[id(p)] = p.detach().clone()
                    p.copy_(self.master[id(p)])
        loss = self.optimizer.step(closure)
        changed = total = 0
        for p in self.params:
            q = self.wq.get(id(p))
            if q is None:
                continue
            old = previous.get(id(p))
            if old is None:
                old = p.detach().clone()
            if self.use_master:
                self.master[id(p)].copy_(p)
            new = q(p, previous=old if (self.hysteresis and q.format is not None) else None)
            changed += int(torch.count_nonzero(new != old))
            total += new.numel()
            p.copy_(new)
        if total:
            self.change_frequency.append(changed / total)
        if self.state_specs:
            for p in self.params:
                st = self.optimizer.state.get(p, {})
                for kind, keys in _STATE_KEYS.items():
                    spec = self.state_specs.get(kind)
                    if spec is None:
                        continue
                    for key in keys:
                        buf = st.get(key)
                        if isinstance(buf, torch.Tensor):
                            q = self.sq.get((id(p), key))
                            if q is None:
                                q = self.sq[(id(p), key)] = _Q(spec, self.state_rounding)
                            buf.copy_(q(buf))
        return loss

    def __repr__(self) -> str:
        return f"QuantizedOptimizer({self.optimizer.__class__.__name__}, weights={len(self.wq)} tensors)"
