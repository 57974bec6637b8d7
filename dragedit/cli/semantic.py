"""The command line's semantic options: `dragedit directions`, and `dragedit edit`'s --direction,
--factor, --suggest and --part-mask (kept here so the edit command itself stays one flow)."""
from __future__ import annotations

import json
import sys

from ..errors import DragEditError
from ..edit.semantic_defaults import LAYER_RANGES, PART_THRESHOLD


def add_edit_args(p):
    p.add_argument("--direction", action="append", default=[], metavar="K:AMOUNT[:LAYERS]",
                   help="before the drag, move along SeFa direction K (0 = strongest; see `dragedit directions`) "
                        "by AMOUNT standard deviations, on LAYERS coarse|middle|fine|all (default all); repeatable")
    p.add_argument("--factor", action="append", default=[], metavar="NAME:AMOUNT",
                   help="before the drag, change a named factor of the default model (e.g. smile:1.5, "
                        "yaw:-1) by AMOUNT standard deviations of its prior; repeatable")
    p.add_argument("--suggest", action="store_true",
                   help="print suggested handle points of the (semantically edited) start image as JSON on stdout")
    p.add_argument("--part-mask", dest="part_mask", metavar="X,Y[:THRESHOLD]",
                   help=f"mask the part around pixel X,Y: the connected region whose features have a cosine "
                        f"similarity above THRESHOLD (default {PART_THRESHOLD:g}) to that pixel's (added to --mask)")


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
        print(f"named factors (--factor NAME:AMOUNT, all layers): {', '.join(r['name'] for r in factors)}")
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


def parse_direction(text):
    """'K:AMOUNT[:LAYERS]' -> (index, amount, layers)."""
    parts = str(text).split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        index, amount = int(parts[0]), float(parts[1])
    except ValueError:
        raise DragEditError(f"--direction {text!r}: expected K:AMOUNT or K:AMOUNT:LAYERS, e.g. 0:2.5:coarse") from None
    layers = parts[2] if len(parts) == 3 else "all"
    if layers not in LAYER_RANGES:
        raise DragEditError(f"--direction {text!r}: layers must be one of {', '.join(LAYER_RANGES)}")
    return index, amount, layers


def parse_factor(text):
    """'NAME:AMOUNT' -> (name, amount)."""
    name, sep, amount = str(text).rpartition(":")
    try:
        if not sep or not name:
            raise ValueError
        return name, float(amount)
    except ValueError:
        raise DragEditError(f"--factor {text!r}: expected NAME:AMOUNT, e.g. smile:1.5") from None


def semantic_edits(G, args) -> list:
    """The (Direction, amount, layers) edits the options ask for, checked before any work is done."""
    from ..edit import semantics
    edits = []
    for text in getattr(args, "factor", None) or []:
        name, amount = parse_factor(text)
        edits.append((semantics.find_factor(G, name), amount, None))
    for text in getattr(args, "direction", None) or []:
        index, amount, layers = parse_direction(text)
        edits.append((semantics.sefa_direction(G, index, layers), amount, layers))
    return edits


def prepare_start(G, args, ws, seed, truncation_psi):
    """The start latent after --factor / --direction (None when there are none and ws is None)."""
    from ..edit import semantics
    edits = semantic_edits(G, args)
    if not edits:
        return ws
    if ws is None:
        from ..nets.stylegan2 import ws_from_seed
        ws = ws_from_seed(G, seed, truncation_psi=truncation_psi)
    return semantics.apply(G, ws, edits)


def part_mask_and_suggestions(session, args, mask):
    """--part-mask (merged into mask) and --suggest (printed), on the session's start image."""
    if getattr(args, "part_mask", None):
        from ..edit.part_mask import parse_part_mask, part_mask
        point, threshold = parse_part_mask(args.part_mask)
        part = part_mask(session, point, threshold)
        mask = part if mask is None else (mask | part)
    if getattr(args, "suggest", False):
        from ..edit.suggest import suggest_points
        print(json.dumps(dict(points=suggest_points(session)), indent=2))
        sys.stdout.flush()
    return mask
