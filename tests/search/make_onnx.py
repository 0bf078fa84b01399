# SPDX-License-Identifier: MIT
# Exports small PyTorch models to ONNX (torch.onnx.export, offline) with reference outputs, then runs the
# C++ ONNX-import test on them. Usage: make_onnx.py TEST_EXECUTABLE. Exit 77 (skipped) without torch.
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as e:  # Debian's python3-torch / python3-numpy missing
    print("skipped: %s" % e)
    sys.exit(77)


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class Net(nn.Module):
    """Conv (with bias), BN, ReLU6 (Clip), two residual blocks, max and average pooling, Flatten, Gemm."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.act = nn.ReLU6()
        self.layer1 = Block(6, 6, 1)
        self.pool = nn.MaxPool2d(2)
        self.layer2 = Block(6, 8, 2)
        self.avg = nn.AvgPool2d(2)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.act(self.bn1(self.conv1(x)))
        x = self.pool(self.layer1(x))
        x = self.avg(self.layer2(x))
        return self.fc(self.drop(torch.flatten(x, 1)))


class Bad(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(2 * 6 * 6, 3)

    def forward(self, x):
        return torch.softmax(self.fc(torch.flatten(torch.sigmoid(self.conv(x)), 1)), 1)


def main():
    exe = sys.argv[1]
    torch.manual_seed(0)
    out = tempfile.mkdtemp(prefix="fmtsim-onnx-")
    net = Net()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    net.eval()
    x = torch.randn(12, 1, 8, 8) * 3.0
    labels = torch.arange(12) % 5
    kw = dict(input_names=["images"], output_names=["logits"], dynamic_axes={"images": {0: "n"}, "logits": {0: "n"}},
              training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False, opset_version=13)
    torch.onnx.export(net, x, os.path.join(out, "net.onnx"), **kw)
    torch.onnx.export(Bad().eval(), x, os.path.join(out, "bad.onnx"), **kw)
    xr = x.clone().requires_grad_(True)
    logits = net(xr)
    loss = nn.functional.cross_entropy(logits, labels)
    loss.backward()
    np.save(os.path.join(out, "x.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out, "labels.npy"), labels.numpy().astype(np.int32))
    np.save(os.path.join(out, "logits.npy"), logits.detach().numpy().astype(np.float32))
    np.save(os.path.join(out, "dx.npy"), xr.grad.numpy().astype(np.float32))
    np.save(os.path.join(out, "conv1_grad.npy"), net.conv1.weight.grad.numpy().astype(np.float32))
    np.save(os.path.join(out, "fc_grad.npy"), net.fc.weight.grad.numpy().astype(np.float32))
    env = dict(os.environ, FMTSIM_ONNX_DIR=out)
    rc = subprocess.call([exe], env=env)
    if rc == 0:
        for f in os.listdir(out):
            os.remove(os.path.join(out, f))
        os.rmdir(out)
    sys.exit(rc)


if __name__ == "__main__":
    main()
