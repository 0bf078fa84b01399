# SPDX-License-Identifier: MIT
# fmtsim.torch and devices: CUDA tensors go to the cuda/ kernels in a CUDA build (bit for bit with the CPU
# path, run only where a GPU and such a build exist); otherwise a clear error naming the fix (tensor.cpu()).
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fmtsim  # noqa: E402
import fmtsim.torch as ft  # noqa: E402
from fmtsim import _fmtsim  # noqa: E402


class _FakeCudaTensor:
    """Stands in for a CUDA tensor on a machine without CUDA: only the device is looked at before the error."""

    device = torch.device("cuda", 0)
    is_cuda = True


@pytest.mark.skipif(_fmtsim.cuda_built(), reason="this build has the CUDA kernels")
def test_cuda_tensor_without_cuda_kernels_names_the_fix():
    with pytest.raises(ValueError) as e:
        ft._element_quantize(_FakeCudaTensor(), fmtsim.Format("e4m3fn"), "rne", 0)
    msg = str(e.value)
    assert "cuda:0" in msg and "no CUDA kernels" in msg and "-Dcuda=enabled" in msg and "tensor.cpu()" in msg
    q = ft._Q("mxfp8_e4m3")
    with pytest.raises(ValueError, match=r"tensor\.cpu\(\)"):
        q(_FakeCudaTensor())


def test_other_devices_are_refused_with_the_fix():
    t = torch.empty(4, device="meta")
    with pytest.raises(ValueError, match=r"tensor on meta.*tensor\.cpu\(\)"):
        ft.quantize(t, "e4m3fn")
    with pytest.raises(ValueError, match=r"tensor\.cpu\(\)"):
        ft.quantize(t, "asym4")


def test_the_cuda_entry_point_refuses_without_kernels():
    if _fmtsim.cuda_built():
        pytest.skip("this build has the CUDA kernels")
    assert not _fmtsim.cuda_available()
    with pytest.raises(ValueError, match=r"no CUDA kernels.*tensor\.cpu\(\)"):
        _fmtsim.quantize_cuda_into(fmtsim.Format("e4m3fn")._f, 0, 0, 0, "rne", 0, 0, 0)


@pytest.mark.skipif(not (_fmtsim.cuda_built() and torch.cuda.is_available()), reason="needs a CUDA build and a GPU")
@pytest.mark.parametrize("rounding", ["rne", "sr"])
def test_cuda_matches_cpu_bit_for_bit(rounding):
    x = torch.randn(4096, generator=torch.Generator().manual_seed(1)) * 100
    cpu = ft.quantize(x, "e4m3fn", rounding=rounding, seed=7)
    gpu = ft.quantize(x.cuda(), "e4m3fn", rounding=rounding, seed=7)
    assert gpu.device.type == "cuda"
    assert np.array_equal(cpu.numpy().view(np.uint32), gpu.cpu().numpy().view(np.uint32))


def test_families_through_the_torch_layer():
    # a family spec is a quantizer like any other: forward value, straight-through gradient
    x = torch.tensor([0.0, 3.0, 0.5, 1.5, 2.5, 1.2], requires_grad=True)
    y = ft.quantize(x, "asym2")
    assert y.tolist() == [0.0, 3.0, 0.0, 2.0, 2.0, 1.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0] * 6
