"""`dragedit edit`'s semantic options: --direction, --factor, --suggest and --part-mask (kept here so
the edit command itself stays one flow)."""
from __future__ import annotations

import json
import sys

from ..edit.semantic_defaults import LAYER_RANGES, PART_THRESHOLD
from ..errors import DragEditError


def add_edit_args(p):
    p.add_argument("--direction", action="append", default=[], metavar="K:AMOUNT[:LAYERS]",
                   help="before the drag, move along SeFa direction K (0 = strongest; see `dragedit directions`) "
                        "by AMOUNT standard deviations, on LAYERS coarse|middle|fine|all (default all); repeatable")
    p.add_argument("--factor", action="append", default=[], metavar="NAME:AMOUNT",
                   help="before the drag, change a named factor of the default model (e.g. smile:1.5, "
                        "yaw:-1) by AMOUNT sixths of its range (+-3 spans it); repeatable")
    p.add_argument("--suggest", action="store_true",
                   help="print suggested handle points of the (semantically edited) start image as JSON on stdout")
    p.add_argument("--part-mask", dest="part_mask", metavar="X,Y[:THRESHOLD]",
                   help=f"mask the part around pixel X,Y: the connected region whose features have a cosine "
                        f"similarity above THRESHOLD (default {PART_THRESHOLD:g}) to that pixel's (added to --mask)")


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


def semantic_edits(G, factors=(), directions=()) -> list:
    """The (Direction, amount, layers) edits that --factor and --direction texts ask for, checked before
    any work is done."""
    from ..edit import semantics
    edits = []
    for text in factors or []:
        name, amount = parse_factor(text)
        edits.append((semantics.find_factor(G, name), amount, None))
    for text in directions or []:
        index, amount, layers = parse_direction(text)
        edits.append((semantics.sefa_direction(G, index, layers), amount, layers))
    return edits


def prepare_start(G, ws, seed, truncation_psi, factors=(), directions=()):
    """The start latent after --factor / --direction (None when there are none and ws is None)."""
    from ..edit import semantics
    edits = semantic_edits(G, factors, directions)
    if not edits:
        return ws
    if ws is None:
        from ..nets.stylegan2 import ws_from_seed
        ws = ws_from_seed(G, seed, truncation_psi=truncation_psi)
    return semantics.apply(G, ws, edits)


def part_mask_and_suggestions(session, mask, part_mask_text=None, suggest=False):
    """--part-mask (merged into mask) and --suggest (printed), on the session's start image."""
    if part_mask_text:
        from ..edit.part_mask import parse_part_mask, part_mask
        point, threshold = parse_part_mask(part_mask_text)
        part = part_mask(session, point, threshold)
        mask = part if mask is None else (mask | part)
    if suggest:
        from ..edit.suggest import suggest_points
        print(json.dumps(dict(points=suggest_points(session)), indent=2))
        sys.stdout.flush()
    return mask
