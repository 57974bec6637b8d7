"""A small residual patch discriminator for the adversarial fine-tune of the default model.

Why so small: it must cost at most about as much as the generator's own
regression step on one CPU core. It only has to tell sharp, plausible edges
from smeared ones, which is a local question, so it ends in an 8x8 map of
patch logits (each patch sees most of the face) instead of one global score.
Layout in the manner of StyleGAN2's residual D: 1x1 from-RGB, then residual
blocks that halve the resolution (two 3x3 convs, 1x1 skip, scaled by 1/sqrt 2).
The input also carries each channel's 3x3 Laplacian: the detail that tells a
sharp face from a soft one sits in the highest frequencies, which a plain D
must first learn to extract before its first pooling smooths them away (in
trials it stayed at chance for hundreds of steps without it).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..nets.ops import laplacian


def with_laplacian(img):
    """[N, C, H, W] -> [N, 2C, H, W]: the image and its per-channel Laplacian (same size, reflect padding)."""
    return torch.cat([img, laplacian(img, "reflect")], dim=1)


class _DownBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv0 = nn.Conv2d(cin, cin, 3, padding=1)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        y = F.leaky_relu(self.conv0(x), 0.2)
        y = F.avg_pool2d(y, 2)
        y = F.leaky_relu(self.conv1(y), 0.2)
        s = self.skip(F.avg_pool2d(x, 2))
        return (y + s) / math.sqrt(2.0)


class PatchDiscriminator(nn.Module):
    """Images [N, 3, R, R] in [-1, 1] -> patch logits [N, 1, R/16, R/16]."""

    def __init__(self, img_resolution=128, channels=(16, 32, 64, 128, 128)):
        super().__init__()
        self.config = dict(img_resolution=int(img_resolution), channels=list(channels))
        self.from_rgb = nn.Conv2d(6, channels[0], 1)
        self.blocks = nn.ModuleList(_DownBlock(a, b) for a, b in zip(channels[:-1], channels[1:]))
        self.head = nn.Sequential(nn.Conv2d(channels[-1], channels[-1], 3, padding=1),
                                  nn.LeakyReLU(0.2), nn.Conv2d(channels[-1], 1, 1))

    def forward(self, img):
        x = F.leaky_relu(self.from_rgb(with_laplacian(img)), 0.2)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def d_loss(D, real, fake):
    """Non-saturating D loss: softplus(D(fake)) + softplus(-D(real)), mean over patches and batch."""
    return F.softplus(D(fake)).mean() + F.softplus(-D(real)).mean()


def g_adv_loss(D, fake):
    """Non-saturating G loss: softplus(-D(fake))."""
    return F.softplus(-D(fake)).mean()


def r1_penalty(D, real):
    """Squared gradient norm of D's logits at the real images (Mescheder et al.), per sample mean."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(real).sum(), real, create_graph=True)
    return grad.square().sum(dim=[1, 2, 3]).mean()
