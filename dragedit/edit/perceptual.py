"""Perceptual distance (LPIPS, AlexNet) that never downloads at run time.

The `lpips` package ships only its linear heads and asks torchvision to
download the AlexNet backbone. We build the backbone with random weights and
load real ones from, in order: an explicit path, `$DRAGEDIT_LPIPS_WEIGHTS`,
torchvision's cache. With none found we say so and fall back to a
pixel + multi-scale loss, so inversion and training still work offline.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import DragEditError

ENV_VAR = "DRAGEDIT_LPIPS_WEIGHTS"
# lpips.pretrained_networks.alexnet slices hold torchvision's features.{0,3,6,8,10} convs.
_SLICE_OF_LAYER = {0: "slice1", 3: "slice2", 6: "slice3", 8: "slice4", 10: "slice5"}


def find_alexnet_weights(path=None):
    """Return the first AlexNet weight file that exists, or None."""
    candidates = []
    if path:
        candidates.append(Path(path))
    if os.environ.get(ENV_VAR):
        candidates.append(Path(os.environ[ENV_VAR]))
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    if hub.is_dir():
        candidates.extend(sorted(hub.glob("alexnet-*.pth")))
    for c in candidates:
        if c.is_file():
            return c
    if path:
        raise DragEditError(f"LPIPS weights file {path} does not exist: expected torchvision's AlexNet "
                            "state dict (or its features.* keys)")
    return None


def _load_backbone(model, weight_path):
    try:
        sd = torch.load(weight_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - reported to the user with the file name
        raise DragEditError(f"cannot read LPIPS weights {weight_path}: {exc}") from None
    if not isinstance(sd, dict):
        raise DragEditError(f"LPIPS weights {weight_path}: expected a state dict of AlexNet tensors")
    target = {}
    for layer, slice_name in _SLICE_OF_LAYER.items():
        for kind in ("weight", "bias"):
            key = f"features.{layer}.{kind}"
            if key not in sd:
                raise DragEditError(f"LPIPS weights {weight_path} lack {key}: expected torchvision AlexNet names")
            target[f"net.{slice_name}.{layer}.{kind}"] = sd[key]
    missing = model.load_state_dict(target, strict=False)
    if missing.unexpected_keys:
        raise DragEditError(f"LPIPS weights {weight_path}: unexpected keys {missing.unexpected_keys}")


class PerceptualLoss(torch.nn.Module):
    """LPIPS(AlexNet) when weights are available, else pixel + multi-scale L1 (`self.kind` says which).

    Inputs are images in [-1, 1], [N, 3, H, W]; returns one value per sample.
    """

    def __init__(self, weights=None, quiet=False):
        super().__init__()
        self.kind = "multiscale-l1"
        self.lpips = None
        weight_path = find_alexnet_weights(weights)
        if weight_path is not None:
            import lpips  # imported here: it pulls torchvision, slow to import
            model = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False)
            _load_backbone(model, weight_path)
            self.lpips = model.eval().requires_grad_(False)
            self.kind = "lpips-alex"
            self.weight_path = str(weight_path)
        elif not quiet:
            warnings.warn(f"no AlexNet weights for LPIPS (set {ENV_VAR}); using a pixel + multi-scale loss",
                          stacklevel=2)

    def forward(self, a, b):
        if self.lpips is not None:
            return self.lpips(a, b).flatten()
        total = 0
        for _ in range(4):
            total = total + (a - b).abs().mean(dim=[1, 2, 3])
            if min(a.shape[-2:]) < 16:
                break
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
        return total
