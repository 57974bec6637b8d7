"""Generator output to display pixels: the one conversion the editor, inversion and training share.

Images leave the generator as [1, 3, H, W] floats in [-1, 1]; NVIDIA's `training_loop.py`
maps them with `x * 127.5 + 128`, clamped, to uint8, and so do we, so saved PNGs match theirs.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["to_uint8", "to_uint8_device"]


def to_uint8_device(img: torch.Tensor) -> torch.Tensor:
    """[1, 3, H, W] in [-1, 1] -> uint8 [H, W, 3] on the image's device (a quarter of the bytes
    to copy to the host)."""
    return (img[0].permute(1, 2, 0).float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """[1, 3, H, W] in [-1, 1] -> uint8 [H, W, 3] on the host."""
    return to_uint8_device(img).cpu().numpy()
