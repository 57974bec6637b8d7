"""Adversarial fine-tune of the default model: regression keeps each face in place, a GAN term sharpens it.

Why: regression (L1 + LPIPS) averages every edge the generator cannot place
exactly, so the faces come out soft (about a third of the renderer's detail).
A non-saturating GAN loss from a small patch discriminator pushes the output
onto sharp, plausible edges; the regression loss stays, so z = Phi^-1(f)
still draws face f (the landmark benchmark and the named factors rely on it).
The generator's architecture is unchanged unless `widen` grows blocks
(see `widen.py`: the widened generator starts out drawing the same images).

The run resumes from the regression checkpoint (G, G_ema, Adam state) the
first time, and from its own checkpoint (which adds D, D's Adam state and the
adversarial step) after that; it checkpoints often and may be stopped at any
moment. Optimiser moments are stored in bfloat16 (same range as float32, half
the bytes), which a resume does not notice.
"""
from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import DragEditError
from ..nets.ops import laplacian
from .discriminator import PatchDiscriminator, d_loss, g_adv_loss, r1_penalty
from .train_generator import (build_generator, cache_files, grow_training_set, images_to_tensor, load_cache,
                              z_from_factors)
from .widen import parse_widen, widen_generators, widened_config

# Chosen in short trials on this CPU: D at 2e-3 (beta1 0) stayed at chance; 1e-3 with beta1 0.5
# separates real from generated within ~70 steps, but with R1 gamma 0.1 it stayed at chance for
# 260 steps of the real run (R1 penalises exactly the input gradients that detect sharpness).
# An L1 on the Laplacians (weight 2) was tried and made the faces softer (HF ratio 0.30 -> 0.15
# in 100 steps: L1 favours a zero Laplacian wherever an edge is not placed exactly), so it is not used.
# The detail term (L1 between the local RMS Laplacian of generated and rendered images, over 8x8
# patches) asks for the right amount of detail in each patch without asking for it at the exact
# pixel, so unlike a per-pixel L1 it does not reward smearing: in 100 steps of trials it raised the
# HF ratio 0.29 -> 0.59 (weight 1), and with LPIPS weighted 2 instead of 0.5 to 0.49 with LPIPS
# unchanged.
DEFAULTS = dict(g_lr=5e-4, d_lr=1e-3, d_beta1=0.5, adv_weight=0.02, lpips_weight=0.5, detail_weight=0.0,
                detail_patch=8, r1_gamma=0.01, r1_every=16, ema_beta=0.998, batch=8)


def local_detail(images, patch):
    """RMS of each channel's 3x3 Laplacian over `patch` x `patch` cells: how much detail each cell has."""
    return F.avg_pool2d(laplacian(images).square(), patch, ceil_mode=True).add(1e-8).sqrt()


def _compact(opt_state: dict) -> dict:
    """Adam state with float tensors in bfloat16, for a checkpoint half the size."""
    out = copy.deepcopy(opt_state)
    for s in out["state"].values():
        for k, v in s.items():
            if torch.is_tensor(v) and v.is_floating_point() and v.ndim > 0:
                s[k] = v.to(torch.bfloat16)
    return out


def _expand(opt_state: dict) -> dict:
    for s in opt_state["state"].values():
        for k, v in s.items():
            if torch.is_tensor(v) and v.dtype == torch.bfloat16:
                s[k] = v.float()
    return opt_state


def _save_atomic(obj, path: Path):
    tmp = Path(str(path) + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def train_adversarial(data_path, out_dir, steps, resume_from=None, export=None, lpips_weights=None,
                      device="cpu", threads=None, eval_every=200, ckpt_every=50, heldout=64,
                      widen=None, log=sys.stderr, **overrides):
    """Fine-tune for `steps` adversarial steps in total (a resume continues); returns (G_ema, history).

    `resume_from` is the regression checkpoint used when `out_dir` holds no
    adversarial checkpoint yet. Weights and rates: see DEFAULTS (overridable).
    `widen` ('128:64' or {128: 64}) grows those blocks' channel counts before
    training goes on; the checkpoint's config then holds the wide generator.
    """
    from ..nets.perceptual import PerceptualLoss
    from ..io.checkpoint import save_generator
    from .model_eval import eval_set, evaluate_model

    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}")
    chosen = {k: v for k, v in overrides.items() if v is not None}
    if threads:
        torch.set_num_threads(threads)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / "checkpoint.pt"

    source = ckpt_path if ckpt_path.exists() else Path(resume_from) if resume_from else None
    if source is None or not source.exists():
        raise DragEditError(f"adversarial fine-tuning needs a regression checkpoint: {resume_from} is missing")
    ck = torch.load(source, map_location="cpu", weights_only=True)
    for key in ("G", "G_ema", "config"):
        if key not in ck:
            raise DragEditError(f"{source}: not a dragedit training checkpoint (no '{key}')")

    widths = (parse_widen(widen) if isinstance(widen, str) else dict(widen)) if widen else {}
    widened_config(ck["config"], widths)   # a bad width fails here, before the data is loaded

    images, factors = load_cache(data_path)
    loaded = cache_files(data_path)
    if len(images) <= heldout:
        raise DragEditError(f"dataset {data_path} holds {len(images)} images: need more than {heldout}")
    train_x = images_to_tensor(images[heldout:])
    train_f = torch.from_numpy(factors[heldout:])
    del images

    config = dict(ck["config"])
    # A resume keeps the run's own settings unless the command names new ones; every change is
    # kept in `schedule`, so the model card can say exactly what trained the model.
    hp = {**DEFAULTS, **(ck.get("settings") or {}), **chosen}
    G = build_generator(config["z_dim"], config)
    G.load_state_dict(ck["G"])
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    G_ema.load_state_dict(ck["G_ema"])
    grown = {}
    if widths:
        (G, G_ema), config, grown = widen_generators([G, G_ema], config, widths,
                                                     seed=int(ck.get("adv_step", 0)))
        for res, (old, new) in grown.items():
            print(f"widened the {res}-px block from {old} to {new} channels", file=log)
    G, G_ema = G.to(device), G_ema.to(device)
    schedule = list(ck.get("schedule", []))
    if not schedule or schedule[-1]["settings"] != hp or grown:
        entry = dict(adv_step=int(ck.get("adv_step", 0)), settings=hp)
        if grown:
            entry["widened"] = {res: list(v) for res, v in grown.items()}
        schedule.append(entry)
    D = PatchDiscriminator(config["img_resolution"]).to(device)
    opt_G = torch.optim.Adam(G.parameters(), lr=hp["g_lr"], betas=(0.9, 0.99))
    opt_D = torch.optim.Adam(D.parameters(), lr=hp["d_lr"], betas=(hp["d_beta1"], 0.99))
    reg_step = int(ck.get("step", 0))
    adv_step, history = 0, []
    if "D" in ck:
        D.load_state_dict(ck["D"])
        opt_G.load_state_dict(_expand(ck["opt"]))
        opt_D.load_state_dict(_expand(ck["opt_D"]))
        adv_step = int(ck["adv_step"])
        history = list(ck.get("adv_history", []))
        print(f"resumed adversarial run from {source} at adversarial step {adv_step}", file=log)
    else:
        opt_G.load_state_dict(_expand(ck["opt"]))
        print(f"starting adversarial fine-tune from {source} (regression step {reg_step})", file=log)
    for p in G.parameters():   # a widened tensor's Adam moments no longer fit it: they start afresh
        state = opt_G.state.get(p)
        if state and state["exp_avg"].shape != p.shape:
            del opt_G.state[p]
    for opt, lr, beta1 in ((opt_G, hp["g_lr"], 0.9), (opt_D, hp["d_lr"], hp["d_beta1"])):
        for group in opt.param_groups:   # a loaded state brings its old rates: the settings win
            group["lr"] = lr
            group["betas"] = (beta1, 0.99)
    regression_history = list(ck.get("history", []))
    del ck

    percep = PerceptualLoss(lpips_weights, quiet=True).to(device)
    print(f"perceptual loss: {percep.kind}; settings {json.dumps(hp)}", file=log, flush=True)
    fresh = eval_set()

    def save():
        _save_atomic(dict(G=G.state_dict(), G_ema=G_ema.state_dict(), opt=_compact(opt_G.state_dict()),
                          D=D.state_dict(), opt_D=_compact(opt_D.state_dict()), step=reg_step,
                          adv_step=adv_step, history=regression_history, adv_history=history,
                          config=config, settings=hp, schedule=schedule), ckpt_path)

    def evaluate():
        metrics = evaluate_model(G_ema, fresh, lpips_weights=lpips_weights, device=device)
        history.append(dict(adv_step=adv_step, time=time.time(), **metrics))
        print(f"adv step {adv_step}: PSNR {metrics['psnr']:.2f} dB, LPIPS {metrics['lpips']:.4f}, "
              f"HF ratio {metrics['hf_ratio']:.3f}, landmark error {metrics['landmark_error']:.2f} px",
              file=log, flush=True)
        if export:
            from .faces import FACTOR_NAMES  # z is Phi^-1 of the renderer's factors: name them in the file
            save_generator(G_ema.cpu(), export, half=True,
                           factor_names=FACTOR_NAMES if G_ema.z_dim == len(FACTOR_NAMES) else None,
                           training=dict(step=reg_step, adversarial_step=adv_step, settings=hp,
                                         metrics={k: v for k, v in metrics.items() if k != "lpips_kind"}))
            G_ema.to(device)

    gen = torch.Generator().manual_seed(4321 + adv_step)
    t0, seen = time.perf_counter(), 0
    G.train()
    while adv_step < steps:
        idx = torch.randint(len(train_x), (hp["batch"],), generator=gen)
        real = train_x[idx].to(device)
        z = z_from_factors(train_f[idx]).to(device)
        fake = G(z, noise_mode="const", fused_modconv=False)

        # Discriminator: non-saturating loss, lazy R1 on the real images.
        D.requires_grad_(True)
        loss_d = d_loss(D, real, fake.detach())
        if adv_step % hp["r1_every"] == 0:
            loss_d = loss_d + (hp["r1_gamma"] / 2) * r1_penalty(D, real) * hp["r1_every"]
        opt_D.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_D.step()

        # Generator: regression keeps the face in place, the GAN term sharpens it.
        D.requires_grad_(False)
        l1 = (fake - real).abs().mean()
        loss_g = l1 + hp["lpips_weight"] * percep(fake, real).mean()
        if hp["detail_weight"]:
            p = hp["detail_patch"]
            loss_g = loss_g + hp["detail_weight"] * (local_detail(fake, p) - local_detail(real, p)).abs().mean()
        adv = g_adv_loss(D, fake)
        loss_g = loss_g + hp["adv_weight"] * adv
        opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_G.step()
        with torch.no_grad():
            for pe, p in zip(G_ema.parameters(), G.parameters()):
                pe.lerp_(p, 1 - hp["ema_beta"])
        adv_step += 1
        seen += hp["batch"]
        if adv_step % 10 == 0:
            rate = seen / (time.perf_counter() - t0)
            print(f"adv step {adv_step}/{steps} G {loss_g.item():.4f} (l1 {l1.item():.4f}, adv {adv.item():.3f}) "
                  f"D {loss_d.item():.3f} {rate:.1f} img/s", file=log, flush=True)
        if adv_step % eval_every == 0 or adv_step == steps:
            evaluate()
            loaded, train_x, train_f = grow_training_set(data_path, loaded, train_x, train_f, log)
            G.train()
        if adv_step % ckpt_every == 0 or adv_step == steps:
            save()   # after the evaluation, so the checkpoint's history includes it
    return G_ema, history
