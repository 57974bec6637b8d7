"""The app's device: what `--device`/`--precision` (or, later, Preferences) asked for, resolved
once for the window; no Qt here. An accelerator that is not there is no reason to refuse to
start: the app falls back to the CPU and says so in the status bar."""
from __future__ import annotations

from ..devices import DeviceError, describe_device, resolve_device, resolve_precision


def app_device(device="auto", precision="auto"):
    """(torch.device, precision, note): note is None, or a line saying what was used instead of
    the device or precision asked for."""
    import torch
    note = None
    try:
        dev = resolve_device(device)
    except DeviceError as exc:
        dev, note = torch.device("cpu"), f"{exc}: using the CPU"
    try:
        prec = resolve_precision(precision, dev)
    except DeviceError as exc:
        prec = "fp32"
        note = (note + "; " if note else "") + f"{exc}: using fp32"
    return dev, prec, note


def device_text(device, precision) -> str:
    """The status bar's device label, e.g. 'CUDA: NVIDIA RTX 4090 · mixed'."""
    text = describe_device(device)
    return text if precision == "fp32" else f"{text} · {precision}"
