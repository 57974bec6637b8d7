"""StyleGAN2 generator in plain PyTorch, parameter-compatible with stylegan2-ada-pytorch.

Module and parameter names mirror NVIDIA's `training/networks.py`
(`mapping.fc0`, `synthesis.b64.conv0.affine.weight`, ...), so a state dict read
from an official pickle loads one-to-one. Everything runs in float32 unless
`SynthesisNetwork.set_precision` puts the highest-resolution blocks in half
precision (NVIDIA's num_fp16_res, for GPUs); weights stay fp32 and are cast at
each conv, and the `conv_clamp` is applied in every precision, so fp32 images
match NVIDIA's fp16-trained models.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .ops import (bias_act, conv2d_resample, modulated_conv2d, normalize_2nd_moment,
                  setup_filter, upsample2d, LRELU_GAIN)

DEFAULT_FILTER = (1, 3, 3, 1)


class FullyConnectedLayer(nn.Module):
    """Dense layer with equalised learning rate (weights scaled at run time)."""

    def __init__(self, in_features, out_features, bias=True, activation="linear",
                 lr_multiplier=1.0, bias_init=0.0):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.lr_multiplier = lr_multiplier
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x):
        w = self.weight * self.weight_gain
        b = self.bias
        if b is not None and self.bias_gain != 1:
            b = b * self.bias_gain
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)


class Conv2dLayer(nn.Module):
    """Plain equalised-lr conv; used here only as the resnet skip (1x1, up=2, no bias)."""

    def __init__(self, in_channels, out_channels, kernel_size, bias=True, activation="linear",
                 up=1, resample_filter=DEFAULT_FILTER, conv_clamp=None):
        super().__init__()
        self.activation = activation
        self.up = up
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.act_gain = LRELU_GAIN if activation == "lrelu" else 1.0
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x, gain=1.0):
        w = self.weight * self.weight_gain
        x = conv2d_resample(x, w, f=self.resample_filter, up=self.up, padding=self.padding,
                            flip_weight=(self.up == 1))
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act=self.activation, gain=self.act_gain * gain, clamp=clamp)


class MappingNetwork(nn.Module):
    """z (+ label c) -> w, broadcast to num_ws, with truncation toward w_avg."""

    def __init__(self, z_dim, c_dim, w_dim, num_ws, num_layers=8, embed_features=None,
                 layer_features=None, activation="lrelu", lr_multiplier=0.01, w_avg_beta=0.995):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.num_ws = num_ws
        self.num_layers = num_layers
        self.w_avg_beta = w_avg_beta
        if embed_features is None:
            embed_features = w_dim
        if c_dim == 0:
            embed_features = 0
        if layer_features is None:
            layer_features = w_dim
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for idx in range(num_layers):
            setattr(self, f"fc{idx}", FullyConnectedLayer(features[idx], features[idx + 1],
                                                          activation=activation,
                                                          lr_multiplier=lr_multiplier))
        self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z, c=None, truncation_psi=1, truncation_cutoff=None, update_w_avg=False):
        x = None
        if self.z_dim > 0:
            x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"this generator is conditional: it needs a label c of size {self.c_dim}")
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        if update_w_avg and self.w_avg_beta is not None:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            if truncation_cutoff is None:
                x = self.w_avg.lerp(x, truncation_psi)
            else:
                x = x.clone()
                x[:, :truncation_cutoff] = self.w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally 2x up), noise, bias, lrelu, clamp."""

    def __init__(self, in_channels, out_channels, w_dim, resolution, kernel_size=3, up=1,
                 use_noise=True, activation="lrelu", resample_filter=DEFAULT_FILTER, conv_clamp=None):
        super().__init__()
        self.resolution = resolution
        self.up = up
        self.use_noise = use_noise
        self.activation = activation
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.act_gain = LRELU_GAIN if activation == "lrelu" else 1.0
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x, w, noise_mode="const", fused_modconv=True, gain=1.0):
        styles = self.affine(w)
        noise = None
        if self.use_noise and noise_mode == "random":
            noise = torch.randn([x.shape[0], 1, self.resolution, self.resolution],
                                device=x.device) * self.noise_strength
        elif self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        if noise is not None:
            noise = noise.to(x.dtype)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        if fused_modconv and x.shape[0] == 1 and self.up == 1 and self.activation == "lrelu":
            return self._single_sample(x, styles, noise, self.act_gain * gain, clamp)
        x = modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up, padding=self.padding,
                             resample_filter=self.resample_filter, flip_weight=(self.up == 1),
                             fused_modconv=fused_modconv)
        return bias_act(x, self.bias, act=self.activation, gain=self.act_gain * gain, clamp=clamp)

    def _single_sample(self, x, styles, noise, act_gain, clamp):
        """Batch-1 fast path (drag editing): the activation gain and the bias go into the conv itself,
        since lrelu(g * y) = g * lrelu(y) for g > 0, saving two passes over the activations."""
        w = self.weight * styles.reshape(1, -1, 1, 1)
        dcoef = (w.square().sum(dim=[1, 2, 3]) + 1e-8).rsqrt() * act_gain
        x = F.conv2d(x, (w * dcoef.reshape(-1, 1, 1, 1)).to(x.dtype), bias=(self.bias * act_gain).to(x.dtype),
                     padding=self.padding)
        if noise is not None:
            x = x + noise * act_gain
        x = F.leaky_relu_(x, 0.2)
        return x.clamp(-clamp, clamp) if clamp is not None else x


class ToRGBLayer(nn.Module):
    """Modulated 1x1 conv to RGB, no demodulation."""

    def __init__(self, in_channels, out_channels, w_dim, kernel_size=1, conv_clamp=None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)

    def forward(self, x, w, fused_modconv=True):
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused_modconv=fused_modconv)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution: (const | up-conv) + conv + toRGB, 'skip' or 'resnet' architecture."""

    def __init__(self, in_channels, out_channels, w_dim, resolution, img_channels, is_last,
                 architecture="skip", resample_filter=DEFAULT_FILTER, conv_clamp=None, use_noise=True):
        super().__init__()
        if architecture not in ("skip", "resnet", "orig"):
            raise ValueError(f"unsupported synthesis architecture {architecture!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.resolution = resolution
        self.img_channels = img_channels
        self.is_last = is_last
        self.architecture = architecture
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.num_conv = 0
        self.num_torgb = 0
        self.compute_dtype = torch.float32  # set by SynthesisNetwork.set_precision
        layer_kwargs = dict(w_dim=w_dim, resolution=resolution, resample_filter=resample_filter,
                            conv_clamp=conv_clamp, use_noise=use_noise)
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, up=2, **layer_kwargs)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, **layer_kwargs)
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and architecture == "resnet":
            self.skip = Conv2dLayer(in_channels, out_channels, kernel_size=1, bias=False, up=2,
                                    resample_filter=resample_filter)

    def forward_features(self, x, ws, noise_mode="const", fused_modconv=True):
        """The block's feature output x only (what drag editing supervises), in the block's
        compute dtype."""
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1).to(self.compute_dtype)
            return self.conv1(x, ws[:, 0], noise_mode=noise_mode, fused_modconv=fused_modconv)
        x = x.to(self.compute_dtype)
        if self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x, ws[:, 0], noise_mode=noise_mode, fused_modconv=fused_modconv)
            x = self.conv1(x, ws[:, 1], noise_mode=noise_mode, fused_modconv=fused_modconv,
                           gain=math.sqrt(0.5))
            return y + x
        x = self.conv0(x, ws[:, 0], noise_mode=noise_mode, fused_modconv=fused_modconv)
        return self.conv1(x, ws[:, 1], noise_mode=noise_mode, fused_modconv=fused_modconv)

    def forward_rgb(self, x, img, ws, fused_modconv=True):
        """Add this block's RGB contribution to the running (upsampled) image."""
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.is_last or self.architecture == "skip":
            y = self.torgb(x, ws[:, self.num_conv], fused_modconv=fused_modconv).to(torch.float32)
            img = img + y if img is not None else y
        return img

    def forward(self, x, img, ws, noise_mode="const", fused_modconv=None):
        if fused_modconv is None:
            fused_modconv = ws.shape[0] == 1
        x = self.forward_features(x, ws, noise_mode=noise_mode, fused_modconv=fused_modconv)
        return x, self.forward_rgb(x, img, ws, fused_modconv=fused_modconv)


def channels_for(img_resolution, channel_base=32768, channel_max=512):
    """NVIDIA's channel rule: min(channel_base // res, channel_max) per block resolution."""
    log2 = int(round(math.log2(img_resolution)))
    return {2 ** i: min(channel_base // 2 ** i, channel_max) for i in range(2, log2 + 1)}


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, C, H, W]; optionally every block's features."""

    def __init__(self, w_dim, img_resolution, img_channels, channel_base=32768, channel_max=512,
                 channels=None, architecture="skip", conv_clamp=None, use_noise=True,
                 resample_filter=DEFAULT_FILTER, num_fp16_res=0):
        super().__init__()
        log2 = math.log2(img_resolution)
        if img_resolution < 4 or log2 != int(log2):
            raise ValueError(f"img_resolution must be a power of two >= 4, got {img_resolution}")
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.block_resolutions = [2 ** i for i in range(2, int(log2) + 1)]
        if channels is None:
            channels = channels_for(img_resolution, channel_base, channel_max)
        self.channels = {int(k): int(v) for k, v in channels.items()}
        self.num_fp16_res = num_fp16_res  # the model's own; set_precision uses it (or 4 when 0)
        self.half_dtype = None
        self.num_ws = 0
        for res in self.block_resolutions:
            in_channels = self.channels[res // 2] if res > 4 else 0
            block = SynthesisBlock(in_channels, self.channels[res], w_dim=w_dim, resolution=res,
                                   img_channels=img_channels, is_last=(res == img_resolution),
                                   architecture=architecture, resample_filter=resample_filter,
                                   conv_clamp=conv_clamp, use_noise=use_noise)
            self.num_ws += block.num_conv
            if res == img_resolution:
                self.num_ws += block.num_torgb
            setattr(self, f"b{res}", block)

    def blocks(self):
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    def half_resolutions(self, num_fp16_res=None):
        """Block resolutions NVIDIA's rule runs in half precision: the top `num_fp16_res`
        (the model's own, else NVIDIA's training default 4), never below 8 px."""
        n = num_fp16_res if num_fp16_res is not None else (self.num_fp16_res or 4)
        if n <= 0:
            return []
        lowest = max(2 ** (int(math.log2(self.img_resolution)) + 1 - n), 8)
        return [r for r in self.block_resolutions if r >= lowest]

    def set_precision(self, half_dtype=None, num_fp16_res=None):
        """half_dtype None: every block fp32. torch.float16 / bfloat16: the blocks of
        `half_resolutions` compute in it (weights stay fp32, the image accumulates in fp32)."""
        half = set(self.half_resolutions(num_fp16_res)) if half_dtype is not None else set()
        for block in self.blocks():
            block.compute_dtype = half_dtype if block.resolution in half else torch.float32
        self.half_dtype = half_dtype if half else None

    def default_feature_block(self) -> int:
        """Index of the block whose features drag editing uses (DESIGN section 1): the 128-px
        block (DragGAN's 6th) for models of 128 px or more, else the block at half the image size."""
        h = self.img_resolution
        return self.block_resolutions.index(max(4, 128 if h >= 128 else h // 2))

    def block_ws(self, ws):
        """Slice ws per block: each block reads num_conv + num_torgb consecutive ws."""
        out, idx = [], 0
        for block in self.blocks():
            out.append(ws.narrow(1, idx, block.num_conv + block.num_torgb))
            idx += block.num_conv
        return out

    def forward(self, ws, noise_mode="const", return_features=False, fused_modconv=None):
        if noise_mode not in ("const", "random", "none"):
            raise ValueError(f"noise_mode must be 'const', 'random' or 'none', got {noise_mode!r}")
        ws = ws.to(torch.float32)
        if fused_modconv is None:
            fused_modconv = ws.shape[0] == 1
        x = img = None
        feats = []
        for block, cur_ws in zip(self.blocks(), self.block_ws(ws)):
            x, img = block(x, img, cur_ws, noise_mode=noise_mode, fused_modconv=fused_modconv)
            if return_features:
                feats.append(x)
        return (img, feats) if return_features else img


class GeneratorBase(nn.Module):
    """What every generator family shares: mapping -> synthesis, and a `config` dict (set as
    `self._config` by the subclass) from which `from_config` rebuilds the network."""

    def _build_networks(self, synthesis_cls, z_dim, c_dim, w_dim, img_resolution, img_channels,
                        mapping_kwargs, synthesis_kwargs):
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = synthesis_cls(w_dim=w_dim, img_resolution=img_resolution,
                                       img_channels=img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, num_ws=self.num_ws,
                                      **mapping_kwargs)

    @property
    def config(self) -> dict:
        return copy.deepcopy(self._config)

    @classmethod
    def from_config(cls, config: dict) -> "Generator":
        return cls(**copy.deepcopy(config))

    def forward(self, z, c=None, truncation_psi=1, truncation_cutoff=None, noise_mode="const",
                **synthesis_kwargs):
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, **synthesis_kwargs)


class Generator(GeneratorBase):
    """z, c -> image. `config` is everything needed to rebuild the network."""

    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels=3, mapping_kwargs=None,
                 synthesis_kwargs=None):
        super().__init__()
        mapping_kwargs = dict(mapping_kwargs or {})
        synthesis_kwargs = dict(synthesis_kwargs or {})
        self._build_networks(SynthesisNetwork, z_dim, c_dim, w_dim, img_resolution, img_channels,
                             mapping_kwargs, synthesis_kwargs)
        synthesis_kwargs.pop("channel_base", None)
        synthesis_kwargs.pop("channel_max", None)
        synthesis_kwargs["channels"] = dict(self.synthesis.channels)
        self._config = dict(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=img_resolution,
                            img_channels=img_channels, mapping_kwargs=mapping_kwargs,
                            synthesis_kwargs=synthesis_kwargs)



def count_params(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def ws_from_seed(G: Generator, seed: int, truncation_psi=0.7, c=None) -> torch.Tensor:
    """Deterministic ws for a seed (numpy RandomState z, as NVIDIA's scripts draw it)."""
    z = torch.from_numpy(np.random.RandomState(seed).randn(1, G.z_dim).astype(np.float32))
    if G.c_dim > 0 and c is None:
        c = torch.zeros([1, G.c_dim])
    device = G.mapping.w_avg.device
    with torch.no_grad():
        return G.mapping(z.to(device), torch.as_tensor(c, dtype=torch.float32).to(device) if c is not None else None,
                         truncation_psi=truncation_psi)
