"""`dragedit [--model FILE] [--seed N]` opens the app; subcommands do the same jobs headless.

Every user-facing failure is a DragEditError, printed as one line (exit 2),
never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..devices import DEVICE_HELP, PRECISION_HELP, PRECISIONS
from ..edit.drag_defaults import EDIT_STEPS, EXPORT_FPS, PAPER_LR, SINGLE_PAIR_LR, SMALL_MODEL_LR, SMALL_MODEL_SIZE
from ..edit.inversion_defaults import PROJECT_STEPS, PTI_STEPS
from ..errors import DragEditError
from .directions import add_directions_parser
from .region import add_edit_args as add_region_edit_args
from .semantic import add_edit_args as add_semantic_edit_args

SUBCOMMANDS = ("gui", "edit", "invert", "bench", "train", "info", "directions")


def _add_device_args(p):
    """--device and --precision, the same on every command."""
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--precision", default="auto", choices=PRECISIONS, help=PRECISION_HELP)


def _add_gui_args(p):
    p.add_argument("--model", default="default", help="model file (.pkl or .pt), or 'default'")
    p.add_argument("--seed", type=int, default=0, help="seed of the starting image")
    _add_device_args(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dragedit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"dragedit {__version__}")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("gui", help="open the desktop app (the default when no command is given)")
    _add_gui_args(p)

    p = sub.add_parser("edit", help="drag-edit one image without a window")
    p.add_argument("--model", default="default", help="model file (.pkl or .pt), or 'default'")
    p.add_argument("--seed", type=int, help="seed of the starting image (default 0, or the latent stored "
                   "in a model written by `dragedit invert --pti`)")
    p.add_argument("--latent", help="start from this latent (.npz saved by dragedit) instead of the seed")
    p.add_argument("--pair", action="append", metavar="X,Y:X,Y",
                   help="handle and target in image pixels, x then y; repeat for more pairs")
    p.add_argument("--mask", help="PNG of the generator's size; white = painted region")
    p.add_argument("--mask-mode", choices=["fixed", "flexible"], default="flexible",
                   help="flexible: only the painted region may change; fixed: the painted region stays")
    p.add_argument("--steps", type=int, default=EDIT_STEPS, help=f"iteration budget (default {EDIT_STEPS})")
    p.add_argument("--lr", type=float, help=f"Adam learning rate (default: {SMALL_MODEL_LR:g} for models of "
                   f"{SMALL_MODEL_SIZE} px or less, {SINGLE_PAIR_LR:g} there with a single pair, else the "
                   f"paper's {PAPER_LR:g})")
    p.add_argument("--lambda-mask", dest="lambda_mask", type=float, help="weight of the mask term (default 20)")
    p.add_argument("--r1", type=float, help="motion supervision radius, px")
    p.add_argument("--r2", type=float, help="tracking search radius, px")
    p.add_argument("--stop-distance", dest="stop_distance", type=float, help="reached when within this many px")
    p.add_argument("--space", choices=["w", "w+"], default="w+")
    p.add_argument("--tracker", help="point tracker: patch (default: a 3x3 feature template with a motion prior), "
                   "nn (DragGAN's nearest neighbour) or motion (one feature vector with the motion prior)")
    p.add_argument("--stall-patience", dest="stall_patience", type=int,
                   help="stop after N iterations in which the handles got no closer (0: never)")
    p.add_argument("--out", help="final image (.png/.jpg)")
    p.add_argument("--frames", help="folder for a PNG sequence of every iteration")
    p.add_argument("--video", help="animation of the edit (.gif or .mp4)")
    p.add_argument("--fps", type=float, default=EXPORT_FPS,
                   help=f"frames per second of --video (default {EXPORT_FPS})")
    p.add_argument("--overlay", action="store_true", help="draw points and arrows on exported frames")
    p.add_argument("--json", help="write a report (reached, iterations, handles, distances, timings)")
    p.add_argument("--save-latent", dest="save_latent", help="write the edited latent (.npz)")
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _add_device_args(p)
    add_semantic_edit_args(p)
    add_region_edit_args(p)
    add_directions_parser(sub)

    p = sub.add_parser("invert", help="invert a photo into the generator's latent space")
    p.add_argument("image", help="the photo (PNG, JPEG, WebP, ...)")
    p.add_argument("--model", default="default", help="model file (.pkl or .pt), or 'default'")
    p.add_argument("--space", choices=["w", "w+"], default="w+")
    p.add_argument("--steps", type=int, default=PROJECT_STEPS, help=f"projection steps (default {PROJECT_STEPS})")
    p.add_argument("--pti", action="store_true", help="pivotal tuning: also fine-tune a copy of the generator")
    p.add_argument("--pti-steps", dest="pti_steps", type=int, default=PTI_STEPS,
                   help=f"pivotal tuning steps (default {PTI_STEPS})")
    p.add_argument("--fit", choices=["crop", "pad"], default="crop", help="non-square photos: centre crop or pad")
    p.add_argument("--out", default="latent.npz", help="latent .npz, or with --pti a .pt generator + latent")
    p.add_argument("--preview", help="write the reconstruction here (.png)")
    p.add_argument("--lpips-weights", help="AlexNet weights for LPIPS (else $DRAGEDIT_LPIPS_WEIGHTS)")
    p.add_argument("--threads", type=int)
    p.add_argument("--quiet", action="store_true")
    _add_device_args(p)

    p = sub.add_parser("info", help="describe a model file without running it")
    p.add_argument("model", help="model file (.pkl or .pt), or 'default'")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("bench", help="measure speed (median and p95 per iteration)")
    p.add_argument("--generator", action="store_true",
                   help="time the generator: forward, and forward+backward to the feature block")
    p.add_argument("--model", default="default", help="model to time besides the 512-px config-f one")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--speed", action="store_true",
                   help="time our drag iteration against a straightforward full-graph one on the same weights")
    p.add_argument("--no-512", dest="big", action="store_false", help="skip the 512-px config-f generator")
    p.add_argument("--warp", action="store_true", help="time the warp preview at 512 and 128 px "
                   "(one OpenCV thread unless --threads; at least 100 repeats)")
    p.add_argument("--auto-mask", dest="auto_mask", action="store_true", help="landmark benchmark without a mask "
                   "against the automatic mask from the drag (MD and PSNR outside the edit; --pairs, --steps)")
    p.add_argument("--json", dest="json_out", help="also write the results to this JSON file")
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    p.add_argument("--pairs", type=int, default=50, help="drag benchmark: number of seed pairs")
    p.add_argument("--steps", type=int, default=100, help="drag benchmark: iteration budget per edit")
    p.add_argument("--trackers", default="draggan,nn@2e-3,patch", help="drag benchmark: comma-separated methods: "
                   "draggan (DragGAN's own loop) or our trackers (nn, motion, patch), each optionally with @LR for "
                   "its learning rate; a tracker may add +frames to render every iteration's frame as the app does, "
                   "e.g. draggan,patch+frames@3e-3,patch")
    p.add_argument("--subsets", default="1,5,all", help="drag benchmark: landmark counts to edit (1, 5, all)")
    p.add_argument("--detector", help="landmark detector file (default: models/landmarks.pt)")
    p.add_argument("--lpips-weights", help="AlexNet weights for LPIPS outside the edit (see README)")
    p.add_argument("--md", dest="md_out", default="bench_results.md", help="drag benchmark: Markdown table")
    p.add_argument("--big", dest="big1024", action="store_true",
                   help="--generator/--speed: also the 1024-px config-f generator (peak memory on a GPU)")
    _add_device_args(p)

    p = sub.add_parser("train", help="train the default model on procedural faces (resumable)")
    p.add_argument("--data", help="dataset cache (.npz, or a folder of them); rendered first if missing")
    p.add_argument("--render", type=int, default=12000, help="images to render when the cache is missing")
    p.add_argument("--out", default="runs/faces128", help="folder for the resumable checkpoint")
    p.add_argument("--export", help="write the EMA generator here (dragedit format, fp16)")
    p.add_argument("--steps", type=int, default=4000, help="total optimiser steps (resume continues)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--decay-start", type=int,
                   help="step from which the learning rate falls linearly to lr/10 at --steps")
    p.add_argument("--lpips-weight", type=float, default=0.5)
    p.add_argument("--lpips-weights", help="AlexNet weights for LPIPS (see README)")
    _add_device_args(p)
    p.add_argument("--threads", type=int)
    p.add_argument("--workers", type=int, default=1, help="processes used to render the dataset")
    p.add_argument("--adversarial", action="store_true",
                   help="fine-tune with a GAN loss from a small patch discriminator (sharper faces); resumes "
                   "from --resume-from the first time, then from --out; --steps counts adversarial steps")
    p.add_argument("--resume-from", dest="resume_from", default="models/training/checkpoint.pt",
                   help="regression checkpoint an adversarial run starts from")
    p.add_argument("--adv-weight", dest="adv_weight", type=float, help="weight of the GAN loss (default 0.02)")
    p.add_argument("--g-lr", dest="g_lr", type=float, help="adversarial run: generator learning rate (default 5e-4)")
    p.add_argument("--widen", metavar="RES:CH[,RES:CH]",
                   help="adversarial run: first grow these blocks to CH channels (e.g. 128:64), keeping the "
                   "generator's images unchanged at the start; the checkpoint then holds the wide generator")
    p.add_argument("--d-lr", dest="d_lr", type=float, help="discriminator learning rate (default 1e-3)")
    p.add_argument("--r1-gamma", dest="r1_gamma", type=float, help="R1 penalty weight (default 0.01)")
    p.add_argument("--detail-weight", dest="detail_weight", type=float,
                   help="weight of the local detail term: L1 between the 8x8-patch RMS Laplacians of "
                   "generated and rendered faces (default 0)")
    p.add_argument("--eval", metavar="MODEL", nargs="?", const="default",
                   help="print PSNR, LPIPS, the high-frequency ratio and the landmark error of MODEL "
                   "(default: the shipped one) on fresh renders, then exit")
    p.add_argument("--eval-count", dest="eval_count", type=int, default=48, help="fresh renders for --eval")
    p.add_argument("--grid", help="with --eval: also write a 4x4 grid of seeds 0-15 (truncation 0.7) to this PNG")
    return parser


# Each command's module is imported only when it runs: `dragedit info` need not load the drag engine.
# command -> (module in this package, function taking the parsed arguments)
COMMANDS = {"gui": ("gui", "cmd_gui"), "edit": ("edit", "main_edit"), "invert": ("invert", "main_invert"),
            "info": ("info", "cmd_info"), "bench": ("bench", "cmd_bench"), "train": ("train", "cmd_train"),
            "directions": ("directions", "cmd_directions")}


def run_command(args) -> int:
    module, function = COMMANDS[args.command]
    return getattr(importlib.import_module(f".{module}", __name__), function)(args)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["gui"] + argv
    args = build_parser().parse_args(argv)
    try:
        return run_command(args)
    except DragEditError as exc:
        print(f"dragedit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dragedit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:   # e.g. `dragedit info default | head`: the reader left, which is no error
        sys.stderr.close()
        return 0
