"""`dragedit [gui]`: open the desktop app."""
from __future__ import annotations

from ..errors import DragEditError
from .options import device_and_precision


def cmd_gui(args):
    try:
        from ..gui.app import run_app
    except ImportError as exc:
        raise DragEditError(f"the desktop app cannot start: {exc}") from None
    device_and_precision(args)  # a bad --device or --precision fails here, in one line
    return run_app(model=args.model, seed=args.seed, device=args.device, precision=args.precision,
                   exit_when_done=True)
