"""How good the default model is, on fresh renders: PSNR, LPIPS, sharpness and placement.

Why these four: PSNR and LPIPS say how close `G(Phi^-1(f))` is to `render(f)`;
the high-frequency energy ratio says whether the model draws the renderer's
detail or a smeared version of it (regression alone leaves about 0.3); the
landmark error says whether each face is still drawn where its factors put
it, which the landmark drag benchmark and the named factors rely on.
"""
from __future__ import annotations

import numpy as np
import torch

from ..nets.ops import laplacian
from . import faces
from .train_generator import images_to_tensor, psnr, z_from_factors

EVAL_SEED = 987_654_321   # no training chunk uses it (those are 100003*k + i)
EVAL_COUNT = 48


def high_frequency_energy(images: torch.Tensor) -> torch.Tensor:
    """Mean squared 3x3-Laplacian response per image (each channel alike), images in [-1, 1]."""
    return laplacian(images).square().mean(dim=[1, 2, 3])   # valid region: no border response


def eval_set(n=EVAL_COUNT, seed=EVAL_SEED):
    """Fresh factors, their renders (uint8) and true landmarks."""
    factors = faces.random_factors(n, seed)
    images, landmarks = faces.render_batch(factors)
    return factors, images, landmarks


@torch.no_grad()
def evaluate_model(G, data=None, lpips_weights=None, detector=None, batch=16, device="cpu"):
    """Metrics of G against the renderer on `data` (default: `eval_set()`) as a dict."""
    from ..nets.perceptual import PerceptualLoss
    from .landmarks import detect, load_detector

    factors, images, true_landmarks = data if data is not None else eval_set()
    percep = PerceptualLoss(lpips_weights, quiet=True).to(device)
    detector = detector or load_detector(device=device)
    was_training = G.training
    G.eval()
    p, lp, e_gen, e_ref, generated = [], [], [], [], []
    for i in range(0, len(factors), batch):
        z = z_from_factors(torch.from_numpy(factors[i:i + batch])).to(device)
        target = images_to_tensor(images[i:i + batch]).to(device)
        img = G(z, noise_mode="const").float().clamp(-1, 1)
        p.append(psnr(img, target).cpu())
        lp.append(percep(img, target).cpu())
        e_gen.append(high_frequency_energy(img).cpu())
        e_ref.append(high_frequency_energy(target).cpu())
        generated.append(img.cpu())
    G.train(was_training)
    generated = torch.cat(generated)
    found = detect(generated, detector)
    on_renders = detect(images, detector)
    err = np.linalg.norm(found - true_landmarks, axis=-1).mean()
    det_err = np.linalg.norm(on_renders - true_landmarks, axis=-1).mean()
    return dict(
        count=len(factors),
        psnr=float(torch.cat(p).mean()),
        lpips=float(torch.cat(lp).mean()),
        lpips_kind=percep.kind,
        hf_ratio=float(torch.cat(e_gen).sum() / torch.cat(e_ref).sum()),
        landmark_error=float(err),
        detector_error_on_renders=float(det_err),
    )


def format_table(metrics: dict) -> str:
    """The metrics as the Markdown table of the model card."""
    lp = "LPIPS (AlexNet)" if metrics["lpips_kind"] == "lpips-alex" else "perceptual (no LPIPS weights: multi-scale L1)"
    rows = [
        ("PSNR", f"{metrics['psnr']:.2f} dB"),
        (lp, f"{metrics['lpips']:.4f}"),
        ("high-frequency energy ratio, generated / rendered", f"{metrics['hf_ratio']:.3f}"),
        ("landmark error: detector on G(Phi^-1(f)) vs true landmarks of f",
         f"{metrics['landmark_error']:.2f} px (detector on renders: {metrics['detector_error_on_renders']:.2f} px)"),
    ]
    lines = [f"| measure ({metrics['count']} fresh renders) | value |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


@torch.no_grad()
def seed_grid(G, seeds=range(16), cols=4, truncation_psi=0.7) -> np.ndarray:
    """uint8 contact sheet of the given seeds (the README's and the model card's picture)."""
    from ..imaging import to_uint8
    from ..io.export import image_grid
    from ..nets.stylegan2 import ws_from_seed
    frames = [to_uint8(G.synthesis(ws_from_seed(G, s, truncation_psi), noise_mode="const")) for s in seeds]
    return image_grid(frames, cols)
