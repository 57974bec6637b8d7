"""Function-preserving widening of a StyleGAN2 generator's blocks (more channels, same images).

Why: the default model's fine-tune stalled at one LPIPS whatever the loss
weights, which points at capacity. Widening a block lets training continue
from the trained weights instead of starting over: the new channels get fresh
random weights (as at initialisation) but every consumer of them (the next
layer's weight columns and toRGB) gets zeros, so the widened generator draws
exactly the same images at first and the gradient then puts the new channels
to use. Their per-input-channel styles (the affine rows) start like a fresh
layer's, bias 1.
"""
from __future__ import annotations

import copy
import math

import torch

from ..errors import DragEditError


def parse_widen(text: str) -> dict[int, int]:
    """'128:64' or '64:128,128:64' -> {resolution: channels}; a clear error for anything else."""
    widths = {}
    for item in str(text).split(","):
        parts = item.strip().split(":")
        try:
            res, ch = (int(p) for p in parts)
        except ValueError:
            raise DragEditError(f"--widen {text!r}: {item.strip()!r} is not RESOLUTION:CHANNELS "
                                "(e.g. 128:64, or a comma list 64:128,128:64)") from None
        if ch <= 0:
            raise DragEditError(f"--widen {text!r}: channel count {ch} must be positive")
        if res in widths:
            raise DragEditError(f"--widen {text!r}: resolution {res} named twice")
        widths[res] = ch
    return widths


def widened_config(config: dict, widths: dict[int, int]) -> tuple[dict, dict[int, tuple[int, int]]]:
    """(config with the new channel counts, {res: (old, new)} for the blocks that grow).

    A block already at the asked width is left alone (a resumed run may repeat
    its --widen); a smaller width or a resolution the model lacks is refused.
    """
    syn = config.get("synthesis_kwargs", {})
    if syn.get("architecture", "skip") != "skip":
        raise DragEditError(f"widening supports the 'skip' synthesis architecture, not {syn['architecture']!r}")
    channels = {int(k): int(v) for k, v in syn["channels"].items()}
    grown = {}
    for res, ch in sorted(widths.items()):
        if res not in channels:
            raise DragEditError(f"--widen {res}:{ch}: the model has no {res}-px block "
                                f"(its blocks: {', '.join(str(r) for r in sorted(channels))})")
        if ch < channels[res]:
            raise DragEditError(f"--widen {res}:{ch}: the {res}-px block has {channels[res]} channels; "
                                "widening cannot shrink it")
        if ch > channels[res]:
            grown[res] = (channels[res], ch)
            channels[res] = ch
    out = copy.deepcopy(config)
    out["synthesis_kwargs"]["channels"] = channels
    return out, grown


def widen_state(old: dict, fresh: dict) -> dict:
    """The wide state dict: `fresh` (a newly initialised wide generator's) with `old` pasted in.

    Every tensor of unchanged shape is old's. A grown tensor keeps old's values
    in its leading slice and fresh values elsewhere, except that weight columns
    for new input channels feeding old output channels are zero (so the old
    outputs do not see the new channels). toRGB has no demodulation and scales
    its styles by 1/sqrt(in_channels): its old columns are rescaled to match.
    """
    out = {}
    for key, new in fresh.items():
        was = old[key]
        if was.shape == new.shape:
            out[key] = was.clone()
            continue
        t = new.clone()
        t[tuple(slice(0, n) for n in was.shape)] = was
        if t.ndim == 4:          # conv weight [out, in, k, k]
            t[:was.shape[0], was.shape[1]:] = 0
            if key.endswith("torgb.weight"):
                t[:, :was.shape[1]] *= math.sqrt(new.shape[1] / was.shape[1])
        out[key] = t
    return out


def widen_generators(generators, config: dict, widths: dict[int, int], seed: int = 0):
    """Widen each generator of `generators` (e.g. G and G_ema) alike; -> (new generators, config, grown).

    The new channels' weights come from one seeded fresh generator, so G and
    G_ema start with the same new weights. With nothing to grow the
    generators come back unchanged.
    """
    from .train_generator import build_generator
    wide_config, grown = widened_config(config, widths)
    if not grown:
        return list(generators), config, grown
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        fresh = build_generator(wide_config["z_dim"], wide_config).state_dict()
    out = []
    for G in generators:
        W = build_generator(wide_config["z_dim"], wide_config)
        W.load_state_dict(widen_state(G.state_dict(), fresh))
        out.append(W.train(G.training).requires_grad_(any(p.requires_grad for p in G.parameters())))
    return out, wide_config, grown
