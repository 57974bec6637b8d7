"""`dragedit directions`: list a model's semantic directions (named factors and SeFa)."""
from __future__ import annotations

import json

from ..edit.semantic_defaults import LAYER_RANGES
from ..errors import DragEditError


def add_directions_parser(sub):
    p = sub.add_parser("directions", help="list a model's semantic directions (named factors and SeFa)")
    p.add_argument("model", help="model file (.pkl or .pt), or 'default'")
    p.add_argument("--layers", choices=LAYER_RANGES, default="all",
                   help="layer range the SeFa directions are computed for and edit")
    p.add_argument("--count", type=int, default=8, help="number of SeFa directions (default 8)")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def cmd_directions(args) -> int:
    from ..edit import semantics
    from ..io.checkpoint import load_generator
    from ..models import resolve_model_path
    if args.count < 0:
        raise DragEditError(f"--count must be 0 or more, got {args.count}")
    G = load_generator(resolve_model_path(args.model))
    ds = semantics.directions(G, layers=args.layers, k=args.count)
    rows = []
    k = 0
    for d in ds:
        row = d.describe()
        if d.kind == "sefa":
            row["index"] = k
            k += 1
        rows.append(row)
    if args.json:
        print(json.dumps(dict(model=str(args.model), layers=args.layers, directions=rows), indent=2))
        return 0
    factors = [r for r in rows if r["kind"] == "factor"]
    if factors:
        fitted = [r["name"] for r in factors if r["fitted"]]
        print(f"named factors (--factor NAME:AMOUNT, 1 = a sixth of the factor's range): "
              f"{', '.join(r['name'] for r in factors)}")
        print(f"  fitted to the model's images (factor_directions): {', '.join(fitted) if fitted else 'none'}")
    else:
        print("named factors: none (the model file stores no factor_names)")
    print(f"SeFa directions on {args.layers} layers (ws {_span(semantics.layer_indices(G, args.layers))}), "
          f"--direction K:AMOUNT[:LAYERS]:")
    for r in rows:
        if r["kind"] == "sefa":
            print(f"  {r['index']:2d}  eigenvalue {r['eigenvalue']:9.3f}  1 unit = {r['scale']:.3f} in W")
    return 0


def _span(idx):
    return f"{idx[0]}-{idx[-1]}" if len(idx) > 1 else str(idx[0])
