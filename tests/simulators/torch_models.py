# SPDX-License-Identifier: MIT
# PyTorch modules equivalent to fmtsim's engine architectures (same state_dict names and maths).
import collections

import torch
from torch import nn


class BasicBlock(nn.Module):
    """CIFAR ResNet block with option-B shortcut (1x1 conv + BN) when the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNetCifar(nn.Module):
    """resnet20 (blocks=3), resnet32 (5), resnet56 (9): He et al. 2016 CIFAR ResNet."""

    def __init__(self, blocks, in_channels=3, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for stage, width in enumerate((16, 32, 64)):
            layers = []
            for b in range(blocks):
                stride = 2 if stage > 0 and b == 0 else 1
                layers.append(BasicBlock(cin, width, stride))
                cin = width
            setattr(self, "layer%d" % (stage + 1), nn.Sequential(*layers))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = nn.functional.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.fc(out)


class VggSmall(nn.Module):
    def __init__(self, in_channels=3, num_classes=10):
        super().__init__()
        layers = []
        cin = in_channels
        for width in (32, 64, 128):
            for _ in range(2):
                layers += [nn.Conv2d(cin, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
                cin = width
            layers.append(nn.MaxPool2d(2, 2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, num_classes))

    def forward(self, x):
        out = nn.functional.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return self.classifier(out)


class Mlp(nn.Module):
    def __init__(self, in_features, num_classes=10):
        super().__init__()
        self.fc1 = nn.Linear(in_features, 256)
        self.fc2 = nn.Linear(256, 256)
        self.fc3 = nn.Linear(256, num_classes)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def layer_zoo(in_channels=3, num_classes=5):
    """Every engine layer once: bias conv, depthwise dilated strided conv, grouped conv, BN, ReLU6,
    ReLU, padded MaxPool2d and AvgPool2d, global pooling, Linear, Dropout. Input 12x12."""
    return nn.Sequential(collections.OrderedDict([
        ("c1", nn.Conv2d(in_channels, 8, 3, 1, 1, bias=True)),
        ("b1", nn.BatchNorm2d(8)),
        ("r1", nn.ReLU6()),
        ("c2", nn.Conv2d(8, 8, 3, 2, 2, dilation=2, groups=8, bias=False)),
        ("b2", nn.BatchNorm2d(8)),
        ("r2", nn.ReLU()),
        ("c3", nn.Conv2d(8, 12, (3, 3), 1, 1, groups=2, bias=True)),
        ("mp", nn.MaxPool2d(3, 2, 1)),
        ("ap", nn.AvgPool2d(3, 1, 1)),
        ("gap", nn.AdaptiveAvgPool2d(1)),
        ("flat", nn.Flatten()),
        ("fc1", nn.Linear(12, 16)),
        ("r3", nn.ReLU()),
        ("drop", nn.Dropout(0.3)),
        ("fc2", nn.Linear(16, num_classes)),
    ]))


def make(arch, in_channels, num_classes, height=28, width=28):
    if arch == "resnet20":
        return ResNetCifar(3, in_channels, num_classes)
    if arch == "resnet32":
        return ResNetCifar(5, in_channels, num_classes)
    if arch == "resnet56":
        return ResNetCifar(9, in_channels, num_classes)
    if arch == "vgg_small":
        return VggSmall(in_channels, num_classes)
    if arch == "mlp":
        return Mlp(in_channels * height * width, num_classes)
    if arch == "zoo":
        return layer_zoo(in_channels, num_classes)
    raise ValueError(arch)
