"""`dragedit edit`'s region options: --region / --region-mask / --region-part select a region, and --move,
--rotate, --scale and --pivot give its affine map (kept here so the edit command stays one flow)."""
from __future__ import annotations

from ..errors import DragEditError


def add_edit_args(p):
    g = p.add_mutually_exclusive_group()
    g.add_argument("--region", metavar="X0,Y0,X1,Y1", help="drag the rectangle X0,Y0 - X1,Y1 (image pixels) as a whole")
    g.add_argument("--region-mask", dest="region_mask", metavar="FILE.png",
                   help="drag the white pixels of this PNG (the generator's size) as a whole")
    g.add_argument("--region-part", dest="region_part", metavar="X,Y[:T]",
                   help="drag the part around pixel X,Y (its features' cosine similarity above T) as a whole")
    p.add_argument("--move", metavar="DX,DY", help="region drag: move it by DX,DY px")
    p.add_argument("--rotate", type=float, metavar="DEG", help="region drag: turn it by DEG degrees "
                   "(positive: clockwise on screen)")
    p.add_argument("--scale", metavar="S[,SY]", help="region drag: scale it by S (or S along x, SY along y)")
    p.add_argument("--pivot", metavar="X,Y", help="region drag: rotate and scale about X,Y (default: the region's "
                   "centre, the middle of its bounding box)")


def _numbers(text, option, count, example):
    try:
        values = [float(v) for v in str(text).split(",")]
        if len(values) not in count:
            raise ValueError
    except ValueError:
        raise DragEditError(f"{option} {text!r}: expected {example}") from None
    return values


def has_region(args) -> bool:
    return bool(getattr(args, "region", None) or getattr(args, "region_mask", None)
                or getattr(args, "region_part", None))


def region_affine(args):
    """The Affine of --move/--rotate/--scale/--pivot; DragEditError if no region is given with them, or
    a region without any of them."""
    from ..edit.region import Affine
    given = [n for n in ("move", "rotate", "scale", "pivot") if getattr(args, n, None) is not None]
    if not has_region(args):
        if given:
            raise DragEditError(f"--{given[0]} transforms a region: give --region, --region-mask or --region-part")
        return None
    move = _numbers(args.move, "--move", (2,), "DX,DY, e.g. 0,6") if args.move is not None else (0.0, 0.0)
    scale = _numbers(args.scale, "--scale", (1, 2), "S or SX,SY, e.g. 1.3") if args.scale is not None else [1.0]
    pivot = _numbers(args.pivot, "--pivot", (2,), "X,Y, e.g. 64,60") if args.pivot is not None else None
    affine = Affine(move=tuple(move), rotate=args.rotate or 0.0, scale=tuple(scale * (3 - len(scale))),
                    pivot=None if pivot is None else tuple(pivot))
    if affine.is_identity:
        raise DragEditError("a region drag needs --move DX,DY, --rotate DEG or --scale S (other than 1)")
    return affine


def region_source(args, size):
    """What selects the region: a bool mask, or a function of the session (for --region-part)."""
    from ..edit import region
    if args.region:
        box = _numbers(args.region, "--region", (4,), "X0,Y0,X1,Y1, e.g. 50,78,80,92")
        return region.rect_mask(box, size)
    if args.region_mask:
        from ..io.images import load_mask
        return load_mask(args.region_mask, size)
    from ..edit.part_mask import parse_part_mask, part_mask
    point, threshold = parse_part_mask(args.region_part, option="--region-part")
    return lambda session: part_mask(session, point, threshold)
