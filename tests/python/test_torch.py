# SPDX-License-Identifier: MIT
# fmtsim.torch: STE quantize, Quantizer (activations forward, errors backward), quantize_model placement,
# quantized optimizer (master copy, hysteresis, gradients, state); a small CNN trains on Fashion-MNIST.
import gzip
import os
import struct

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import fmtsim  # noqa: E402
import fmtsim.torch as ft  # noqa: E402

FASHION = "/usr/share/datasets/fashion-mnist"


def read_idx(path: str) -> np.ndarray:
    """IDX file (optionally gzip): magic 0x0000 TT NN, NN big-endian uint32 dims, then the data."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    dtype = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[data[2]]
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {arr.size} elements, header says {dims}")
    return arr.reshape(dims)


@pytest.fixture(scope="module")
def fashion():
    img = os.path.join(FASHION, "train-images-idx3-ubyte.gz")
    lab = os.path.join(FASHION, "train-labels-idx1-ubyte.gz")
    if not (os.path.exists(img) and os.path.exists(lab)):
        pytest.skip("Fashion-MNIST not installed (Debian package dataset-fashion-mnist)")
    x = read_idx(img)[:4096].astype(np.float32) / 255.0
    y = read_idx(lab)[:4096].astype(np.int64)
    assert x.shape == (4096, 28, 28) and y.max() == 9
    x = (x - 0.2860) / 0.3530
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x  # residual addition
        return torch.relu(out)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.block = Block(8)
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        x = nn.functional.max_pool2d(x, 2)
        x = self.block(x)
        x = nn.functional.max_pool2d(x, 2)
        return self.fc(torch.flatten(x, 1))


def is_in_format(t: torch.Tensor, spec: str) -> bool:
    a = t.detach().numpy()
    return np.array_equal(fmtsim.quantize(a, spec).view(np.uint32), np.ascontiguousarray(a).view(np.uint32))


# ---- quantize (STE) and Quantizer -------------------------------------------------------------------


def test_quantize_ste_forward_and_gradient():
    x = (torch.randn(5, 7) * 10).requires_grad_()
    y = ft.quantize(x, "e4m3fn")
    assert torch.equal(y, torch.from_numpy(fmtsim.quantize(x.detach().numpy(), "e4m3fn")))
    g = torch.randn(5, 7)
    y.backward(g)
    assert torch.equal(x.grad, g)  # straight-through
    # non-contiguous, float64, float16, bfloat16
    xt = torch.randn(6, 4, dtype=torch.float64).t()
    assert torch.equal(ft.quantize(xt, "e5m2"), torch.from_numpy(fmtsim.quantize(xt.numpy(), "e5m2")))
    h = torch.randn(100).half()
    assert torch.equal(ft.quantize(h, "e4m3fn").float(), ft.quantize(h.float(), "e4m3fn"))
    b = torch.randn(100).bfloat16()
    assert ft.quantize(b, "e2m1fin").dtype == torch.bfloat16
    with pytest.raises(ValueError, match="invalid format spec"):
        ft.quantize(x, "e4m3q")


def test_quantize_in_place_and_seeds():
    x = torch.randn(1000)
    y = x.clone()
    ft.quantize_(y, "e3m2fin")
    assert torch.equal(y, ft.quantize(x, "e3m2fin"))
    torch.manual_seed(3)
    a = ft.quantize(x, "e4m3fn", rounding="sr")
    torch.manual_seed(3)
    b = ft.quantize(x, "e4m3fn", rounding="sr")
    c = ft.quantize(x, "e4m3fn", rounding="sr")
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(ft.quantize(x, "e4m3fn", rounding="sr", seed=5),
                       torch.from_numpy(fmtsim.quantize(x.numpy(), "e4m3fn", rounding="sr", seed=5)))


def test_quantizer_module_forward_and_backward():
    q = ft.Quantizer(forward="e4m3fn", backward="e5m2")
    x = (torch.randn(64) * 3).requires_grad_()
    y = q(x)
    assert torch.equal(y, ft.quantize(x, "e4m3fn"))
    g = torch.randn(64) * 1e-3
    y.backward(g)
    assert torch.equal(x.grad, torch.from_numpy(fmtsim.quantize(g.numpy(), "e5m2")))
    assert "forward=e4m3fn" in repr(q) and "backward=e5m2" in repr(q)
    # scaled formats: MX block quantization in the forward pass
    qm = ft.Quantizer(forward="mxfp8_e4m3")
    z = torch.randn(4, 64)
    assert torch.equal(qm(z), torch.from_numpy(fmtsim.quantize(z.numpy(), "mxfp8_e4m3")))


# ---- quantize_model ----------------------------------------------------------------------------


def test_quantize_model_placement():
    torch.manual_seed(0)
    m = ft.quantize_model(SmallCNN(), activations="e4m3fn", errors="e5m2")
    qs = [mod for mod in m.modules() if isinstance(mod, ft.Quantizer)]
    # conv, bn, block.conv1, block.bn1, block.conv2, block.bn2, the residual add, fc
    assert len(qs) == 8
    code = m.code
    assert code.count("= self.fmtsim_q") == 8
    adds = [n for n in m.graph.nodes if n.op == "call_function" and "add" in str(n.target)]
    assert len(adds) == 1 and [u.target for u in adds[0].users] == ["fmtsim_q6"]


def test_layers_see_exactly_quantized_values(fashion):
    torch.manual_seed(1)
    model = ft.quantize_model(SmallCNN(), activations="e4m3fn", errors="e5m2")
    x, y = fashion
    layers = [mod for mod in model.modules() if isinstance(mod, ft.QUANTIZED_LAYERS)]
    grads_out, raw_grads, fwd = {}, {}, []

    for i, layer in enumerate(layers):
        layer.register_full_backward_hook(lambda mod, gi, go, i=i: grads_out.__setitem__(i, go[0].clone()))

    quantizers = [mod for mod in model.modules() if isinstance(mod, ft.Quantizer)]
    for j, q in enumerate(quantizers):
        def fhook(mod, inp, out, j=j):
            fwd.append((inp[0].detach().clone(), out.detach().clone()))
            out.register_hook(lambda g, j=j: raw_grads.__setitem__(j, g.clone()))
        q.register_forward_hook(fhook)

    loss = nn.functional.cross_entropy(model(x[:32]), y[:32]) * 1024  # loss scaling keeps errors in e5m2's range
    loss.backward()
    # forward: every quantizer output is the e4m3fn quantization of its input
    for inp, out in fwd:
        assert torch.equal(out, ft.quantize(inp, "e4m3fn"))
    # backward: the error each layer receives is exactly e5m2-valued ...
    assert len(grads_out) == len(layers)
    for i, g in grads_out.items():
        assert is_in_format(g, "e5m2"), layers[i]
        assert g.abs().max() > 0
    # ... and is the e5m2 quantization of the raw error arriving from downstream
    for i, layer in enumerate(layers):
        j = [k for k, n in enumerate(model.graph.nodes) if False]  # (placement is checked by name below)
    names = {n.target: n for n in model.graph.nodes if n.op == "call_module"}
    qnames = [n for n in names if n.startswith("fmtsim_q")]
    for jn in qnames:
        node = names[jn]
        src = node.args[0]
        if src.op != "call_module":
            continue
        li = layers.index(model.get_submodule(src.target))
        qj = quantizers.index(model.get_submodule(jn))
        assert torch.equal(grads_out[li], ft.quantize(raw_grads[qj], "e5m2")), src.target


def train(model, opt, x, y, steps, batch=64, scale=1.0):
    losses = []
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(x.shape[0], generator=g)
    for s in range(steps):
        idx = order[(s * batch) % x.shape[0]:][:batch]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        (loss * scale).backward()
        if scale != 1.0:
            for p in model.parameters():
                if p.grad is not None:
                    p.grad /= scale
        opt.step()
        losses.append(float(loss))
    return losses


def test_cnn_trains_with_e4m3fn_activations_and_e5m2_errors(fashion):
    torch.manual_seed(2)
    x, y = fashion
    model = ft.quantize_model(SmallCNN(), activations="e4m3fn", errors="e5m2")
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = train(model, opt, x, y, steps=40, scale=1024.0)
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    print(f"\nFashion-MNIST, e4m3fn activations / e5m2 errors: loss {first:.3f} -> {last:.3f}")
    assert last < 0.7 * first, losses


def test_weights_and_weight_grads_in_quantize_model(fashion):
    torch.manual_seed(4)
    x, y = fashion
    model = ft.quantize_model(SmallCNN(), activations="e4m3fn", errors="e5m2", weights="e4m3fn",
                              weight_grads="e5m2")
    (nn.functional.cross_entropy(model(x[:16]), y[:16]) * 1024).backward()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    for c in convs:
        assert is_in_format(c.weight, "e4m3fn")  # what the layer computes with
        orig = c.parametrizations.weight.original
        assert orig.grad is not None and is_in_format(orig.grad, "e5m2")


# ---- optimizer wrapper ---------------------------------------------------------------------------


def change_frequencies(fashion, weights, rne_quantizer, steps, lr):
    """One training run with hysteresis-quantized weights (master copy). Along the same master-weight
    trajectory W_t, compare the share of weights whose quantized value changes per step under hysteresis
    (what the run used) and under plain round-to-nearest of the same W_t."""
    torch.manual_seed(5)
    x, y = fashion
    model = SmallCNN()
    opt = ft.QuantizedOptimizer(torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9), weights=weights,
                                hysteresis=True)
    params = list(model.parameters())
    rq = {id(p): rne_quantizer() for p in params}
    prev = {id(p): rq[id(p)](opt.master[id(p)]) for p in params}
    rne_freq = []

    class Recorder:
        param_groups = opt.param_groups

        def zero_grad(self):
            opt.zero_grad()

        def step(self):
            opt.step()
            changed = total = 0
            for p in params:
                q = rq[id(p)](opt.master[id(p)])
                changed += int(torch.count_nonzero(q != prev[id(p)]))
                total += q.numel()
                prev[id(p)] = q
            rne_freq.append(changed / total)

    losses = train(model, Recorder(), x, y, steps=steps)
    return float(np.mean(opt.change_frequency)), float(np.mean(rne_freq)), losses, model


def test_hysteresis_changes_fewer_weight_codes(fashion):
    rne = ft._Q("fix8.7")
    f_hys, f_rne, losses, model = change_frequencies(fashion, "fix8.7", lambda: rne, steps=40, lr=0.01)
    print(f"\nweight-change frequency per step, fix8.7 weights, SGD lr 0.01 momentum 0.9, 40 steps, same "
          f"master-weight trajectory: round-to-nearest {f_rne:.4f}, hysteresis {f_hys:.4f}")
    assert f_hys < f_rne
    for p in model.parameters():
        assert is_in_format(p, "fix8.7")  # the model computes with quantized weights
    assert np.mean(losses[-5:]) < np.mean(losses[:5])  # and still learns


def test_hysteresis_per_channel_tensor_quantizer(fashion):
    def hys():
        return fmtsim.TensorQuantizer("int8", groups="channel:0", rule="room", room=0, rounding="hys")

    def rne():
        return ft._Q(fmtsim.TensorQuantizer("int8", groups="channel:0", rule="room", room=0))

    f_hys, f_rne, losses, _ = change_frequencies(fashion, hys, rne, steps=30, lr=0.01)
    print(f"\nweight-change frequency per step, int8 per-channel (room 0) weights, 30 steps, same trajectory: "
          f"round-to-nearest {f_rne:.4f}, hysteresis {f_hys:.4f}")
    assert f_hys < f_rne


def test_quantized_gradients_and_optimizer_state(fashion):
    torch.manual_seed(7)
    x, y = fashion
    model = SmallCNN()
    opt = ft.QuantizedOptimizer(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), grads="bf16",
                                state="e4m3fn")
    seen = []
    for p in model.parameters():
        p.register_hook(lambda g: g)  # gradients exist
    train(model, opt, x, y, steps=3)
    for p in model.parameters():
        assert is_in_format(p.grad, "bf16")
        assert is_in_format(opt.optimizer.state[p]["momentum_buffer"], "e4m3fn")
    # Adam moments, each with its own format
    model = SmallCNN()
    opt = ft.QuantizedOptimizer(torch.optim.Adam(model.parameters(), lr=1e-3),
                                state={"exp_avg": "bf16", "exp_avg_sq": "e8m7"})
    losses = train(model, opt, x, y, steps=5)
    for p in model.parameters():
        st = opt.optimizer.state[p]
        assert is_in_format(st["exp_avg"], "bf16") and is_in_format(st["exp_avg_sq"], "bf16")
    assert all(np.isfinite(losses)) and not seen
    with pytest.raises(ValueError, match="unknown optimizer state keys"):
        ft.QuantizedOptimizer(torch.optim.SGD(model.parameters(), lr=0.1), state={"velocity": "bf16"})
    with pytest.raises(ValueError, match="hysteresis needs the master copy"):
        ft.QuantizedOptimizer(torch.optim.SGD(model.parameters(), lr=0.1), weights="int8", hysteresis=True,
                              master=False)


def test_smaq_optimizer_state(fashion):
    """SmaQ-compressed momentum: after each step every momentum buffer holds SmaQ-decoded values (at most
    2*15+1 main levels and 2*63+1 levels on each outlier side around the tensor's mu and sigma)."""
    torch.manual_seed(8)
    x, y = fashion
    model = SmallCNN()
    smaq = fmtsim.SmaQ(main_bits=6, outlier_bits=8)
    opt = ft.QuantizedOptimizer(torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9), state=smaq)
    losses = train(model, opt, x, y, steps=10)
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    for p in model.parameters():
        buf = opt.optimizer.state[p]["momentum_buffer"]
        assert torch.unique(buf).numel() <= 31 + 2 * 127
    assert "bits_per_element" in smaq.stats
