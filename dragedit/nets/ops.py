"""Pure-PyTorch versions of StyleGAN2's custom ops (no compiled extensions).

The math follows stylegan2-ada-pytorch's reference paths (`_upfirdn2d_ref`,
`conv2d_resample`, `bias_act` ref) so official weights give the same images,
but the FIR filter is applied separably when it is separable, which is
cheaper on a CPU and equal up to rounding.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LRELU_GAIN = math.sqrt(2.0)


def setup_filter(f=(1, 3, 3, 1), normalize=True) -> torch.Tensor:
    """Return the 2-D FIR filter buffer exactly as `upfirdn2d.setup_filter` stores it."""
    f = torch.as_tensor(f, dtype=torch.float32)
    if f.ndim == 1:
        f = torch.outer(f, f)
    if normalize:
        f = f / f.sum()
    return f


def _separable_taps(f: torch.Tensor):
    """Split a rank-1 2-D filter into (column, row) 1-D taps, or None if it is not rank 1."""
    if f.ndim != 2:
        return None
    row = f.sum(dim=0)
    col = f.sum(dim=1)
    total = f.sum()
    if total.abs() < 1e-12:
        return None
    approx = torch.outer(col, row) / total
    if (approx - f).abs().max() > 1e-6 * f.abs().max():
        return None
    return col / total.sqrt() * total.sign(), row / total.abs().sqrt()


def _cached_taps(f: torch.Tensor):
    """`_separable_taps` of a filter buffer, decided once on the host and kept on the tensor:
    the test reads values, which on a GPU would wait for the device at every call."""
    key = (f._version, f.device, f.dtype)
    cached = getattr(f, "_dragedit_taps", None)
    if cached is None or cached[0] != key:
        taps = _separable_taps(f.detach().to("cpu", torch.float32))
        if taps is not None:
            taps = tuple(t.to(f.device, f.dtype) for t in taps)
        cached = (key, taps)
        try:
            f._dragedit_taps = cached
        except (AttributeError, RuntimeError):
            pass
    return cached[1]


def upfirdn2d(x, f, up=1, down=1, padding=0, flip_filter=False, gain=1.0):
    """Upsample by zero insertion, pad, convolve with FIR filter f, downsample.

    `padding` is an int or [x0, x1, y0, y1] (negative values crop), as in NVIDIA's op.
    """
    if isinstance(padding, int):
        padding = [padding] * 4
    px0, px1, py0, py1 = padding
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    taps = _cached_taps(f)
    if taps is not None:  # gain and flip applied to the taps: the same filter, separably
        col, row = (t.to(x.dtype) for t in taps)
        if gain != 1:
            col, row = col * gain ** 0.5, row * gain ** 0.5
        if not flip_filter:
            col, row = col.flip(0), row.flip(0)
        x = F.conv2d(x, row.reshape(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
        x = F.conv2d(x, col.reshape(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    else:
        f = f.to(x.dtype) * (gain ** (f.ndim / 2))
        if not flip_filter:
            f = f.flip(list(range(f.ndim)))
        x = F.conv2d(x, f[None, None].expand(c, 1, *f.shape), groups=c)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upsample2d(x, f, up=2, padding=0, gain=1.0):
    """Upsample with the FIR filter, keeping the image aligned (NVIDIA's `upsample2d`)."""
    fw = f.shape[-1]
    p = [padding + (fw + up - 1) // 2, padding + (fw - up) // 2] * 2
    return upfirdn2d(x, f, up=up, padding=p, gain=gain * up * up)


def conv2d_resample(x, w, f=None, up=1, padding=0, groups=1, flip_weight=True):
    """Convolution with optional 2x upsampling, matching NVIDIA's `conv2d_resample` (no down path).

    Upsampling uses a strided transposed convolution followed by the FIR filter.
    """
    out_ch, in_ch_per_group, kh, kw = w.shape
    w = w.to(x.dtype)  # half-precision blocks: fp32 weights meet fp16 activations here
    if up == 1:
        if not flip_weight:
            w = w.flip([2, 3])
        return F.conv2d(x, w, padding=padding, groups=groups)
    fw = f.shape[-1]
    px0 = padding + (fw + up - 1) // 2
    px1 = padding + (fw - up) // 2
    if kh == 1 and kw == 1:
        x = F.conv2d(x, w, groups=groups)
        return upfirdn2d(x, f, up=up, padding=[px0, px1, px0, px1], gain=up * up)
    if groups == 1:
        w = w.transpose(0, 1)
    else:
        w = w.reshape(groups, out_ch // groups, in_ch_per_group, kh, kw).transpose(1, 2)
        w = w.reshape(groups * in_ch_per_group, out_ch // groups, kh, kw)
    px0 -= kw - 1
    px1 -= kw - up
    pt = max(min(-px0, -px1), 0)
    if flip_weight:  # transposed conv with flip_weight=(not flip_weight) in NVIDIA's code
        w = w.flip([2, 3])
    x = F.conv_transpose2d(x, w, stride=up, padding=pt, groups=groups)
    return upfirdn2d(x, f, padding=[px0 + pt, px1 + pt] * 2, gain=up * up)


def bias_act(x, b=None, act="linear", gain=None, clamp=None, dim=1):
    """Bias, activation ('linear' or 'lrelu'), gain and clamp, as NVIDIA's `bias_act` ref path."""
    if b is not None:
        shape = [1] * x.ndim
        shape[dim] = -1
        x = x + b.reshape(shape).to(x.dtype)
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2)
        default_gain = LRELU_GAIN
    elif act == "linear":
        default_gain = 1.0
    elif act == "relu":
        x = F.relu(x)
        default_gain = LRELU_GAIN
    else:
        raise ValueError(f"unsupported activation {act!r}: expected 'linear', 'lrelu' or 'relu'")
    gain = default_gain if gain is None else gain
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x, dim=1, eps=1e-8):
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def modulated_conv2d(x, weight, styles, noise=None, up=1, padding=0, resample_filter=None,
                     demodulate=True, flip_weight=True, fused_modconv=True):
    """StyleGAN2 modulated convolution.

    fused: one grouped conv with a per-sample weight (best for batch 1).
    not fused: scale activations, shared conv, demodulate (best for training batches).
    """
    n = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    if not fused_modconv:
        dcoefs = None
        if demodulate:
            wsq = weight.square().sum(dim=[2, 3])  # [O, I]
            dcoefs = (styles.square() @ wsq.t() + 1e-8).rsqrt()  # [N, O]
        x = x * styles.reshape(n, -1, 1, 1).to(x.dtype)
        x = conv2d_resample(x, weight, f=resample_filter, up=up, padding=padding, flip_weight=flip_weight)
        if dcoefs is not None:
            x = x * dcoefs.reshape(n, -1, 1, 1).to(x.dtype)
        if noise is not None:
            x = x + noise.to(x.dtype)
        return x
    w = weight.unsqueeze(0) * styles.reshape(n, 1, -1, 1, 1)  # [N, O, I, k, k]
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(n, -1, 1, 1, 1)
    if n == 1:
        x = conv2d_resample(x, w[0], f=resample_filter, up=up, padding=padding, flip_weight=flip_weight)
    else:
        x = x.reshape(1, -1, *x.shape[2:])
        x = conv2d_resample(x, w.reshape(-1, in_ch, kh, kw), f=resample_filter, up=up,
                            padding=padding, groups=n, flip_weight=flip_weight)
        x = x.reshape(n, -1, *x.shape[2:])
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


_LAPLACIAN_3X3 = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def laplacian(images: torch.Tensor, pad_mode: str | None = None) -> torch.Tensor:
    """Each channel's 3x3 Laplacian: the valid region, or the same size with `pad_mode` (e.g. 'reflect').

    One definition for the sharpness metric, the detail loss and the discriminator's input.
    """
    c = images.shape[1]
    if pad_mode is not None:
        images = F.pad(images, (1, 1, 1, 1), mode=pad_mode)
    return F.conv2d(images, _LAPLACIAN_3X3.to(images).expand(c, 1, 3, 3), groups=c)
