"""Put a real photo into the generator: project it to a latent (W or W+), optionally pivotal-tune.

The projector follows stylegan2-ada-pytorch's: start at w_avg, add decaying
noise to w early on, ramp the learning rate up and down, minimise a
perceptual (LPIPS) + pixel loss. Noise inputs stay constant: our default
model has none, and pivotal tuning (Roich et al., PTI) recovers the detail a
latent alone cannot, by fine-tuning a copy of the generator around it.

Both run on the device the generator is on (the perceptual loss is moved
there), in the generator's precision: with half-precision blocks the loss is
scaled for the backward pass and the gradients scaled back. Seeded noise is
drawn on the CPU and moved, so a seed gives the same run on every device; the
loss is read back only when a progress report or a preview needs it (every
step on the CPU, where reading costs nothing).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .. import devices
from ..errors import DragEditError
from ..imaging import to_uint8
from .inversion_defaults import (PROJECT_LR, PROJECT_PIXEL_WEIGHT, PROJECT_STEPS, PTI_DECAY_START,
                                 PTI_L2_WEIGHT, PTI_LR, PTI_STEPS)


@dataclass
class InversionResult:
    ws: torch.Tensor                 # [1, num_ws, w_dim]
    G: object                        # the generator to edit with (tuned copy after PTI)
    psnr: float
    step_ms: list = field(default_factory=list)
    total_s: float = 0.0
    pti_psnr: float | None = None
    cancelled: bool = False


def to_tensor(img_uint8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(img_uint8, copy=True)).permute(2, 0, 1)[None].float() / 127.5 - 1


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.float().clamp(-1, 1) - b.to(a.device)) / 2).square().mean())
    return -10 * math.log10(max(mse, 1e-10))


@torch.no_grad()
def w_stats(G, samples=4000, seed=123):
    """Mean and spread of W, from the mapping network (as the stylegan2-ada projector does)."""
    device = devices.device_of(G)
    z = torch.from_numpy(np.random.RandomState(seed).randn(samples, G.z_dim).astype(np.float32)).to(device)
    c = torch.zeros(samples, G.c_dim, device=device) if G.c_dim else None
    w = G.mapping(z, c)[:, 0]
    avg = w.mean(0, keepdim=True)
    std = float(((w - avg).square().sum() / samples) ** 0.5)
    return avg, std


def _percep_input(x):
    return F.interpolate(x, size=(256, 256), mode="area") if x.shape[-1] > 256 else x


def _report(preview, stage, i, steps, img, every):
    """Hand the image of step i to a preview callback every `every` steps and on the last one."""
    if preview is not None and (i % every == 0 or i == steps):
        preview(stage, to_uint8(img.detach()))


def _fit_step(img, tgt, tgt_p, pixel_weight, perceptual, opt, scale=1.0) -> torch.Tensor:
    """One optimiser step on pixel MSE + perceptual distance to the target; returns the loss
    (a tensor on the device: read it only when it is needed). scale: the constant loss scale
    for half-precision blocks; the gradients are divided back before the step."""
    img = img.float()
    loss = pixel_weight * F.mse_loss(img, tgt)
    if perceptual is not None:
        loss = loss + perceptual(_percep_input(img), tgt_p).sum()
    opt.zero_grad(set_to_none=True)
    (loss * scale if scale != 1 else loss).backward()
    if scale != 1:
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        torch._foreach_div_(grads, scale)
    opt.step()
    return loss.detach()


class _LossReader:
    """Reads the loss back to the host every step on the CPU, and on a device only on the steps
    that report it (every `every`-th and the last), keeping the last value for the others."""

    def __init__(self, device, every):
        self.every = 1 if device.type == "cpu" else max(1, every)
        self.value = float("nan")

    def __call__(self, loss, i, steps) -> float:
        if i % self.every == 0 or i == steps or self.value != self.value:
            self.value = float(loss)
        return self.value


def _prepare(G, perceptual, target):
    """The device, the target on it and the perceptual loss moved there."""
    device = devices.device_of(G)
    if isinstance(perceptual, torch.nn.Module):
        perceptual.to(device)
    tgt = to_tensor(target).to(device)
    return device, tgt


def project(G, target: np.ndarray, space="w+", steps=PROJECT_STEPS, lr=PROJECT_LR, perceptual=None,
            pixel_weight=PROJECT_PIXEL_WEIGHT,
            progress=None, should_stop=None, seed=0, preview=None, preview_every=10) -> InversionResult:
    """Find ws whose image matches target (uint8 HxWx3 of the generator's size).

    progress(i, n, loss) after each step; preview('latent', uint8 image) every
    `preview_every` steps, so a window can show the reconstruction as it forms.
    """
    if space not in ("w", "w+"):
        raise DragEditError(f"space must be 'w' or 'w+', got {space!r}")
    if steps < 1:
        raise DragEditError(f"steps must be at least 1, got {steps}")
    h = G.img_resolution
    if target.shape != (h, h, 3):
        raise DragEditError(f"target image is {target.shape[1]}x{target.shape[0]}: expected {h}x{h} RGB")
    G = G.eval().requires_grad_(False)
    device, tgt = _prepare(G, perceptual, target)
    tgt_p = _percep_input(tgt)
    scale = devices.loss_scale(G)
    read = _LossReader(device, preview_every)
    avg, std = w_stats(G)
    n = G.num_ws if space == "w+" else 1
    w_opt = avg.unsqueeze(1).repeat(1, n, 1).clone().requires_grad_(True)
    opt = torch.optim.Adam([w_opt], lr=lr, betas=(0.9, 0.999))
    gen = torch.Generator().manual_seed(seed)
    times, t_start = [], time.perf_counter()
    cancelled = False
    for i in range(steps):
        if should_stop is not None and should_stop():
            cancelled = True
            break
        t0 = time.perf_counter()
        t = i / steps
        noise_scale = std * 0.05 * max(0.0, 1.0 - t / 0.75) ** 2
        ramp = min(1.0, (1.0 - t) / 0.25)
        ramp = (0.5 - 0.5 * math.cos(ramp * math.pi)) * min(1.0, t / 0.05)
        for g in opt.param_groups:
            g["lr"] = lr * ramp
        noise = torch.randn(w_opt.shape, generator=gen)  # on the CPU: the same draws on every device
        w = w_opt + devices.upload(noise, device) * noise_scale
        ws = w if space == "w+" else w.repeat(1, G.num_ws, 1)
        img = G.synthesis(ws, noise_mode="const")
        loss = _fit_step(img, tgt, tgt_p, pixel_weight, perceptual, opt, scale)
        times.append((time.perf_counter() - t0) * 1000)
        if progress:
            progress(i + 1, steps, read(loss, i + 1, steps))
        _report(preview, "latent", i + 1, steps, img, preview_every)
    with torch.no_grad():
        ws = w_opt.detach() if space == "w+" else w_opt.detach().repeat(1, G.num_ws, 1)
        score = psnr(G.synthesis(ws, noise_mode="const"), tgt)
    return InversionResult(ws=ws.clone(), G=G, psnr=score, step_ms=times,
                           total_s=time.perf_counter() - t_start, cancelled=cancelled)


def _tail_decay(t: float, start: float = PTI_DECAY_START) -> float:
    """Learning-rate factor at fraction t of the run: 1 until `start`, then a cosine to 0."""
    if t < start:
        return 1.0
    return 0.5 + 0.5 * math.cos(math.pi * (t - start) / (1.0 - start))


def pivotal_tuning(G, ws, target: np.ndarray, steps=PTI_STEPS, lr=PTI_LR, perceptual=None,
                   l2_weight=PTI_L2_WEIGHT, progress=None, should_stop=None, preview=None, preview_every=10):
    """Fine-tune a copy of G's synthesis network so that G(ws) reproduces the target (PTI).

    lr 3e-3 with the L2 term weighted 30 (PTI uses 3e-4 and 1 on 1024-px models): with L2
    weight 1, 3e-3 went unstable on a generated face; the heavier pixel term keeps it steady
    and gains 1 dB over 1e-3. 5e-3 lost 2 dB on a harder face.

    At a constant rate the last step lands anywhere in Adam's noise: the same face ended at
    33.3 dB with one thread and 31.6 dB with two. So the rate decays by a cosine over the last
    part of the run, and the best iterate seen (by the pixel error of the step's own forward
    pass, which costs nothing extra) is the one returned.
    """
    Gt = copy.deepcopy(G).eval()
    Gt.requires_grad_(False)
    Gt.synthesis.requires_grad_(True)
    params = [p for p in Gt.synthesis.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    device, tgt = _prepare(Gt, perceptual, target)
    ws = ws.to(device)
    tgt_p = _percep_input(tgt)
    scale = devices.loss_scale(Gt)
    read = _LossReader(device, preview_every)
    times = []
    best_mse, best_params = None, None
    for i in range(steps):
        if should_stop is not None and should_stop():
            break
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = lr * _tail_decay(i / steps)
        img = Gt.synthesis(ws, noise_mode="const")
        with torch.no_grad():
            mse = (img.detach().float().clamp(-1, 1) - tgt).square().mean()
            if best_mse is None or bool(mse < best_mse):   # one host read a step; tuning is CPU-bound anyway
                best_mse = mse
                best_params = [p.detach().clone() for p in params]
        loss = _fit_step(img, tgt, tgt_p, l2_weight, perceptual, opt, scale)
        times.append((time.perf_counter() - t0) * 1000)
        if progress:
            progress(i + 1, steps, read(loss, i + 1, steps))
        _report(preview, "tuning", i + 1, steps, img, preview_every)
    Gt.requires_grad_(False)
    with torch.no_grad():
        final = Gt.synthesis(ws, noise_mode="const")
        if best_params is not None and bool((final.float().clamp(-1, 1) - tgt).square().mean() > best_mse):
            for p, b in zip(params, best_params):
                p.copy_(b)
            final = Gt.synthesis(ws, noise_mode="const")
        score = psnr(final, tgt)
    return Gt, score, times


def invert(G, target, space="w+", steps=PROJECT_STEPS, pti_steps=0, perceptual=None, progress=None, should_stop=None,
           preview=None):
    """Projection, then optional pivotal tuning. progress(stage, i, n, loss); preview(stage, image)."""
    res = project(G, target, space=space, steps=steps, perceptual=perceptual, should_stop=should_stop,
                  progress=(lambda i, n, loss: progress("latent", i, n, loss)) if progress else None,
                  preview=preview)
    if pti_steps > 0 and not res.cancelled:
        t0 = time.perf_counter()
        Gt, score, times = pivotal_tuning(G, res.ws, target, steps=pti_steps, perceptual=perceptual,
                                          should_stop=should_stop, preview=preview,
                                          progress=(lambda i, n, loss: progress("tuning", i, n, loss))
                                          if progress else None)
        res.G, res.pti_psnr = Gt, score
        res.cancelled = len(times) < pti_steps
        res.step_ms += times
        res.total_s += time.perf_counter() - t0
    return res
