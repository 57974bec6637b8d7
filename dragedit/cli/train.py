"""`dragedit train`: train the default model on procedural faces, or with --eval measure one."""
from __future__ import annotations

import sys

from ..errors import DragEditError
from .options import device_and_precision


def cmd_train(args):
    from pathlib import Path
    from ..synth import faces
    from ..synth.train_generator import train
    if args.eval:
        return _train_eval(args)
    if not args.data:
        raise DragEditError("dragedit train needs --data FILE.npz (or a folder of .npz caches), or --eval")
    device, precision = device_and_precision(args)  # checked before any rendering
    if args.adversarial and precision != "fp32":
        if args.precision != "auto":
            raise DragEditError(f"train --adversarial runs in fp32: --precision {args.precision} is not supported")
        precision = "fp32"
    if args.widen and not args.adversarial:
        raise DragEditError("--widen applies to an adversarial run: add --adversarial")
    if args.widen:
        from ..synth.widen import parse_widen
        parse_widen(args.widen)   # a malformed value fails before any rendering
    data = Path(args.data)
    if not data.exists():
        print(f"rendering {args.render} faces to {data} ...", file=sys.stderr)
        faces.render_dataset(args.render, seed=2024, path=data, processes=args.workers)
    if args.adversarial:
        from ..synth.train_adversarial import train_adversarial
        train_adversarial(data, args.out, steps=args.steps, resume_from=args.resume_from, export=args.export,
                          lpips_weights=args.lpips_weights, device=device, threads=args.threads,
                          batch=args.batch, lpips_weight=args.lpips_weight, adv_weight=args.adv_weight,
                          d_lr=args.d_lr, r1_gamma=args.r1_gamma, detail_weight=args.detail_weight,
                          g_lr=args.g_lr, widen=args.widen)
        return 0
    train(data, args.out, steps=args.steps, batch=args.batch, lr=args.lr, lpips_weight=args.lpips_weight,
          lpips_weights=args.lpips_weights, device=device, precision=precision, threads=args.threads,
          export=args.export, decay_start=args.decay_start)
    return 0


def _train_eval(args):
    from ..io.checkpoint import load_generator
    from ..models import resolve_model_path
    from ..synth.model_eval import eval_set, evaluate_model, format_table
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    path = resolve_model_path(args.eval)
    G = load_generator(path)
    metrics = evaluate_model(G, eval_set(args.eval_count), lpips_weights=args.lpips_weights)
    print(f"{path}")
    print(format_table(metrics))
    if args.grid:
        from ..io.export import save_image
        from ..synth.model_eval import seed_grid
        grid = seed_grid(G)
        save_image(grid, args.grid)
        print(f"seed grid -> {args.grid}")
    return 0
