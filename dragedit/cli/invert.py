"""`dragedit invert`: a photo -> a latent (.npz), or with --pti a tuned generator + latent (.pt)."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import DragEditError


def main_invert(args) -> int:
    import torch
    from .. import devices
    from ..io.checkpoint import load_generator, save_generator
    from ..io.export import save_image
    from ..io.images import load_photo
    from ..io.latents import save_latent
    from ..models import resolve_model_path
    from ..imaging import to_uint8
    from ..edit.inversion import invert
    from ..nets.perceptual import PerceptualLoss
    if args.threads:
        torch.set_num_threads(args.threads)
    device = devices.resolve_device(getattr(args, "device", "auto"))
    precision = devices.resolve_precision(getattr(args, "precision", "auto"), device)
    out = Path(args.out)
    if args.pti and out.suffix.lower() != ".pt":
        raise DragEditError(f"--pti writes a tuned generator with its latent: give --out a .pt name, not {out.name}")
    if not args.pti and out.suffix.lower() != ".npz":
        raise DragEditError(f"--out {out.name}: a latent is written as .npz")
    model_path = resolve_model_path(args.model)
    G = load_generator(model_path).to(device)
    devices.apply_precision(G, precision)
    photo = load_photo(args.image, G.img_resolution, fit=args.fit)
    perceptual = PerceptualLoss(args.lpips_weights, quiet=True)
    if perceptual.lpips is None:
        print("dragedit: note: no AlexNet weights for LPIPS (set DRAGEDIT_LPIPS_WEIGHTS or --lpips-weights); "
              "using a pixel + multi-scale loss", file=sys.stderr)

    def progress(stage, i, n, loss):
        if not args.quiet:
            print(f"\r{stage}: {i}/{n} loss {loss:.4f}", end="", file=sys.stderr, flush=True)

    res = invert(G, photo, space=args.space, steps=args.steps, pti_steps=args.pti_steps if args.pti else 0,
                 perceptual=perceptual, progress=progress)
    if not args.quiet:
        print(file=sys.stderr)
    if args.pti:
        save_generator(res.G, out, latent=res.ws.cpu(), source_model=str(model_path), source_image=str(args.image))
    else:
        save_latent(out, res.ws, model=str(model_path), image=str(args.image), space=args.space)
    if args.preview:
        with torch.no_grad():
            save_image(to_uint8(res.G.synthesis(res.ws.to(devices.device_of(res.G)))), args.preview)
    msg = f"latent PSNR {res.psnr:.2f} dB"
    if res.pti_psnr is not None:
        msg += f", after pivotal tuning {res.pti_psnr:.2f} dB"
    steps = len(res.step_ms)
    print(f"{msg}; {steps} steps, {res.total_s:.1f} s ({res.total_s / max(steps, 1) * 1000:.0f} ms/step); "
          f"wrote {out}", file=sys.stderr)
    return 0
