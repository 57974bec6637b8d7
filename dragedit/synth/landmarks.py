"""Landmark detector for the synthetic cartoon faces (and for images a generator makes of them).

Why: drag edits are judged by where features end up (did the mouth corner
reach the target?). Renders have exact landmarks; generated images do not, so
a small CNN trained on renders, with augmentation that mimics GAN output
(blur, noise, colour shifts, small affine jitter), measures them.

Model: a compact encoder (space-to-depth stem, strided convs, residual blocks
at 1/8 resolution) and a small decoder back to 1/2 resolution that yields one
heatmap per landmark; a soft-argmax (integral regression) turns each heatmap
into sub-pixel coordinates, trained with an L1 loss on the coordinates.

Input: float images [N, 3, 128, 128] in [-1, 1] (the generator's convention).
Output: landmarks [N, K, 2] as (x, y) pixels, pixel column i / row j centred at
(i, j), in the order of `faces.LANDMARK_NAMES`.

Train: python -m dragedit.synth.landmarks --out models/landmarks.pt --n-train 20000 --steps 12000
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import faces

FORMAT = "dragedit-landmarks"
VERSION = 1
CHUNK = 2000


def default_path() -> Path:
    """models/landmarks.pt in the repository (where training writes it)."""
    from ..models import REPO_MODELS_DIR
    return REPO_MODELS_DIR / "landmarks.pt"


# ----------------------------------------------------------------------------- model

def _cbr(cin, cout, k=3, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _Res(nn.Module):
    def __init__(self, c, dilation=1):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, 1, dilation, dilation, bias=False)
        self.b1 = nn.BatchNorm2d(c)
        self.c2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)), inplace=True)
        return F.relu(x + self.b2(self.c2(y)), inplace=True)


class LandmarkDetector(nn.Module):
    """Heatmap + soft-argmax landmark CNN; forward(images in [-1,1]) -> [N, K, 2] pixels.

    Cheap on purpose (it trains on one CPU core): a lossless space-to-depth
    stem to 1/4 resolution, residual blocks with growing dilation at 1/8 for
    context (left vs right, inner vs outer), a skip back to 1/4, and heatmaps
    at 1/2 resolution via pixel shuffle.
    """

    def __init__(self, num_landmarks=faces.NUM_LANDMARKS, width=48, img_size=128):
        super().__init__()
        w = width
        k = num_landmarks
        self.config = {"num_landmarks": num_landmarks, "width": width, "img_size": img_size}
        self.img_size = img_size
        self.stem = nn.Sequential(_cbr(48, w), _cbr(w, w))                    # 1/4
        self.down = nn.Sequential(_cbr(w, 4 * w // 3, stride=2), _Res(4 * w // 3),
                                  _Res(4 * w // 3, 2), _Res(4 * w // 3, 4))      # 1/8
        self.lat = nn.Conv2d(4 * w // 3, w, 1)
        self.up = _cbr(w, w)
        self.head = nn.Conv2d(w, 4 * k, 1)                                     # -> 1/2 by shuffle
        self.beta = nn.Parameter(torch.tensor(1.0))   # learned heatmap sharpness

    def heatmaps(self, x):
        x0 = self.stem(F.pixel_unshuffle(x, 4))
        x1 = self.down(x0)
        y = F.interpolate(self.lat(x1), scale_factor=2, mode="bilinear", align_corners=False)
        y = self.up(y + x0)
        return F.pixel_shuffle(self.head(y), 2)

    def forward(self, x):
        h = self.heatmaps(x)
        n, k, hh, ww = h.shape
        p = torch.softmax(h.flatten(2) * (self.beta * 4.0), dim=-1).view(n, k, hh, ww)
        # centre of heatmap cell j in output pixels (pixel i centred at i)
        sx = self.img_size / ww
        sy = self.img_size / hh
        gx = (torch.arange(ww, dtype=h.dtype, device=h.device) + 0.5) * sx - 0.5
        gy = (torch.arange(hh, dtype=h.dtype, device=h.device) + 0.5) * sy - 0.5
        x_ = (p.sum(2) * gx).sum(-1)
        y_ = (p.sum(3) * gy).sum(-1)
        return torch.stack([x_, y_], dim=-1)


def save_detector(model: LandmarkDetector, path, extra=None):
    """Write {'format','version','config','state_dict'(fp16)}; loadable with weights_only=True."""
    sd = {k: (v.half() if v.is_floating_point() else v).clone() for k, v in model.state_dict().items()}
    obj = {"format": FORMAT, "version": VERSION, "config": dict(model.config), "state_dict": sd}
    if extra:
        obj["meta"] = extra
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def load_detector(path=None, device="cpu") -> LandmarkDetector:
    """Load a trained detector (eval mode, float32). Default: the shipped models/landmarks.pt."""
    if path is None:
        from ..models import default_detector_path
        path = default_detector_path()
    path = Path(path)
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path} is not a dragedit landmark detector file")
    if obj.get("version", 0) > VERSION:
        raise ValueError(f"{path}: unsupported detector file version {obj.get('version')}")
    model = LandmarkDetector(**obj["config"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in obj["state_dict"].items()})
    return model.eval().to(device)


def to_input(images) -> torch.Tensor:
    """uint8 [N,H,W,3] / [H,W,3] (numpy or torch) or float [N,3,H,W] in [-1,1] -> float [N,3,H,W]."""
    if isinstance(images, np.ndarray):
        # a copy when read-only (e.g. np.asarray of a PIL image): torch warns about those
        images = torch.from_numpy(np.ascontiguousarray(images) if images.flags.writeable else images.copy())
    if images.dtype == torch.uint8:
        if images.ndim == 3:
            images = images[None]
        return images.permute(0, 3, 1, 2).float() / 127.5 - 1.0
    x = images.float()
    return x[None] if x.ndim == 3 else x


_DEFAULT = {}


@torch.no_grad()
def detect(images, model: LandmarkDetector | None = None, batch_size=64) -> np.ndarray:
    """Landmarks [N, K, 2] (or [K, 2] for one uint8 image) for uint8 HWC or float NCHW [-1,1] images."""
    single = (isinstance(images, (np.ndarray, torch.Tensor)) and images.ndim == 3)
    if model is None:
        if "m" not in _DEFAULT:
            _DEFAULT["m"] = load_detector()
        model = _DEFAULT["m"]
    x = to_input(images)
    dev = next(model.parameters()).device
    if x.shape[-1] != model.img_size or x.shape[-2] != model.img_size:
        raise ValueError(f"detector expects {model.img_size}x{model.img_size} images, got {tuple(x.shape[-2:])}")
    was_training = model.training
    model.eval()
    out = torch.cat([model(x[i:i + batch_size].to(dev)).cpu() for i in range(0, len(x), batch_size)])
    model.train(was_training)
    out = out.numpy().astype(np.float32)
    return out[0] if single else out


# ----------------------------------------------------------------------------- data

def _chunk_seed(seed, k):
    return seed * 100003 + k


def _chunk_path(cache_dir, seed, k):
    return Path(cache_dir) / f"train_s{seed}_c{CHUNK}_{k:03d}.npz"


def load_training_data(n, seed=1, cache_dir="/tmp/lm_data", log=print, min_chunks=None):
    """Renders (images, landmarks) cached as chunks of CHUNK, so reruns reuse them.

    Chunks missing from the cache are rendered here, but only the first
    `min_chunks` (default: all); the rest are skipped, so that training can
    start while a separate process is still rendering them (see `_more_data`).
    """
    total = math.ceil(n / CHUNK)
    need = total if min_chunks is None else max(1, min(min_chunks, total))
    imgs, lms, have = [], [], []
    for k in range(total):
        p = _chunk_path(cache_dir, seed, k)
        if not p.exists() and k < need:
            log(f"rendering chunk {k} -> {p}")
            tmp = p.with_suffix(".tmp.npz")
            faces.render_dataset(CHUNK, _chunk_seed(seed, k), tmp)
            tmp.rename(p)
        if p.exists():
            d = faces.load_dataset(p)
            imgs.append(d["images"])
            lms.append(d["landmarks"])
            have.append(k)
    return np.concatenate(imgs)[:n], np.concatenate(lms)[:n], have


def _more_data(n, seed, cache_dir, have):
    """Chunks that appeared on disk since the last look (rendered by another process)."""
    imgs, lms = [], []
    for k in range(math.ceil(n / CHUNK)):
        p = _chunk_path(cache_dir, seed, k)
        if k not in have and p.exists():
            d = faces.load_dataset(p)
            imgs.append(d["images"])
            lms.append(d["landmarks"])
            have.append(k)
    return imgs, lms


def _gauss_kernels(sigmas, size=5):
    r = torch.arange(size, dtype=torch.float32) - size // 2
    k = torch.exp(-0.5 * (r[None] / sigmas[:, None].clamp_min(1e-3)) ** 2)
    return k / k.sum(1, keepdim=True)


def augment(x, lm, gen: torch.Generator, strength=1.0):
    """Random affine (rot/scale/shift), h-flip, blur, colour jitter and noise; landmarks follow.

    x: float [N,3,S,S] in [-1,1]; lm: [N,K,2] pixels. The photometric part
    imitates what a GAN does to the images (softness, noise, colour drift).
    """
    n, _, S, _ = x.shape
    def u(*shape):
        return torch.rand(*shape, generator=gen)
    # horizontal flip (mirror landmarks and swap left/right names)
    flip = u(n) < 0.5
    if flip.any():
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        lmf = lm[:, list(faces.LANDMARK_FLIP)].clone()
        lmf[..., 0] = S - 1 - lmf[..., 0]
        lm = torch.where(flip[:, None, None], lmf, lm)
    # affine: output normalised coords -> input normalised coords
    ang = (u(n) * 2 - 1) * 0.15 * strength
    sc = 1.0 + (u(n) * 2 - 1) * 0.08 * strength
    tx = (u(n) * 2 - 1) * 0.07 * strength
    ty = (u(n) * 2 - 1) * 0.07 * strength
    ca, sa = torch.cos(ang) / sc, torch.sin(ang) / sc
    A = torch.stack([torch.stack([ca, -sa], -1), torch.stack([sa, ca], -1)], -2)   # [n,2,2]
    t = torch.stack([tx, ty], -1)
    theta = torch.cat([A, t[..., None]], -1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x + 1.0, grid, mode="bilinear", padding_mode="border", align_corners=False) - 1.0
    pn = (2 * lm + 1) / S - 1                                  # pixel -> normalised
    pn = torch.linalg.solve(A, (pn - t[:, None]).transpose(1, 2)).transpose(1, 2)
    lm = ((pn + 1) * S - 1) / 2
    # blur (separable Gaussian, per image sigma 0..1.1 px)
    sig = u(n) * 1.1 * strength
    k = _gauss_kernels(sig)                                   # [n,5]
    xb = x.reshape(1, n * 3, S, S)
    kk = k.repeat_interleave(3, 0)
    xb = F.conv2d(F.pad(xb, (2, 2, 0, 0), mode="replicate"), kk[:, None, None, :], groups=n * 3)
    xb = F.conv2d(F.pad(xb, (0, 0, 2, 2), mode="replicate"), kk[:, None, :, None], groups=n * 3)
    x = xb.reshape(n, 3, S, S)
    # colour: brightness, contrast, per-channel gain, saturation
    g = 1.0 + (u(n, 3, 1, 1) * 2 - 1) * 0.12 * strength
    b = (u(n, 1, 1, 1) * 2 - 1) * 0.15 * strength
    c = 1.0 + (u(n, 1, 1, 1) * 2 - 1) * 0.25 * strength
    gray = x.mean(1, keepdim=True)
    s = 1.0 + (u(n, 1, 1, 1) * 2 - 1) * 0.4 * strength
    x = gray + (x - gray) * s
    x = (x * g) * c + b
    # noise: per-pixel Gaussian plus a little low-frequency blotchiness
    x = x + torch.randn(x.shape, generator=gen) * (u(n, 1, 1, 1) * 0.05 * strength)
    lowf = F.interpolate(torch.randn(n, 3, 8, 8, generator=gen), size=(S, S), mode="bilinear",
                         align_corners=False)
    x = x + lowf * (u(n, 1, 1, 1) * 0.04 * strength)
    return x.clamp(-1, 1), lm


# ----------------------------------------------------------------------------- training

@torch.no_grad()
def evaluate(model, images_u8, landmarks, batch_size=64):
    """Mean and 95th-percentile Euclidean landmark error (pixels) on uint8 images."""
    pred = detect(images_u8, model, batch_size)
    err = np.linalg.norm(pred - landmarks, axis=-1)
    return float(err.mean()), float(np.percentile(err, 95)), err.mean(0)


def train_detector(out_path=None, n_train=20000, steps=12000, batch_size=32, lr=2e-3,
                   width=48, seed=1, val_n=256, val_seed=987654, cache_dir="/tmp/lm_data",
                   eval_every=500, time_limit=None, resume=False, min_chunks=None, log=print):
    """Train on cached renders; checkpoint the best held-out (EMA) model to out_path as fp16.

    Held-out renders come from a different seed than any training chunk.
    `time_limit` (seconds) ends training early but keeps the best checkpoint.
    """
    out_path = Path(out_path) if out_path is not None else default_path()
    torch.manual_seed(seed)
    t0 = time.time()
    imgs, lms, have = load_training_data(n_train, seed, cache_dir, log, min_chunks)
    val_f = faces.random_factors(val_n, val_seed)
    val_x, val_l = faces.render_batch(val_f)
    log(f"data ready: {len(imgs)} train, {val_n} val ({time.time() - t0:.0f}s)")
    imgs_t = torch.from_numpy(imgs)                   # uint8 NHWC, converted per batch
    lms_t = torch.from_numpy(lms)
    model = LandmarkDetector(width=width)
    ema = LandmarkDetector(width=width)
    ema.load_state_dict(model.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    start = 0
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    ckpt_path = out_path.with_suffix(".train.pt")
    best = float("inf")
    if resume and ckpt_path.exists():
        st = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        model.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        opt.load_state_dict(st["opt"])
        start, best = int(st["step"]), float(st["best"])
        log(f"resumed at step {start}, best {best:.3f}")
    gen = torch.Generator().manual_seed(seed + start)
    nparam = sum(p.numel() for p in model.parameters())
    log(f"model params {nparam}")
    warm = 300
    t_start = time.time()
    for step in range(start, steps):
        # cosine schedule over whichever runs out first: steps or the time limit
        prog = step / steps
        if time_limit is not None:
            prog = max(prog, (time.time() - t0) / time_limit)
        prog = min(prog, 1.0)
        lr_now = lr * min(1.0, (step + 1) / warm) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * prog)))
        for gparam in opt.param_groups:
            gparam["lr"] = lr_now
        idx = torch.randint(0, len(imgs_t), (batch_size,), generator=gen)
        x = to_input(imgs_t[idx])
        y = lms_t[idx].float()
        x, y = augment(x, y, gen, strength=1.0 if prog < 0.9 else 0.6)
        model.train()
        pred = model(x)
        loss = (pred - y).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            d = min(0.998, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(d).add_(pm.detach(), alpha=1 - d)
            for be, bm in zip(ema.buffers(), model.buffers()):
                be.copy_(bm)
        done = step + 1
        if done % 50 == 0:
            rate = (done - start) / (time.time() - t_start)
            log(f"step {done} loss {loss.item():.3f} lr {lr_now:.2e} {rate:.2f} it/s")
        last = done == steps or (time_limit is not None and time.time() - t0 > time_limit)
        if done % eval_every == 0 or last:
            mi, ml = _more_data(n_train, seed, cache_dir, have)
            if mi:
                imgs_t = torch.cat([imgs_t] + [torch.from_numpy(a) for a in mi])
                lms_t = torch.cat([lms_t] + [torch.from_numpy(a) for a in ml])
                log(f"training set grew to {len(imgs_t)} images")
            mean, p95, per = evaluate(ema, val_x, val_l)
            msg = f"eval step {done}: mean {mean:.3f}px p95 {p95:.3f}px (EMA)"
            if mean < best:
                best = mean
                save_detector(ema, out_path, {"val_mean_px": mean, "val_p95_px": p95, "step": done,
                                              "n_train": len(imgs_t)})
                msg += " -> saved"
            log(msg)
            worst = np.argsort(-per)[:4]
            log("  worst: " + ", ".join(f"{faces.LANDMARK_NAMES[i]} {per[i]:.2f}" for i in worst))
            torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                        "step": done, "best": best}, ckpt_path)
        if last:
            break
    log(f"done: best held-out mean error {best:.3f}px, {time.time() - t0:.0f}s")
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description="Train the dragedit landmark detector on synthetic faces.")
    ap.add_argument("--out", default=str(default_path()))
    ap.add_argument("--n-train", type=int, default=20000)
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--width", type=int, default=48)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache-dir", default="/tmp/lm_data")
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--time-limit", type=float, default=None, help="seconds")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--min-chunks", type=int, default=None,
                    help="start once this many data chunks exist; pick up the rest as they appear")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)

    def log(msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    train_detector(a.out, a.n_train, a.steps, a.batch_size, a.lr, a.width, a.seed,
                   cache_dir=a.cache_dir, eval_every=a.eval_every, time_limit=a.time_limit,
                   resume=a.resume, min_chunks=a.min_chunks, log=log)


if __name__ == "__main__":
    main()
