"""StyleGAN3 (alias-free) generator in plain PyTorch, parameter-compatible with NVIDIA's release.

Module, parameter and buffer names mirror `training/networks_stylegan3.py` of
NVlabs/stylegan3 (`synthesis.input.freqs`, `synthesis.L3_52_512.up_filter`,
`mapping.fc1.weight`, ...), so the state read from an official
`stylegan3-t-*.pkl` / `stylegan3-r-*.pkl` loads one-to-one. The math is
NVIDIA's fp32 path: Fourier-feature input rotated/translated by the first w,
modulated conv with the `magnitude_ema` input gain, and `filtered_lrelu`
written out as its reference (upfirdn up with `up_filter`, bias, leaky ReLU
times sqrt(2), clamp, upfirdn down with `down_filter`), then the 0.25 output
scale. The filters are buffers read from the file; they are only designed here
(Kaiser-windowed sinc / jinc, in numpy) when a fresh network is built.

The layer geometry (sizes, sampling rates, cutoffs, taps, padding) is kept as
an explicit list of per-layer specs in the config, so a network can be rebuilt
from a pickle's stored layer attributes without NVIDIA's hyper-parameters.

Drag editing. The engine walks `G.synthesis.blocks()`: block 0 is the Fourier
input, block i+1 is layer `L{i}`; each reads one w. A layer's feature map has a
margin of `margin_size` samples outside the image on every side; blocks hand
out the map with that margin cropped (a view), so features cover exactly the
image, as the engine's point sampling assumes (DragGAN's own code resizes the
whole map, margin included, which shifts points away from the centre by up to
about 8% of the image). The next block takes the full map back from the view.
The default feature layer is `L5` for NVIDIA's 14-layer networks (the layer
DragGAN's official code uses for StyleGAN3: 128 px features at 1024 px and
512 px, 64 px at 256 px, about 3/8 of the depth, just after the six w's that
drag editing optimises); other depths use the same fraction, see
`SynthesisNetwork.default_feature_block`. There are no intermediate RGB
outputs, so the engine's low-resolution preview is unavailable
(`supports_low_res_preview = False`).
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .stylegan2 import FullyConnectedLayer, GeneratorBase

FAMILY = "stylegan3"


# --------------------------------------------------------------------------- filter design (numpy)

def _kaiser_beta(atten):
    """Kaiser's empirical beta for a stop-band attenuation in dB (scipy.signal.kaiser_beta)."""
    if atten > 50:
        return 0.1102 * (atten - 8.7)
    if atten > 21:
        return 0.5842 * (atten - 21) ** 0.4 + 0.07886 * (atten - 21)
    return 0.0


def _kaiser_atten(numtaps, width):
    """Attenuation of a Kaiser FIR filter with `width` as a fraction of Nyquist (scipy.signal.kaiser_atten)."""
    return 2.285 * (numtaps - 1) * np.pi * width + 7.95


def firwin_lowpass(numtaps, cutoff, width, fs):
    """`scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs)` for a low-pass filter, in numpy.

    Windowed sinc with a Kaiser window whose beta comes from the transition width,
    scaled to unit gain at DC; written here so scipy is not a dependency."""
    nyq = 0.5 * fs
    c = float(cutoff) / nyq
    beta = _kaiser_beta(_kaiser_atten(numtaps, float(width) / nyq))
    m = np.arange(numtaps) - 0.5 * (numtaps - 1)
    h = c * np.sinc(c * m)
    h = h * np.kaiser(numtaps, beta)
    return h / np.sum(h)


def bessel_j1(x):
    """Bessel J1 by the trapezoidal rule on its periodic integral (spectrally exact, no scipy)."""
    x = np.asarray(x, dtype=np.float64)
    n = 256 + int(np.ceil(np.abs(x).max(initial=0.0)))
    tau = (np.arange(n) + 0.5) * (2 * np.pi / n)
    return np.cos(tau - x[..., None] * np.sin(tau)).mean(axis=-1)


def design_lowpass_filter(numtaps, cutoff, width, fs, radial=False):
    """NVIDIA's `SynthesisLayer.design_lowpass_filter`: None for 1 tap, else a separable
    Kaiser low-pass (1-D taps) or, when radial, a 2-D jinc with a separable Kaiser window."""
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    if not radial:
        return torch.as_tensor(firwin_lowpass(numtaps, cutoff, width, fs), dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = bessel_j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    f = np.where(r == 0, cutoff, f)  # the limit at r = 0 (only reachable with an odd tap count)
    beta = _kaiser_beta(_kaiser_atten(numtaps, width / (fs / 2)))
    w = np.kaiser(numtaps, beta)
    f = f * np.outer(w, w)
    return torch.as_tensor(f / np.sum(f), dtype=torch.float32)


# --------------------------------------------------------------------------- ops

def upfirdn2d(x, f, up=1, down=1, padding=(0, 0, 0, 0), gain=1.0):
    """NVIDIA's `upfirdn2d` (zero-insertion up, pad/crop, convolve with f, keep every `down`-th).

    f is None (identity), 1-D (separable taps, applied along x then y) or 2-D. Decimation is
    done by the convolution stride, which computes the same samples as slicing afterwards."""
    n, c, h, w = x.shape
    if up > 1 and f is not None and f.ndim == 1:
        f = f.to(x.dtype) * gain ** 0.5
        x = _upsample_axis(x, f, up, padding[0], padding[1], dim=3)
        x = _upsample_axis(x, f, up, padding[2], padding[3], dim=2)
        return x[:, :, ::down, ::down] if down > 1 else x
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    px0, px1, py0, py1 = (int(p) for p in padding)
    if max(px0, px1, py0, py1) > 0:
        x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    if min(px0, px1, py0, py1) < 0:
        x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    if f is None:
        if gain != 1:
            x = x * gain
        return x[:, :, ::down, ::down] if down > 1 else x
    f = f.to(x.dtype)
    if f.ndim == 1:
        f = (f * gain ** 0.5).flip(0)
        k = f.shape[0]
        x = F.conv2d(x, f.reshape(1, 1, 1, k).expand(c, 1, 1, k), stride=(1, down), groups=c)
        return F.conv2d(x, f.reshape(1, 1, k, 1).expand(c, 1, k, 1), stride=(down, 1), groups=c)
    f = (f * gain).flip([0, 1])
    return F.conv2d(x, f[None, None].expand(c, 1, *f.shape), stride=down, groups=c)


def _upsample_axis(x, f, up, p0, p1, dim):
    """One axis of a separable upfirdn up-sampling, polyphase: the `up` phases of the filter
    run on the input as it is, then interleave, so the inserted zeros are never multiplied
    (4x to 16x less work than filtering the zero-stuffed map; same sums, other rounding)."""
    n, c = x.shape[:2]
    length = x.shape[dim]
    k = f.shape[0]
    m = -(-k // up)
    phases = F.pad(f, (0, m * up - k)).reshape(m, up).t().flip(1)  # [up, m]: phase r holds f[r::up], reversed
    if dim == 3:
        w = phases.reshape(1, up, 1, m).expand(c, up, 1, m).reshape(c * up, 1, 1, m)
        y = F.conv2d(x, w, padding=(0, m - 1), groups=c)
        q = y.shape[3]
        y = y.reshape(n, c, up, y.shape[2], q).permute(0, 1, 3, 4, 2).reshape(n, c, -1, q * up)
    else:
        w = phases.reshape(1, up, m, 1).expand(c, up, m, 1).reshape(c * up, 1, m, 1)
        y = F.conv2d(x, w, padding=(m - 1, 0), groups=c)
        q = y.shape[2]
        y = y.reshape(n, c, up, q, y.shape[3]).permute(0, 1, 3, 2, 4).reshape(n, c, q * up, -1)
    # y[t] = sum_i x[i] f[t - up*i]; the padded, zero-stuffed convolution is y[k-1-p0:][:out_len]
    out_len = length * up + p0 + p1 - k + 1
    lo = k - 1 - p0
    start, end = max(lo, 0), min(lo + out_len, y.shape[dim])
    y = y.narrow(dim, start, max(end - start, 0))
    before = max(-lo, 0)
    after = out_len - before - y.shape[dim]
    if before or after:
        y = F.pad(y, [before, after] if dim == 3 else [0, 0, before, after])
    return y


def filtered_lrelu(x, fu, fd, b, up=1, down=1, padding=(0, 0, 0, 0), gain=math.sqrt(2), slope=0.2,
                   clamp=None):
    """NVIDIA's `filtered_lrelu` as its reference path: bias, upfirdn up (gain up**2),
    leaky ReLU times gain, clamp, upfirdn down."""
    if b is not None:
        x = x + b.reshape(1, -1, 1, 1).to(x.dtype)
    x = upfirdn2d(x, fu, up=up, padding=padding, gain=up ** 2)
    if slope != 1:
        x = F.leaky_relu(x, slope)
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return upfirdn2d(x, fd, down=down)


def modulated_conv2d(x, weight, styles, demodulate=True, padding=0, input_gain=None):
    """StyleGAN3's modulated conv: weights and styles pre-normalised (as NVIDIA does, the style
    norm over the whole batch), modulate, demodulate, scale by the input gain, grouped conv."""
    n = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    w, s = weight, styles
    if demodulate:
        w = w * w.square().mean([1, 2, 3], keepdim=True).rsqrt()
        s = s * s.square().mean().rsqrt()
    w = w.unsqueeze(0) * s.reshape(n, 1, in_ch, 1, 1)
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    if input_gain is not None:
        w = w * input_gain.reshape(-1, 1, in_ch, 1, 1) if input_gain.ndim else w * input_gain
    w = w.to(x.dtype)  # half-precision layers: fp32 weights, cast at the conv
    if n == 1:
        return F.conv2d(x, w[0], padding=padding)
    x = F.conv2d(x.reshape(1, -1, *x.shape[2:]), w.reshape(-1, in_ch, kh, kw), padding=padding, groups=n)
    return x.reshape(n, -1, *x.shape[2:])


# --------------------------------------------------------------------------- geometry

def layer_specs(img_resolution, img_channels, channel_base=32768, channel_max=512, num_layers=14,
                num_critical=2, first_cutoff=2, first_stopband=2 ** 2.1, last_stopband_rel=2 ** 0.3,
                margin_size=10, num_fp16_res=4, conv_kernel=3, filter_size=6, lrelu_upsampling=2,
                use_radial_filters=False, conv_clamp=256, magnitude_ema_beta=0.999):
    """NVIDIA's SynthesisNetwork geometry as plain specs: (input spec, [layer spec per L{i}]).

    Cutoffs and stop-bands grow geometrically up to the critically sampled last layers; each
    layer's sampling rate is the power of two above twice its stop-band, plus a margin."""
    last_cutoff = img_resolution / 2
    last_stopband = last_cutoff * last_stopband_rel
    exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
    stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + margin_size * 2
    sizes[-2:] = img_resolution
    channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    channels[-1] = img_channels
    input_spec = dict(channels=int(channels[0]), size=int(sizes[0]), sampling_rate=float(rates[0]),
                      bandwidth=float(cutoffs[0]))
    specs = []
    for idx in range(num_layers + 1):
        prev = max(idx - 1, 0)
        is_torgb = idx == num_layers
        critical = idx >= num_layers - num_critical
        in_rate, out_rate = int(rates[prev]), int(rates[idx])
        tmp_rate = max(in_rate, out_rate) * (1 if is_torgb else lrelu_upsampling)
        up = int(np.rint(tmp_rate / in_rate))
        down = int(np.rint(tmp_rate / out_rate))
        spec = dict(is_torgb=is_torgb, is_critically_sampled=critical,
                    use_fp16=bool(rates[idx] * 2 ** num_fp16_res > img_resolution),
                    in_channels=int(channels[prev]), out_channels=int(channels[idx]),
                    in_size=int(sizes[prev]), out_size=int(sizes[idx]),
                    in_sampling_rate=in_rate, out_sampling_rate=out_rate, tmp_sampling_rate=tmp_rate,
                    in_cutoff=float(cutoffs[prev]), out_cutoff=float(cutoffs[idx]),
                    in_half_width=float(half_widths[prev]), out_half_width=float(half_widths[idx]),
                    conv_kernel=1 if is_torgb else conv_kernel,
                    up_taps=filter_size * up if up > 1 and not is_torgb else 1,
                    down_taps=filter_size * down if down > 1 and not is_torgb else 1,
                    down_radial=bool(use_radial_filters and not critical),
                    conv_clamp=conv_clamp, magnitude_ema_beta=magnitude_ema_beta)
        spec["padding"] = layer_padding(spec)
        specs.append(spec)
    return input_spec, specs


def layer_padding(spec):
    """NVIDIA's filtered-lrelu padding: what makes out_size come out, split for the symmetric
    sample-position interpretation (paper, appendix C.3)."""
    up = spec["tmp_sampling_rate"] // spec["in_sampling_rate"]
    down = spec["tmp_sampling_rate"] // spec["out_sampling_rate"]
    total = (spec["out_size"] - 1) * down + 1
    total -= (spec["in_size"] + spec["conv_kernel"] - 1) * up
    total += spec["up_taps"] + spec["down_taps"] - 2
    lo = (total + up) // 2
    hi = total - lo
    return [int(lo), int(hi), int(lo), int(hi)]


# --------------------------------------------------------------------------- layers

class SynthesisInput(nn.Module):
    """Fourier features on a grid, rotated and translated by an affine of the first w."""

    def __init__(self, w_dim, channels, size, sampling_rate, bandwidth):
        super().__init__()
        self.w_dim = w_dim
        self.channels = int(channels)
        self.size = int(size)
        self.sampling_rate = float(sampling_rate)
        self.bandwidth = float(bandwidth)
        freqs = torch.randn([self.channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * self.bandwidth
        phases = torch.rand([self.channels]) - 0.5
        self.weight = nn.Parameter(torch.randn([self.channels, self.channels]))
        self.affine = FullyConnectedLayer(w_dim, 4)
        with torch.no_grad():
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.register_buffer("transform", torch.eye(3, 3))  # user-set inverse transform of the image
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)

    def forward(self, w):
        n = w.shape[0]
        t = self.affine(w)  # (cos, sin, tx, ty) up to scale
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        m_r = torch.eye(3, device=w.device).unsqueeze(0).repeat([n, 1, 1])
        m_r[:, 0, 0] = t[:, 0]
        m_r[:, 0, 1] = -t[:, 1]
        m_r[:, 1, 0] = t[:, 1]
        m_r[:, 1, 1] = t[:, 0]
        m_t = torch.eye(3, device=w.device).unsqueeze(0).repeat([n, 1, 1])
        m_t[:, 0, 2] = -t[:, 2]
        m_t[:, 1, 2] = -t[:, 3]
        transforms = m_r @ m_t @ self.transform.unsqueeze(0)
        freqs = self.freqs.unsqueeze(0)
        phases = self.phases.unsqueeze(0) + (freqs @ transforms[:, :2, 2:]).squeeze(2)
        freqs = freqs @ transforms[:, :2, :2]
        # fade out frequencies a user transform pushed past the band limit
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth)
                      / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = 0.5 * self.size / self.sampling_rate
        theta[1, 1] = 0.5 * self.size / self.sampling_rate
        grids = F.affine_grid(theta.unsqueeze(0), [1, 1, self.size, self.size], align_corners=False)
        x = (grids.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)
        x = x + phases.unsqueeze(1).unsqueeze(2)
        x = torch.sin(x * (np.pi * 2)) * amplitudes.unsqueeze(1).unsqueeze(2)
        x = x @ (self.weight / np.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


class SynthesisLayer(nn.Module):
    """Modulated conv + filtered leaky ReLU (or, for the last layer, the 1x1 toRGB conv)."""

    def __init__(self, w_dim, is_torgb, is_critically_sampled, in_channels, out_channels, in_size, out_size,
                 in_sampling_rate, out_sampling_rate, tmp_sampling_rate, in_cutoff, out_cutoff,
                 in_half_width, out_half_width, conv_kernel, up_taps, down_taps, down_radial=False,
                 conv_clamp=256, magnitude_ema_beta=0.999, padding=None, use_fp16=False):
        super().__init__()
        self.w_dim = w_dim
        self.is_torgb = bool(is_torgb)
        self.is_critically_sampled = bool(is_critically_sampled)
        self.use_fp16 = bool(use_fp16)  # NVIDIA's choice; SynthesisNetwork.set_precision honours it
        self.compute_dtype = torch.float32
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.in_size, self.out_size = int(in_size), int(out_size)
        self.in_sampling_rate, self.out_sampling_rate = int(in_sampling_rate), int(out_sampling_rate)
        self.tmp_sampling_rate = int(tmp_sampling_rate)
        self.in_cutoff, self.out_cutoff = float(in_cutoff), float(out_cutoff)
        self.in_half_width, self.out_half_width = float(in_half_width), float(out_half_width)
        self.conv_kernel = int(conv_kernel)
        self.conv_clamp = conv_clamp
        self.magnitude_ema_beta = magnitude_ema_beta
        self.up_factor = self.tmp_sampling_rate // self.in_sampling_rate
        self.down_factor = self.tmp_sampling_rate // self.out_sampling_rate
        if self.up_factor * self.in_sampling_rate != self.tmp_sampling_rate or \
                self.down_factor * self.out_sampling_rate != self.tmp_sampling_rate:
            raise ValueError("sampling rates must divide the intermediate sampling rate")
        self.up_taps, self.down_taps = int(up_taps), int(down_taps)
        self.down_radial = bool(down_radial)
        self.affine = FullyConnectedLayer(w_dim, self.in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([self.out_channels, self.in_channels,
                                                self.conv_kernel, self.conv_kernel]))
        self.bias = nn.Parameter(torch.zeros([self.out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))
        self.register_buffer("up_filter", design_lowpass_filter(
            self.up_taps, self.in_cutoff, self.in_half_width * 2, self.tmp_sampling_rate))
        self.register_buffer("down_filter", design_lowpass_filter(
            self.down_taps, self.out_cutoff, self.out_half_width * 2, self.tmp_sampling_rate,
            radial=self.down_radial))
        spec = dict(in_sampling_rate=self.in_sampling_rate, out_sampling_rate=self.out_sampling_rate,
                    tmp_sampling_rate=self.tmp_sampling_rate, in_size=self.in_size, out_size=self.out_size,
                    conv_kernel=self.conv_kernel, up_taps=self.up_taps, down_taps=self.down_taps)
        self.padding = [int(p) for p in (padding if padding is not None else layer_padding(spec))]

    def forward(self, x, w):
        x = x.to(self.compute_dtype)
        input_gain = self.magnitude_ema.rsqrt()
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles * (1 / np.sqrt(self.in_channels * self.conv_kernel ** 2))
        x = modulated_conv2d(x, self.weight, styles, demodulate=not self.is_torgb,
                             padding=self.conv_kernel - 1, input_gain=input_gain)
        gain, slope = (1.0, 1.0) if self.is_torgb else (np.sqrt(2), 0.2)
        return filtered_lrelu(x, self.up_filter, self.down_filter, self.bias, up=self.up_factor,
                              down=self.down_factor, padding=self.padding, gain=gain, slope=slope,
                              clamp=self.conv_clamp)


# --------------------------------------------------------------------------- blocks for the drag engine

def _crop(x, m):
    """The image part of a feature map: a view without the m-sample margin."""
    return x[:, :, m:x.shape[2] - m, m:x.shape[3] - m] if m else x


def _uncrop(x, m, size):
    """Recover the full map (margin included) that `_crop` took the view `x` from.

    The view shares its storage with the full map, so the full map is re-viewed from it; with
    a graph this goes through the view's base, so gradients reach the margin too. A map that
    is not such a view (a copy) cannot have its margin back."""
    n, c, h, w = x.shape
    if h != size - 2 * m or w != size - 2 * m:
        raise ValueError(f"a StyleGAN3 layer expects a {size}x{size} input (or its {size - 2 * m}x"
                         f"{size - 2 * m} image part), got {h}x{w}")
    stride = x.stride()
    offset = x.storage_offset() - m * stride[2] - m * stride[3]
    last = offset + sum((d - 1) * st for d, st in zip((n, c, size, size), stride))
    root = x._base if x._base is not None else x
    ok = offset >= 0 and last < x.untyped_storage().nbytes() // x.element_size() and \
        (x._base is not None or not x.requires_grad)
    if not ok:
        raise ValueError(f"a StyleGAN3 layer needs its {size}x{size} input with the {m}-sample margin; "
                         f"got a {h}x{w} map that is not a cropped view of one")
    return root.as_strided((n, c, size, size), stride, offset)


class SynthesisBlock:
    """One step of the synthesis for the drag engine: the input (index 0) or layer L{index-1}.

    Each reads one w. `forward_features` returns the map cropped to the image; `forward_rgb`
    passes the running image through, except on the toRGB layer where it is the output."""

    num_conv = 1
    num_torgb = 0

    def __init__(self, synthesis, index):
        self.synthesis = synthesis
        self.index = index
        if index == 0:
            self.layer = synthesis.input
            self.in_margin = None
            self.resolution = int(round(self.layer.sampling_rate))
            self.margin = (self.layer.size - self.resolution) // 2
            self.num_conv = 0
        else:
            self.layer = getattr(synthesis, synthesis.layer_names[index - 1])
            self.in_margin = (self.layer.in_size - self.layer.in_sampling_rate) // 2
            self.resolution = min(self.layer.out_sampling_rate, self.layer.out_size)
            self.margin = (self.layer.out_size - self.resolution) // 2
        self.is_torgb = index > 0 and self.layer.is_torgb
        if self.is_torgb:
            self.num_conv, self.num_torgb = 0, 1

    def forward_features(self, x, ws, noise_mode="const", fused_modconv=None):
        w = ws[:, 0].to(torch.float32)
        if self.index == 0:
            y = self.layer(w)
        else:
            size = self.layer.in_size
            if x.shape[-1] != size:
                x = _uncrop(x, self.in_margin, size)
            y = self.layer(x, w)
        return _crop(y, self.margin)

    def forward_rgb(self, x, img, ws, fused_modconv=None):
        if self.is_torgb:
            scale = self.synthesis.output_scale
            x = x.to(torch.float32)
            return x * scale if scale != 1 else x
        return img

    def __call__(self, x, img, ws, noise_mode="const", fused_modconv=None):
        x = self.forward_features(x, ws)
        return x, self.forward_rgb(x, img, ws)


# --------------------------------------------------------------------------- networks

class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> image; num_ws = number of layers + 1 (input) + 1 (toRGB).

    Built from explicit specs (`input`, `layers`) or, for a fresh network, from NVIDIA's
    hyper-parameters (`channel_base`, `num_layers`, `conv_kernel`, `use_radial_filters`, ...)."""

    supports_low_res_preview = False  # no intermediate RGB to show while a drag runs

    def __init__(self, w_dim, img_resolution, img_channels, input=None, layers=None, output_scale=0.25,
                 margin_size=10, num_critical=2, num_fp16_res=4, **geometry):
        super().__init__()
        if (input is None) != (layers is None):
            raise ValueError("give both `input` and `layers` specs, or neither")
        if input is None:
            input, layers = layer_specs(img_resolution, img_channels, num_critical=num_critical,
                                        margin_size=margin_size, num_fp16_res=num_fp16_res, **geometry)
        elif geometry:
            raise ValueError(f"unexpected arguments with explicit layer specs: {sorted(geometry)}")
        self.w_dim = w_dim
        self.img_resolution = int(img_resolution)
        self.img_channels = int(img_channels)
        self.num_layers = len(layers) - 1
        self.num_ws = self.num_layers + 2
        self.num_critical = int(num_critical)
        self.margin_size = int(margin_size)
        self.output_scale = float(output_scale)
        self.num_fp16_res = int(num_fp16_res)  # NVIDIA's layers' use_fp16 flags come from it
        self.half_dtype = None
        self.input_spec = {k: (int(v) if k in ("channels", "size") else float(v)) for k, v in input.items()}
        self.layer_specs = [_plain_spec(s) for s in layers]
        if not layers[-1]["is_torgb"] or any(s["is_torgb"] for s in layers[:-1]):
            raise ValueError("the last layer (and only it) must be the toRGB layer")
        if layers[-1]["out_channels"] != img_channels or layers[-1]["out_size"] != img_resolution:
            raise ValueError("the toRGB layer does not produce an img_resolution x img_channels image")
        self.input = SynthesisInput(w_dim=w_dim, **self.input_spec)
        self.layer_names = []
        for idx, spec in enumerate(self.layer_specs):
            layer = SynthesisLayer(w_dim=w_dim, **spec)
            name = f"L{idx}_{layer.out_size}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)
        self.channels = [self.input.channels] + [s["out_channels"] for s in self.layer_specs]
        self.block_resolutions = [b.resolution for b in self.blocks()]

    def blocks(self):
        return [SynthesisBlock(self, i) for i in range(self.num_layers + 2)]

    def half_layers(self):
        """Names of the layers NVIDIA runs in fp16 (their `use_fp16`, from num_fp16_res)."""
        return [name for name in self.layer_names if getattr(self, name).use_fp16]

    def set_precision(self, half_dtype=None, num_fp16_res=None):
        """half_dtype None: all fp32; else the `half_layers` compute in it (the image in fp32)."""
        half = set(self.half_layers()) if half_dtype is not None else set()
        for name in self.layer_names:
            getattr(self, name).compute_dtype = half_dtype if name in half else torch.float32
        self.half_dtype = half_dtype if half else None

    def block_ws(self, ws):
        """One w per block: ws[:, i:i+1] goes to block i (NVIDIA's unbind order)."""
        return [ws.narrow(1, i, 1) for i in range(self.num_ws)]

    def default_feature_block(self) -> int:
        """The block whose features drag editing uses: L5 in NVIDIA's 14-layer networks (as in
        DragGAN's official code), the same fraction of the depth otherwise, never a critically
        sampled layer or toRGB. Returns the index into `blocks()` (layer L{k} is block k + 1)."""
        k = int(round(self.num_layers * 5 / 14))
        k = max(0, min(k, self.num_layers - self.num_critical - 1))
        return k + 1

    def forward(self, ws, noise_mode="const", return_features=False, fused_modconv=None, **_ignored):
        """NVIDIA's forward; `noise_mode` and `fused_modconv` are accepted for API parity (no noise)."""
        if noise_mode not in ("const", "random", "none"):
            raise ValueError(f"noise_mode must be 'const', 'random' or 'none', got {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must be [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0])
        feats = []
        if return_features:
            blocks = self.blocks()
            feats.append(_crop(x, blocks[0].margin))
        for i, (name, w) in enumerate(zip(self.layer_names, ws[1:])):
            x = getattr(self, name)(x, w)
            if return_features:
                feats.append(_crop(x, blocks[i + 1].margin))
        x = x.to(torch.float32)
        if self.output_scale != 1:
            x = x * self.output_scale
        return (x, feats) if return_features else x


def _plain_spec(spec):
    """A layer spec with plain Python values (so configs load with weights_only)."""
    ints = ("in_channels", "out_channels", "in_size", "out_size", "in_sampling_rate", "out_sampling_rate",
            "tmp_sampling_rate", "conv_kernel", "up_taps", "down_taps")
    floats = ("in_cutoff", "out_cutoff", "in_half_width", "out_half_width")
    bools = ("is_torgb", "is_critically_sampled", "down_radial", "use_fp16")
    out = {}
    for k, v in spec.items():
        if isinstance(v, np.generic):
            v = v.item()
        if k in ints:
            v = int(v)
        elif k in floats:
            v = float(v)
        elif k in bools:
            v = bool(v)
        elif k == "padding" and v is not None:
            v = [int(p) for p in v]
        out[k] = v
    return out


class Generator(GeneratorBase):
    """z, c -> image with a StyleGAN3 synthesis network. `config` rebuilds it (family 'stylegan3')."""

    family = FAMILY

    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels=3, mapping_kwargs=None,
                 synthesis_kwargs=None, family=FAMILY):
        super().__init__()
        if family != FAMILY:
            raise ValueError(f"config family {family!r} is not {FAMILY!r}")
        mapping_kwargs = dict(mapping_kwargs or {})
        for key, value in (("num_layers", 2), ("activation", "lrelu"), ("lr_multiplier", 0.01),
                           ("w_avg_beta", 0.998)):  # NVIDIA's StyleGAN3 defaults, made explicit
            mapping_kwargs.setdefault(key, value)
        synthesis_kwargs = dict(synthesis_kwargs or {})
        self._build_networks(SynthesisNetwork, z_dim, c_dim, w_dim, img_resolution, img_channels,
                             mapping_kwargs, synthesis_kwargs)
        syn = self.synthesis
        self._config = dict(family=FAMILY, z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=img_resolution,
                            img_channels=img_channels, mapping_kwargs=mapping_kwargs,
                            synthesis_kwargs=dict(input=dict(syn.input_spec),
                                                  layers=copy.deepcopy(syn.layer_specs),
                                                  output_scale=syn.output_scale, margin_size=syn.margin_size,
                                                  num_critical=syn.num_critical, num_fp16_res=syn.num_fp16_res))
        for spec, name in zip(self._config["synthesis_kwargs"]["layers"], syn.layer_names):
            spec["padding"] = list(getattr(syn, name).padding)


def variant(G) -> str:
    """'stylegan3-r' (1x1 convs, radial down filters) or 'stylegan3-t'."""
    specs = G.synthesis.layer_specs
    radial = any(s["down_radial"] for s in specs)
    k1 = all(s["conv_kernel"] == 1 for s in specs)
    return "stylegan3-r" if radial or k1 else "stylegan3-t"
