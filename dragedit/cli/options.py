"""Option handling shared by several commands."""
from __future__ import annotations


def device_and_precision(args):
    """The resolved --device and --precision of a command (clear errors when unavailable)."""
    from ..devices import resolve_device, resolve_precision
    device = resolve_device(getattr(args, "device", "auto"))
    return device, resolve_precision(getattr(args, "precision", "auto"), device)
