"""`dragedit info`: describe a model file without running it."""
from __future__ import annotations

import json


def cmd_info(args):
    from ..io.checkpoint import inspect_model
    from ..models import resolve_model_path
    info = inspect_model(resolve_model_path(args.model))
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for k, v in info.items():
            print(f"{k}: {v}")
    return 0
