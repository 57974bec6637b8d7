"""Train the shipped default StyleGAN2 on procedural faces by regression.

Adversarial training is too slow on a laptop CPU. Because the renderer is
ours, every face has a known factor vector f; with z = Phi^-1(f) the
generator learns G(z) ~ render(f) under an L1 + perceptual loss, so
z ~ N(0, I) gives faces like the dataset. Training resumes from its
checkpoint, so it can run across sessions.
"""
from __future__ import annotations

import copy
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..errors import DragEditError
from ..nets.stylegan2 import Generator

DEFAULT_CONFIG = dict(
    w_dim=256,
    img_resolution=128,
    img_channels=3,
    mapping_kwargs=dict(num_layers=4, lr_multiplier=1.0),
    synthesis_kwargs=dict(channel_base=4096, channel_max=128, use_noise=False),
)


def z_from_factors(factors: torch.Tensor) -> torch.Tensor:
    """Inverse normal CDF: uniform factors in (0, 1) -> standard normal z."""
    f = factors.clamp(1e-4, 1 - 1e-4)
    return math.sqrt(2.0) * torch.erfinv(2 * f - 1)


def images_to_tensor(images_uint8: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float [N, 3, H, W] in [-1, 1] (the generator's range)."""
    x = torch.from_numpy(np.ascontiguousarray(images_uint8)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per sample for images in [-1, 1]."""
    mse = ((a.clamp(-1, 1) - b) / 2).square().mean(dim=[1, 2, 3])
    return -10 * torch.log10(mse.clamp_min(1e-10))


def build_generator(num_factors: int, config: dict | None = None) -> Generator:
    cfg = copy.deepcopy(config or DEFAULT_CONFIG)
    cfg.setdefault("z_dim", num_factors)
    cfg.setdefault("c_dim", 0)
    return Generator(**cfg)


def cache_files(path):
    """The finished `.npz` caches at `path` (a file, or a folder; half-written `*.tmp.npz` skipped)."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    return sorted(f for f in path.glob("*.npz") if not f.name.endswith(".tmp.npz"))


def load_cache(path, skip=()):
    """Images and factors from one `.npz` cache, or every `.npz` in a folder (sorted, concatenated).

    Files named in `skip` are left out, so a trainer can pick up chunks that
    another process finished rendering after training started.
    """
    files = [f for f in cache_files(path) if str(f) not in set(map(str, skip))]
    if not files and not skip:
        raise DragEditError(f"dataset folder {path} holds no .npz files")
    if not files:
        return None, None
    images, factors = [], []
    for f in files:
        with np.load(f) as data:
            for key in ("images", "factors"):
                if key not in data:
                    raise DragEditError(f"dataset cache {f} has no '{key}' array: re-render it")
            images.append(data["images"])
            factors.append(data["factors"].astype(np.float32))
    return np.concatenate(images), np.concatenate(factors)


def grow_training_set(data_path, loaded, train_x, train_f, log):
    """Add the cache chunks that another process finished since `loaded` was listed.

    -> (the chunks now loaded, images, factors), unchanged when nothing is new.
    """
    more_x, more_f = load_cache(data_path, skip=loaded)
    if more_x is None:
        return loaded, train_x, train_f
    train_x = torch.cat([train_x, images_to_tensor(more_x)])
    train_f = torch.cat([train_f, torch.from_numpy(more_f)])
    print(f"training set grew to {len(train_x)} images", file=log, flush=True)
    return cache_files(data_path), train_x, train_f


@torch.no_grad()
def evaluate(G, images, factors, batch=32, device="cpu"):
    """Mean PSNR (dB) of G(Phi^-1(f)) against the renders of f."""
    G.eval()
    scores = []
    for i in range(0, len(images), batch):
        z = z_from_factors(torch.from_numpy(factors[i:i + batch])).to(device)
        target = images_to_tensor(images[i:i + batch]).to(device)
        scores.append(psnr(G(z, noise_mode="const"), target).cpu())
    return float(torch.cat(scores).mean())


def learning_rate(step, lr, steps, decay_start=None, final_ratio=0.1):
    """Constant `lr`, then (from `decay_start`) linear decay to `lr * final_ratio` at `steps`.

    A schedule that depends only on the step keeps resumed runs identical to
    uninterrupted ones; the late decay buys the last dB of PSNR.
    """
    if decay_start is None or step < decay_start or steps <= decay_start:
        return lr
    t = min(1.0, (step - decay_start) / (steps - decay_start))
    return lr * (1 - t * (1 - final_ratio))


def train(data_path, out_dir, steps=1000, batch=8, lr=2e-3, lpips_weight=0.5, lpips_weights=None,
          ema_beta=0.999, eval_every=250, ckpt_every=100, heldout=64, device=None, threads=None,
          export=None, decay_start=None, log=sys.stderr, precision="auto"):
    """Train (or resume) and write `out_dir/checkpoint.pt`; export the EMA generator to `export`.

    device: as `devices.resolve_device` (None: auto). precision 'mixed' (the CUDA default) runs
    the generator's top blocks in fp16 with a constant loss scale; weights, Adam and the EMA are
    fp32, and a non-finite gradient is zeroed as NVIDIA's training loop does."""
    from .. import devices
    from ..io.checkpoint import save_generator
    from ..nets.perceptual import PerceptualLoss

    device = devices.resolve_device(device or "auto")
    precision = devices.resolve_precision(precision, device)
    print(f"device: {devices.describe_device(device)}, precision {precision}", file=log)
    if threads:
        torch.set_num_threads(threads)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / "checkpoint.pt"

    images, factors = load_cache(data_path)
    loaded = cache_files(data_path)
    if len(images) <= heldout:
        raise DragEditError(f"dataset {data_path} holds {len(images)} images: need more than {heldout}")
    val_images, val_factors = images[:heldout], factors[:heldout]
    train_images, train_factors = images[heldout:], factors[heldout:]
    train_x = images_to_tensor(train_images)  # float copy once: cheaper than converting each batch
    train_f = torch.from_numpy(train_factors)

    G = build_generator(factors.shape[1]).to(device)
    devices.apply_precision(G, precision)
    scale = devices.loss_scale(G)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    opt = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.9, 0.99))
    step, history = 0, []
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location=device, weights_only=True)
        G.load_state_dict(ck["G"])
        G_ema.load_state_dict(ck["G_ema"])
        opt.load_state_dict(ck["opt"])
        step, history = int(ck["step"]), list(ck.get("history", []))
        print(f"resumed from {ckpt_path} at step {step}", file=log)
    percep = PerceptualLoss(lpips_weights, quiet=True).to(device) if lpips_weight > 0 else None
    if percep is not None:
        print(f"perceptual loss: {percep.kind}", file=log)

    def save():
        torch.save(dict(G=G.state_dict(), G_ema=G_ema.state_dict(), opt=opt.state_dict(), step=step,
                        history=history, config=G.config), str(ckpt_path) + ".tmp")
        Path(str(ckpt_path) + ".tmp").replace(ckpt_path)

    gen = torch.Generator().manual_seed(1234 + step)
    t0, seen = time.perf_counter(), 0
    G.train()
    while step < steps:
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, lr, steps, decay_start)
        idx = torch.randint(len(train_x), (batch,), generator=gen)
        target = train_x[idx].to(device)
        z = z_from_factors(train_f[idx]).to(device)
        img = G(z, noise_mode="const", fused_modconv=False)
        l1 = (img - target).abs().mean()
        loss = l1
        if percep is not None:
            loss = loss + lpips_weight * percep(img, target).mean()
        opt.zero_grad(set_to_none=True)
        (loss * scale if scale != 1 else loss).backward()
        if scale != 1:
            grads = [p.grad for p in G.parameters() if p.grad is not None]
            torch._foreach_div_(grads, scale)
            for g in grads:
                torch.nan_to_num_(g, nan=0.0, posinf=1e5, neginf=-1e5)
        opt.step()
        with torch.no_grad():
            for pe, p in zip(G_ema.parameters(), G.parameters()):
                pe.lerp_(p, 1 - ema_beta)
        step += 1
        seen += batch
        if step % 10 == 0:
            rate = seen / (time.perf_counter() - t0)
            print(f"step {step}/{steps} loss {loss.item():.4f} l1 {l1.item():.4f} {rate:.1f} img/s",
                  file=log, flush=True)
        if step % eval_every == 0 or step == steps:
            score = evaluate(G_ema, val_images, val_factors, device=device)
            history.append(dict(step=step, psnr=score, loss=float(loss), time=time.time()))
            print(f"step {step}: held-out PSNR {score:.2f} dB (EMA)", file=log, flush=True)
            loaded, train_x, train_f = grow_training_set(data_path, loaded, train_x, train_f, log)
            G.train()
        if step % ckpt_every == 0 or step == steps:
            save()
            if export:
                from .faces import FACTOR_NAMES  # z is Phi^-1 of the renderer's factors: name them in the file
                save_generator(G_ema.cpu(), export, half=True, training=dict(step=step, history=history),
                               factor_names=FACTOR_NAMES if G_ema.z_dim == len(FACTOR_NAMES) else None)
                G_ema.to(device)
    return G_ema, history
