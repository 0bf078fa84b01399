# SPDX-License-Identifier: MIT
# Generates weights, batches and PyTorch gradients for the engine-vs-PyTorch test, then runs the
# C++ comparison (argv: path of the test executable). Exits 77 (skip) if torch is not importable.
# PyTorch computes in float64 from the same float32 weights and inputs: an exact reference for the
# engine's float32 results (PyTorch's own float32 path is not: see docs/engine.md).
import copy
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError as e:  # the meson test is skipped
    print("skipping: cannot import torch/numpy with %s: %s" % (sys.executable, e))
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402

DTYPES = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}


def save_safetensors(path, tensors, metadata=None):
    """The safetensors layout written by hand (python3-safetensors is not in Debian 12)."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name, value in tensors.items():
        a = np.ascontiguousarray(value)
        if a.dtype not in DTYPES:
            raise TypeError(name)
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def randomize(model, gen):
    """Non-trivial BatchNorm affine parameters and running statistics."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
                m.num_batches_tracked.fill_(7)


# A ReLU input this close to its kink (relative to the tensor's largest magnitude; the engine's float32
# forward pass is good to a few 1e-7 of it) has no reliable float32 sign: the engine may put it on the
# other side than the float64 reference, and the gradients then differ at the 1e-2 level although both
# are right to rounding (seen with OpenBLAS's SkylakeX and Prescott SGEMM kernels on resnet20_train).
# Such batches are redrawn (draw_batch). The cases are small enough that about half the draws pass.
MARGIN = 1e-6


def kink_margin(model, x):
    """Smallest distance of any ReLU/ReLU6 input to a kink (0, and 6 for ReLU6), relative to the
    largest magnitude of that input tensor, in the float64 forward pass of x. Runs on a copy: a
    train-mode pass would move the BatchNorm running statistics."""
    model = copy.deepcopy(model)
    margins = []

    def record(v, kinks):
        v = v.detach()
        scale = v.abs().max().item()
        if scale > 0:
            margins.append(min((v - k).abs().min().item() for k in kinks) / scale)

    real_relu = torch.relu

    def relu(v, *args, **kwargs):
        record(v, (0.0,))
        return real_relu(v, *args, **kwargs)

    hooks = []
    for m in model.modules():
        if isinstance(m, torch.nn.ReLU6):
            hooks.append(m.register_forward_hook(lambda mod, inp, out: record(inp[0], (0.0, 6.0))))
        elif isinstance(m, torch.nn.ReLU):
            hooks.append(m.register_forward_hook(lambda mod, inp, out: record(inp[0], (0.0,))))
    torch.relu = relu
    try:
        with torch.no_grad():
            model(x)
    finally:
        torch.relu = real_relu
        for h in hooks:
            h.remove()
    return min(margins, default=1.0)


def draw_batch(model, shape, classes, gen):
    """Input and labels whose float64 forward pass keeps every ReLU decision MARGIN away from a kink."""
    for _ in range(100):
        x = torch.randn(*shape, generator=gen)
        y = torch.randint(0, classes, (shape[0],), generator=gen)
        if kink_margin(model, x.double()) >= MARGIN:
            return x, y
    raise RuntimeError("no well-conditioned batch in 100 draws")


def state_dict_np(model):
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


CASES = [
    # name, arch, (N, C, H, W), classes, train mode
    ("resnet20_eval", "resnet20", (8, 1, 12, 12), 10, False),
    ("resnet20_train", "resnet20", (8, 3, 8, 8), 7, True),
    ("vgg_small_eval", "vgg_small", (8, 3, 12, 12), 10, False),
    ("mlp_eval", "mlp", (32, 1, 12, 12), 10, False),
    ("zoo_eval", "zoo", (8, 3, 12, 12), 5, False),
    ("zoo_train", "zoo_nodrop", (8, 3, 12, 12), 5, True),
]


def generate(outdir):
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(99)
    for name, arch, (n, c, h, w), classes, train in CASES:
        model = torch_models.make("zoo" if arch == "zoo_nodrop" else arch, c, classes, h, w)
        if arch == "zoo_nodrop":
            model.drop.p = 0.0
        randomize(model, gen)
        save_safetensors(os.path.join(outdir, name + ".weights.safetensors"), state_dict_np(model))
        model.train(train)
        model.double()
        x, y = draw_batch(model, (n, c, h, w), classes, gen)
        xg = x.double().requires_grad_(True)
        logits = model(xg)
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss.backward()
        out = {
            "input": x.numpy(),
            "labels": y.numpy().astype(np.int64),
            "logits": logits.detach().float().numpy(),
            "loss": np.array(loss.item(), dtype=np.float32),
            "input_grad": xg.grad.float().numpy(),
        }
        for pname, p in model.named_parameters():
            out["grad." + pname] = p.grad.float().numpy()
        if train:
            for bname, b in model.named_buffers():
                if b.dtype == torch.float64:
                    out["after." + bname] = b.detach().float().numpy()
        meta = {"arch": arch, "train": "1" if train else "0", "classes": str(classes)}
        save_safetensors(os.path.join(outdir, name + ".expected.safetensors"), out, meta)


def main():
    if len(sys.argv) < 2:
        print("usage: torch_reference.py TEST_EXECUTABLE | --generate DIR")
        return 2
    if sys.argv[1] == "--generate":
        generate(sys.argv[2])
        return 0
    with tempfile.TemporaryDirectory() as d:
        generate(d)
        env = dict(os.environ, FMTSIM_TORCH_REF_DIR=d,
                   FMTSIM_TORCH_REF_CASES=",".join(c[0] for c in CASES))
        return subprocess.call([sys.argv[1]] + sys.argv[2:], env=env)


if __name__ == "__main__":
    sys.exit(main())
