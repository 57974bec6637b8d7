"""Perceptual distance (LPIPS, AlexNet) that finds its weights as a user expects, and never hangs.

The `lpips` package ships only its linear heads and asks torchvision to
download the AlexNet backbone. We build the backbone with random weights and
load real ones from, in order: an explicit path (option or Preferences),
`$DRAGEDIT_LPIPS_WEIGHTS`, torchvision's cache, and finally one download
through torchvision's own weights API into that cache (a one-line notice,
torch.hub's progress bar, a few seconds' timeout on each network wait). When
that fails, or offline (`$DRAGEDIT_OFFLINE=1`, which the tests set), we say
so and fall back to a pixel + multi-scale loss, so inversion and training
still work.
"""
from __future__ import annotations

import os
import socket
import sys
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import DragEditError

ENV_VAR = "DRAGEDIT_LPIPS_WEIGHTS"
OFFLINE_VAR = "DRAGEDIT_OFFLINE"
NETWORK_TIMEOUT_S = 5.0
FALLBACK_MESSAGE = ("No AlexNet weights were found for LPIPS and none could be downloaded, so a pixel + "
                    "multi-scale loss was used (pick a weights file in Edit > Preferences, or set "
                    f"{ENV_VAR}).")
_download_failed: list[str] = []   # one failed download per process is enough
# lpips.pretrained_networks.alexnet slices hold torchvision's features.{0,3,6,8,10} convs.
_SLICE_OF_LAYER = {0: "slice1", 3: "slice2", 6: "slice3", 8: "slice4", 10: "slice5"}


def _hub_checkpoints() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def _fetch_torchvision_alexnet():
    """torchvision's own download of its ImageNet AlexNet into torch.hub's cache (the test seam)."""
    from torchvision.models import AlexNet_Weights
    AlexNet_Weights.IMAGENET1K_V1.get_state_dict(progress=True, check_hash=True)


def download_alexnet_weights(log=None):
    """Download AlexNet once into torchvision's cache; the file, or None (offline or failed) with a notice."""
    if os.environ.get(OFFLINE_VAR) or _download_failed:
        return None
    log = log or sys.stderr
    print(f"LPIPS: downloading torchvision's AlexNet weights (233 MB) once into {_hub_checkpoints()} ...",
          file=log, flush=True)
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(NETWORK_TIMEOUT_S)
    try:
        _fetch_torchvision_alexnet()
    except Exception as exc:  # noqa: BLE001 - any failure means: fall back, and say why
        _download_failed.append(str(exc))
        print(f"LPIPS: the download failed ({exc}); using a pixel + multi-scale loss instead", file=log, flush=True)
        return None
    finally:
        socket.setdefaulttimeout(old_timeout)
    found = sorted(_hub_checkpoints().glob("alexnet-*.pth"))
    return found[0] if found else None


def find_alexnet_weights(path=None, download=False):
    """The first AlexNet weight file that exists (or, with `download`, was just fetched), or None."""
    candidates = []
    if path:
        candidates.append(Path(path))
    if os.environ.get(ENV_VAR):
        candidates.append(Path(os.environ[ENV_VAR]))
    hub = _hub_checkpoints()
    if hub.is_dir():
        candidates.extend(sorted(hub.glob("alexnet-*.pth")))
    for c in candidates:
        if c.is_file():
            return c
    if path:
        raise DragEditError(f"LPIPS weights file {path} does not exist: expected torchvision's AlexNet "
                            "state dict (or its features.* keys)")
    return download_alexnet_weights() if download else None


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

    def __init__(self, weights=None, quiet=False, download=True):
        super().__init__()
        self.kind = "multiscale-l1"
        self.lpips = None
        weight_path = find_alexnet_weights(weights, download=download)
        if weight_path is not None:
            import lpips  # imported here: it pulls torchvision, slow to import
            with warnings.catch_warnings():
                # lpips builds torchvision's AlexNet with the deprecated `pretrained=False`; we load
                # the weights ourselves, so the deprecation says nothing to our users.
                warnings.filterwarnings("ignore", category=UserWarning, module=r"torchvision\.models\._utils")
                model = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False)
            _load_backbone(model, weight_path)
            self.lpips = model.eval().requires_grad_(False)
            self.kind = "lpips-alex"
            self.weight_path = str(weight_path)
        elif not quiet:
            warnings.warn(FALLBACK_MESSAGE, stacklevel=2)

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
