# SPDX-License-Identifier: MIT
# Type stubs of fmtsim.torch (PyTorch fake-quantization layer).
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Type, Union

import torch
from torch import nn

import fmtsim

Spec = Union[None, str, fmtsim.Format, fmtsim.TensorQuantizer, fmtsim.SmaQ, Callable[[], Any]]
QUANTIZED_LAYERS: Tuple[Type[nn.Module], ...]

def quantize(t: torch.Tensor, spec: Spec, rounding: str = ..., seed: Optional[int] = ...,
             saturate: bool = ...) -> torch.Tensor: ...
def quantize_(t: torch.Tensor, spec: Spec, rounding: str = ..., seed: Optional[int] = ...,
              saturate: bool = ...) -> torch.Tensor: ...

class Quantizer(nn.Module):
    def __init__(self, forward: Spec = ..., backward: Spec = ..., forward_rounding: str = ...,
                 backward_rounding: str = ..., seed: Optional[int] = ...) -> None: ...
    def forward(self, x: torch.Tensor) -> torch.Tensor: ...

def quantize_model(model: nn.Module, activations: Spec = ..., errors: Spec = ..., weights: Spec = ...,
                   weight_grads: Spec = ..., *, activation_rounding: str = ..., error_rounding: str = ...,
                   weight_rounding: str = ..., weight_grad_rounding: str = ..., residual: bool = ...,
                   layers: Tuple[Type[nn.Module], ...] = ...) -> nn.Module: ...

class QuantizedOptimizer:
    optimizer: torch.optim.Optimizer
    change_frequency: List[float]
    def __init__(self, optimizer: torch.optim.Optimizer, weights: Spec = ..., *, hysteresis: bool = ...,
                 master: bool = ..., grads: Spec = ..., state: Union[Spec, Dict[str, Spec]] = ...,
                 weight_rounding: Optional[str] = ..., grad_rounding: str = ..., state_rounding: str = ...,
                 params: Optional[Iterable[nn.Parameter]] = ...) -> None: ...
    @property
    def param_groups(self) -> List[Dict[str, Any]]: ...
    def zero_grad(self, set_to_none: bool = ...) -> None: ...
    def state_dict(self) -> Dict[str, Any]: ...
    def step(self, closure: Optional[Callable[[], Any]] = ...) -> Any: ...
