"""DragSession: DragGAN's motion supervision and point tracking on one latent.

One `step()` = one generator forward with a graph only up to the feature
block, the image rendered without a graph, tracking, the motion-supervision
(+ mask) loss, one Adam step on the first layers of W+. Points and the mask
may be edited from another thread between steps; a lock and per-pair
versions make sure a tracked position never overwrites a user's move.

On a GPU everything stays on the device: tracking, the loss and the backward
pass are queued without reading a value back, and each step crosses to the
host once, with the frame (the tracked handles and the loss travel with it).
Only then is the Adam step taken or skipped (target reached, stalled, a
non-finite loss). With `precision='mixed'` the highest-resolution generator
blocks run in half precision; features, the loss, tracking and Adam are fp32.
"""
from __future__ import annotations

import copy
import math
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .. import devices, schema
from ..errors import DragEditError
from ..imaging import to_uint8
from ..nets.stylegan2 import ws_from_seed
from . import region as region_mod
from . import tracking
from .drag_defaults import FRAME_TAIL_BUDGET_MS, LOW_RES_FRAMES_ABOVE_PX, TRUNCATION_PSI, default_lr_for
from .preview_policy import PROBE_EVERY as TAIL_TIMING_EVERY, PreviewPolicy


@dataclass
class DragParams:
    """DESIGN section 1 defaults. Radii and distances are in pixels of the generator's image;
    None means DragGAN's rule `round(r * size / 512)`, with a floor that suits small models.
    lr None: `drag_defaults.default_lr_for` (the paper's 2e-3, or 3e-3 on models of 256 px or less,
    4.5e-3 there for a single pair)."""
    lr: float | None = None
    lambda_mask: float = 20.0
    r1: float | None = None
    r2: float | None = None
    stop_distance: float | None = None
    space: str = "w+"
    num_layers: int = 6
    feature_block: int | None = None
    truncation_psi: float = TRUNCATION_PSI
    tracker: str = "patch"  # the landmark benchmark's best; "nn" is DragGAN's own
    stall_patience: int | None = None  # stop after this many iterations without progress (None: never)
    preview: str = "auto"  # 'auto' | 'full' | 'low': image shown while a run goes on
    # How many pairs share the pull (see DragSession._pair_terms; the defaults are DragGAN's):
    near: str = "off"  # a pair within 1 px of its target: 'off' adds nothing (DragGAN); 'spring' pulls it
    #                    by the sub-pixel rest, weighted by its distance, so the others cannot carry it off
    pair_weight: str = "equal"  # 'equal' (DragGAN's sum) | 'distance': each pair's term times its distance
    #                             over the pairs' mean distance (far pairs pull harder, near ones less)
    hold: float | None = None  # px: a pair this close to its target stops pulling and holds the features
    #                            around its handle as they were when it arrived (None: never)
    reset_jump: float | None = None  # px: reset Adam's moments when a tracked handle moves farther in one step

    def validate(self):
        """Type and range of every field (a session file or a script may set any of them)."""
        schema.check_fields(asdict(self), _PARAM_FIELDS)


_PARAM_FIELDS = (
    schema.Field("lr", schema.optional(schema.number(0, 10))),
    schema.Field("lambda_mask", schema.number(0, 1e6)),
    schema.Field("r1", schema.optional(schema.number(above=0, hi=4096))),
    schema.Field("r2", schema.optional(schema.number(above=0, hi=4096))),
    schema.Field("stop_distance", schema.optional(schema.number(above=0, hi=4096))),
    schema.Field("space", schema.text(("w", "w+"))),
    schema.Field("num_layers", schema.integer(1, 1000)),
    schema.Field("feature_block", schema.optional(schema.integer(0, 64))),
    schema.Field("truncation_psi", schema.number(-2, 2)),
    schema.Field("tracker", schema.text(tracking.TRACKERS)),
    schema.Field("stall_patience", schema.optional(schema.integer(1, 10 ** 9))),
    schema.Field("preview", schema.text(("auto", "full", "low"))),
    schema.Field("near", schema.text(("off", "spring"))),
    schema.Field("pair_weight", schema.text(("equal", "distance"))),
    schema.Field("hold", schema.optional(schema.number(above=0, hi=4096))),
    schema.Field("reset_jump", schema.optional(schema.number(above=0, hi=4096))),
)


@dataclass
class Pair:
    handle: tuple
    target: tuple
    version: int = 0


@dataclass
class StepResult:
    frame: np.ndarray
    handles: list
    targets: list
    distances: list
    loss: float
    iteration: int
    done: bool
    reached: bool
    timings: dict = field(default_factory=dict)
    message: str | None = None
    low_res: bool = False
    stalled: bool = False  # the run ended because the handles stopped getting closer


class DragSession:
    """Owns a generator, a latent, point pairs, a mask, the optimiser and a history of the run."""

    def __init__(self, G, seed=0, ws=None, params: DragParams | None = None, device="cpu", c=None,
                 precision="auto"):
        """device: a torch.device or a name for `devices.resolve_device` ('auto', 'cuda', ...);
        precision: 'auto' | 'fp32' | 'mixed' | 'mixed-bf16' (see `devices.resolve_precision`).
        The generator is moved to the device and its precision set (it is shared, not copied)."""
        self.device = devices.resolve_device(device)
        self.precision = devices.resolve_precision(precision, self.device)
        self.G = G.to(self.device).eval().requires_grad_(False)
        devices.apply_precision(self.G, self.precision)
        # read a step's results back after queueing its backward (devices) or before (the CPU, where
        # reading is free and a reached target saves the backward)
        self._defer_readback = self.device.type != "cpu"
        # A headless step on the CPU runs the graph's convolutions unfused: activations scaled by the
        # styles, then a conv whose weight needs no gradient, so the backward skips every weight
        # gradient (measured: the shipped model's forward+backward 83 ms instead of 100). A step that
        # shows its frame stays fused, so the frame equals render() bit for bit (the window keeps the
        # frame on screen as the image of the latent). Accelerators keep the fused form.
        self._fused_graph = self.device.type != "cpu"
        self.params = params or DragParams()
        self.params.validate()
        self.size = (G.img_resolution, G.img_resolution)
        self.seed = seed
        self._c = c
        self._lock = threading.RLock()
        self.pairs: list[Pair] = []
        self.mask = None
        self.mask_mode = "flexible"
        self.regions: list = []  # region_mod.Region: each drives some of self.pairs
        if ws is None:
            ws = ws_from_seed(G, seed, truncation_psi=self.params.truncation_psi, c=c)
        self.ws_initial = self._check_ws(ws)
        self.ws = self.ws_initial.clone()
        self.history = []  # one dict per iteration of the current run: ws, handles, frame
        self.iteration = 0
        self._run = None
        # Low-resolution frames during a run: decided again from the recent full frames' tail-block
        # times (only models over 256 px; a full tail slower than 0.2 s), never once for good.
        self._frame_policy = PreviewPolicy(budget_ms=FRAME_TAIL_BUDGET_MS, small_ok_ms=FRAME_TAIL_BUDGET_MS,
                                           min_low_res_px=LOW_RES_FRAMES_ABOVE_PX + 1)
        self._full_frames = 0   # full-resolution frames made (the tail timing's counter)
        self._version = 0

    # ----- latent -----------------------------------------------------------------
    def _check_ws(self, ws) -> torch.Tensor:
        ws = torch.as_tensor(ws, dtype=torch.float32).to(self.device)
        if ws.ndim == 2:
            ws = ws.unsqueeze(0)
        if ws.ndim == 3 and ws.shape[1] == 1:
            ws = ws.repeat(1, self.G.num_ws, 1)
        expected = (1, self.G.num_ws, self.G.w_dim)
        if tuple(ws.shape) != expected:
            raise DragEditError(f"latent has shape {tuple(ws.shape)}: expected {expected} (W+) "
                                f"or (1, {self.G.w_dim}) (W) for this generator")
        if not torch.isfinite(ws).all():
            raise DragEditError("latent contains NaN or infinite values")
        return ws.detach().clone()

    def set_latent(self, ws, as_start=False):
        """Replace the latent; as_start=True also makes it the image that reset() returns to
        (an inverted photo replaces the seed's image)."""
        with self._lock:
            self.ws = self._check_ws(ws)
            if as_start:
                self.ws_initial = self.ws.clone()
            self._end_run()

    def set_seed(self, seed, truncation_psi=None):
        with self._lock:
            if truncation_psi is not None:
                self.params.truncation_psi = truncation_psi
            self.seed = seed
            self.ws_initial = self._check_ws(
                ws_from_seed(self.G, seed, truncation_psi=self.params.truncation_psi, c=self._c))
            self.ws = self.ws_initial.clone()
            self._end_run()

    # ----- points and mask ------------------------------------------------------------
    def _check_point(self, p, what):
        try:
            x, y = float(p[0]), float(p[1])
        except (TypeError, ValueError, IndexError):
            raise DragEditError(f"{what} must be a point (x, y), got {p!r}") from None
        h, w = self.size
        if not (math.isfinite(x) and math.isfinite(y) and 0 <= x <= w - 1 and 0 <= y <= h - 1):
            raise DragEditError(f"{what} ({x:g}, {y:g}) is outside the {w}x{h} image: "
                                f"x must be in [0, {w - 1}] and y in [0, {h - 1}]")
        return (x, y)

    def _bump(self, pair):
        self._version += 1
        pair.version = self._version

    def add_pair(self, handle, target) -> int:
        handle = self._check_point(handle, "handle")
        target = self._check_point(target, "target")
        if math.dist(handle, target) < 1e-6:
            raise DragEditError(f"target {target} equals its handle: drag the target somewhere else")
        with self._lock:
            pair = Pair(handle, target)
            self._bump(pair)
            self.pairs.append(pair)
            return len(self.pairs) - 1

    def _pair(self, index) -> Pair:
        if not 0 <= index < len(self.pairs):
            raise DragEditError(f"there is no pair {index}: {len(self.pairs)} pair(s) exist")
        return self.pairs[index]

    def move_handle(self, index, point):
        point = self._check_point(point, "handle")
        with self._lock:
            pair = self._pair(index)
            pair.handle = point
            self._bump(pair)
            if self._run is not None:
                self._run["refs"].pop(id(pair), None)  # re-take its reference feature

    def move_target(self, index, point):
        point = self._check_point(point, "target")
        with self._lock:
            pair = self._pair(index)
            pair.target = point
            self._bump(pair)

    def remove_pair(self, index):
        with self._lock:
            self._pair(index)
            del self.pairs[index]

    def clear_pairs(self):
        with self._lock:
            self.pairs.clear()
            self.regions.clear()  # a region is its pairs

    def set_mask(self, mask, mode="flexible"):
        """mask: bool HxW of the painted region, or None. 'flexible': the painted region may change and
        everything else is held fixed; 'fixed': the painted region is held fixed."""
        if mode not in ("fixed", "flexible"):
            raise DragEditError(f"mask mode must be 'fixed' or 'flexible', got {mode!r}")
        with self._lock:
            if mask is None:
                self.mask = None
            else:
                m = np.asarray(mask)
                if m.shape != self.size:
                    raise DragEditError(f"mask is {m.shape[1] if m.ndim > 1 else '?'}x{m.shape[0]} "
                                        f"but the image is {self.size[1]}x{self.size[0]}")
                self.mask = m.astype(bool).copy()
            self.mask_mode = mode
            if self._run is not None:
                self._run["fixed"] = self._fixed_region()

    def _fixed_region(self):
        """Float [1, 1, H, W] with 1 where features must stay as they were, or None. Without a painted
        mask, the regions' dilated areas are flexible."""
        fixed = region_mod.fixed_pixels(self.mask, self.mask_mode, self.regions, self.size)
        if fixed is None:
            return None
        return torch.from_numpy(fixed.astype(np.float32))[None, None].to(self.device)

    # ----- regions ------------------------------------------------------------------
    def add_region(self, mask, affine=None, handles=None) -> int:
        """A region (bool HxW) and a `region.Affine` become handle -> target pairs, sampled on the
        current image unless handles are given; returns the region's index in self.regions."""
        feat = self.features() if handles is None else None
        region = region_mod.make_region(mask, affine, self.size, feat, handles)
        with self._lock:
            for hd, tg in region.pair_points():
                pair = Pair(self._check_point(hd, "region handle"), self._check_point(tg, "region target"))
                self._bump(pair)
                region.pairs.append(pair)
            self.pairs.extend(region.pairs)
            self.regions.append(region)
            self._refresh_fixed()
            return len(self.regions) - 1

    def set_region_affine(self, index, affine):
        """A new transform for region `index`: its targets move, its handles go on from where they are."""
        if not isinstance(affine, region_mod.Affine):
            raise DragEditError(f"a region's transform must be an Affine, got {type(affine).__name__}")
        with self._lock:
            region = self._region(index)
            targets = region.targets(affine)
            checked = [self._check_point(t, "region target") for t in targets]
            region.affine = affine
            for pair, tg in zip(region.pairs, checked):
                pair.target = tg
                self._bump(pair)
            self._refresh_fixed()

    def remove_region(self, index):
        with self._lock:
            region = self._region(index)
            self.pairs = [p for p in self.pairs if all(p is not q for q in region.pairs)]
            del self.regions[index]
            self._refresh_fixed()

    def _region(self, index):
        if not 0 <= index < len(self.regions):
            raise DragEditError(f"there is no region {index}: {len(self.regions)} region(s) exist")
        return self.regions[index]

    def _refresh_fixed(self):
        if self._run is not None:
            self._run["fixed"] = self._fixed_region()

    def _region_records(self) -> list:
        """Regions as (mask, affine, handles, pair indices) with the pairs still in self.pairs."""
        ids = {id(p): i for i, p in enumerate(self.pairs)}
        out = []
        for r in self.regions:
            kept = [j for j, p in enumerate(r.pairs) if id(p) in ids]
            if not kept:
                continue
            out.append((r.mask.copy(), r.affine, r.handles[kept].copy(), [ids[id(r.pairs[j])] for j in kept]))
        return out

    # ----- snapshot / restore / reset ------------------------------------------------
    def snapshot(self) -> dict:
        """Everything needed to undo a whole run (or an edit)."""
        with self._lock:
            return dict(ws=self.ws.clone(), ws_initial=self.ws_initial.clone(), seed=self.seed,
                        pairs=[(p.handle, p.target) for p in self.pairs],
                        mask=None if self.mask is None else self.mask.copy(), mask_mode=self.mask_mode,
                        params=copy.deepcopy(self.params), iteration=self.iteration,
                        regions=self._region_records())

    def restore(self, snap: dict):
        with self._lock:
            self.ws = torch.as_tensor(snap["ws"]).to(self.device, torch.float32).clone()
            self.ws_initial = torch.as_tensor(snap["ws_initial"]).to(self.device, torch.float32).clone()
            self.seed = snap["seed"]
            self.pairs = []
            for h, t in snap["pairs"]:
                pair = Pair(tuple(h), tuple(t))
                self._bump(pair)
                self.pairs.append(pair)
            self.mask = None if snap["mask"] is None else snap["mask"].copy()
            self.mask_mode = snap["mask_mode"]
            self.params = copy.deepcopy(snap["params"])
            self.iteration = snap["iteration"]
            self.regions = []
            for mask, affine, handles, indices in snap.get("regions", ()):
                region = region_mod.Region(mask=mask.copy(), affine=affine, handles=handles.copy(),
                                           pairs=[self.pairs[i] for i in indices])
                self.regions.append(region)
            self._end_run()

    def reset(self):
        """Back to the seed's image; points and mask stay."""
        with self._lock:
            self.ws = self.ws_initial.clone()
            self.iteration = 0
            self._end_run()

    def _end_run(self):
        self._run = None
        self.history = []

    def stop(self):
        """End the current run: the next step starts a new one (new optimiser and references)."""
        with self._lock:
            self._run = None

    # ----- rendering ----------------------------------------------------------------
    def _resolved(self):
        h = self.size[0]
        p = self.params
        blocks = self.G.synthesis.block_resolutions
        if p.feature_block is not None:
            if not 0 <= p.feature_block < len(blocks):
                raise DragEditError(f"feature_block must be in [0, {len(blocks) - 1}], got {p.feature_block}")
            fb = p.feature_block
        else:
            fb = self.G.synthesis.default_feature_block()
        r1 = p.r1 if p.r1 is not None else max(round(3 * h / 512), 2)
        r2 = p.r2 if p.r2 is not None else max(round(12 * h / 512), 4)
        stop = p.stop_distance if p.stop_distance is not None else min(max(2 * h / 512, 2.0), 2.0)
        return fb, r1, int(math.ceil(r2)), stop

    def _compose_ws(self, w):
        """Optimised first layers + fixed rest (DragGAN: ws = cat(w[:, :6], w0[:, 6:]))."""
        n = min(self.params.num_layers, self.G.num_ws)
        head = w.unsqueeze(1).repeat(1, n, 1) if w.ndim == 2 else w
        return torch.cat([head, self.ws[:, n:]], dim=1)

    def _forward(self, ws, fb, need_image=True, low_res=False):
        """Features of block fb (with graph) and the image (without graph)."""
        syn = self.G.synthesis
        blocks, block_ws = syn.blocks(), syn.block_ws(ws)
        xs, x = [], None
        for block, bw in zip(blocks[:fb + 1], block_ws[:fb + 1]):
            fused = self._fused_graph or need_image or not torch.is_grad_enabled()
            x = block.forward_features(x, bw, fused_modconv=fused)
            xs.append(x)
        img = None
        if need_image:
            with torch.no_grad():
                for block, bw, xb in zip(blocks, block_ws, xs):
                    img = block.forward_rgb(xb.detach(), img, bw.detach())
                if not low_res:
                    # Timing the tail needs host syncs on an accelerator, which would stall the queued
                    # step: there only every TAIL_TIMING_EVERY-th full frame is timed (on the CPU, all).
                    timed = fb + 1 < len(blocks) and (self.device.type == "cpu"
                                                      or self._full_frames % TAIL_TIMING_EVERY == 0)
                    self._full_frames += 1
                    if timed:
                        devices.synchronize(self.device)
                    t = time.perf_counter()
                    xd = x.detach()
                    for block, bw in zip(blocks[fb + 1:], block_ws[fb + 1:]):
                        xd, img = block(xd, img, bw.detach())
                    if timed:
                        devices.synchronize(self.device)
                        self._frame_policy.record("tail", (time.perf_counter() - t) * 1000, False)
                else:
                    self._frame_policy.record("tail", 0.0, True)
        return x, img

    def features(self, ws=None) -> torch.Tensor:
        """The tracking features [1, C, h, w] of the feature block for ws (default: the current
        latent), without a graph: what suggested points and part masks are computed from."""
        fb = self._resolved()[0]
        with self._lock:
            ws = self.ws if ws is None else self._check_ws(ws)
        with torch.no_grad():
            feat, _ = self._forward(ws, fb, need_image=False)
        return feat

    def render(self, ws=None) -> np.ndarray:
        """The image of the current latent (or of `ws`, e.g. the start latent), full resolution."""
        with torch.no_grad():
            img = self.G.synthesis(self.ws if ws is None else ws)
        return self._frame(img)

    def _frame(self, img):
        frame = to_uint8(img)
        if frame.shape[:2] != self.size:
            import cv2
            frame = cv2.resize(frame, (self.size[1], self.size[0]), interpolation=cv2.INTER_LINEAR)
        return frame

    # ----- the optimisation -------------------------------------------------------------
    def _start_run(self):
        p = self.params
        p.validate()
        if p.space == "w":
            w = self.ws[:, 0].clone()
        else:
            w = self.ws[:, :min(p.num_layers, self.G.num_ws)].clone()
        w.requires_grad_(True)
        self._run = dict(w=w, opt=torch.optim.Adam([w], lr=self.learning_rate()), feat0=None, refs={},
                         fixed=self._fixed_region(), last_good=self.ws.clone())
        self.history = []

    def step(self, frame=True) -> StepResult:
        """One iteration. frame=False skips rendering the image (the result's frame is None): a headless
        run that needs only the final image, or a window still painting the last frame, saves the
        no-grad render of every block."""
        with self._lock:
            if not self.pairs:
                raise DragEditError("no point pairs: click a handle and then its target before Start")
            if self._run is None:
                self._start_run()
            run = self._run
            pairs = [(p, p.handle, p.target, p.version) for p in self.pairs]
            fixed = run["fixed"]
            params = self.params
            w, opt = run["w"], run["opt"]
        fb, r1, r2, stop_d = self._resolved()
        t0 = time.perf_counter()
        ws = self._compose_ws(w)
        low = frame and self._use_low_res(fb)
        feat, img = self._forward(ws, fb, need_image=frame, low_res=low)
        feat = feat.float()  # mixed precision: tracking and the loss in fp32 (a no-op in fp32)
        t_fwd = time.perf_counter()
        if run["feat0"] is None:
            run["feat0"] = feat.detach()
        handles_t = self._track(run, pairs, feat.detach(), params.tracker, r2)
        t_track = time.perf_counter()
        targets = [t for _, _, t, _ in pairs]
        targets_t = devices.upload(targets, self.device).reshape(-1, 2)

        def loss_of():
            loss = self._motion_loss(feat, handles_t, targets_t, r1, params.near, params.pair_weight,
                                     self._active(run, pairs))
            if run.get("held"):
                loss = loss + self._hold_loss(feat, run["held"].values())
            if fixed is not None:
                m = run["fixed"]
                if m.shape[-2:] != feat.shape[-2:]:  # fraction of each feature cell that is fixed
                    m = run["fixed"] = F.interpolate(m, size=feat.shape[-2:], mode="area")
                loss = loss + params.lambda_mask * F.l1_loss(feat * m, run["feat0"] * m)
            return loss

        def backward(loss):
            opt.zero_grad(set_to_none=True)
            (loss * scale if scale != 1 else loss).backward()

        scale = devices.loss_scale(self.G)
        grad_ok = True
        if not self._defer_readback:
            # reading back is free here: decide first, and compute the loss only when it is used
            handles = [tuple(p) for p in handles_t.tolist()]
            distances, reached, stalled = self._progress(run, pairs, handles, targets, stop_d)
            self._update_held(run, pairs, handles, distances, feat, r1)
            loss = loss_of() if not (reached or stalled) else torch.zeros((), device=self.device)
            loss_value = float(loss.detach())
            go = not (reached or stalled) and loss.requires_grad and math.isfinite(loss_value)
            if go:
                backward(loss)
            frame = self._frame(img) if img is not None else None
        else:
            # queue the loss and its backward, then cross to the host once, with the frame
            loss = loss_of()
            backward(loss)
            small = torch.cat([handles_t.reshape(-1), loss.detach().reshape(1),
                               torch.isfinite(w.grad).all().to(torch.float32).reshape(1)])
            host = torch.empty(small.shape, pin_memory=self.device.type == "cuda")
            host.copy_(small, non_blocking=True)
            frame = self._frame(img) if img is not None else None  # the step's one wait for the device
            if self.device.type != "cuda" or frame is None:  # make sure the non-blocking copy has landed
                devices.synchronize(self.device)
            vals = host.tolist()
            handles = [(vals[2 * i], vals[2 * i + 1]) for i in range(len(pairs))]
            loss_value, grad_ok = vals[-2], vals[-1] == 1.0
            distances, reached, stalled = self._progress(run, pairs, handles, targets, stop_d)
            # else the loss has no gradient
            moving = (any(d > 1 for d in distances) or fixed is not None or bool(run.get("held"))
                      or params.near == "spring")
            self._update_held(run, pairs, handles, distances, feat, r1)  # from the next step on (read back here)
            go = not (reached or stalled) and moving
            if not go:
                loss_value = 0.0
        message = None
        if not math.isfinite(loss_value) or (go and not grad_ok):
            with self._lock:
                self.ws = run["last_good"].clone()
                self._run = None
            return self._result(self.render(), handles, targets, distances, loss_value, True, False,
                                dict(total_ms=(time.perf_counter() - t0) * 1000),
                                "the loss became non-finite: restored the last good latent and stopped")
        if go:
            if scale != 1:
                w.grad.div_(scale)
            if params.reset_jump is not None and any(
                    math.dist(hd, h) > params.reset_jump for (_, h, _, _), hd in zip(pairs, handles)):
                opt.state.clear()  # the tracker jumped: the moments point where the old position needed
                run["adam_resets"] = run.get("adam_resets", 0) + 1
            opt.step()
        t_step = time.perf_counter()

        with self._lock:
            # write back tracked handles unless the user moved that pair meanwhile
            for (pair, _, _, version), hd in zip(pairs, handles):
                if pair.version == version and pair in self.pairs:
                    pair.handle = hd
            if self._run is run:
                with torch.no_grad():
                    new_ws = self._compose_ws(w.detach())
                # on the CPU check the latent itself; on a device the finite gradient vouches for it
                if self._defer_readback or torch.isfinite(new_ws).all():
                    run["last_good"] = self.ws = new_ws.clone()
                self.iteration += 1
                self.history.append(dict(iteration=self.iteration, ws=ws.detach().clone(),
                                         handles=list(handles)))
        timings = dict(forward_ms=(t_fwd - t0) * 1000, track_ms=(t_track - t_fwd) * 1000,
                       backward_ms=(t_step - t_track) * 1000, total_ms=(t_step - t0) * 1000)
        res = self._result(frame, handles, targets, distances, loss_value, reached or stalled, reached, timings,
                           message, low_res=low)
        res.stalled = stalled
        return res

    def _track(self, run, pairs, fdet, tracker, r2):
        """[n, 2] handle positions on the device: a pair seen for the first time keeps its point
        and has its reference taken; the others are tracked from where they were."""
        start = devices.upload([h for _, h, _, _ in pairs], self.device).reshape(-1, 2)
        with torch.no_grad():
            new = [i for i, (pair, *_) in enumerate(pairs) if id(pair) not in run["refs"]]
            if new:
                refs = tracking.references(fdet, start[new[0]:new[0] + 1] if len(new) == 1
                                           else torch.stack([start[i] for i in new]), self.size)
                for j, i in enumerate(new):
                    run["refs"][id(pairs[i][0])] = refs[j]
            moving = [i for i in range(len(pairs)) if i not in set(new)]
            if not moving:
                return start
            refs = torch.stack([run["refs"][id(pairs[i][0])] for i in moving])
            prev = start if len(moving) == len(pairs) else torch.stack([start[i] for i in moving])
            found = tracking.track_positions(tracker, fdet, refs, prev, r2, self.size)
            if len(moving) == len(pairs):
                return found
            rows = list(start.unbind(0))
            for j, i in enumerate(moving):
                rows[i] = found[j]
            return torch.stack(rows)

    def _progress(self, run, pairs, handles, targets, stop_d):
        """Host-side bookkeeping of a step: distances, reached, stalled."""
        distances = [math.dist(hd, tg) for hd, tg in zip(handles, targets)]
        reached = all(d <= stop_d for d in distances)
        stalled = not reached and self._stalled(run, pairs, distances)
        return distances, reached, stalled

    STALL_PROGRESS = 0.05  # px: a smaller gain of the mean handle distance is no progress

    def _stalled(self, run, pairs, distances):
        """True once the mean handle-target distance has not improved by STALL_PROGRESS px for
        `stall_patience` iterations. A user's point edit starts the count afresh."""
        patience = self.params.stall_patience
        if not patience:
            return False
        versions = tuple(v for *_, v in pairs)
        mean = sum(distances) / len(distances)
        if run.get("stall_versions") != versions:
            run.update(stall_versions=versions, stall_best=mean, stall_since=0)
        elif mean < run["stall_best"] - self.STALL_PROGRESS:
            run.update(stall_best=mean, stall_since=0)
        else:
            run["stall_since"] += 1
        return run["stall_since"] >= patience

    def frames_low_res(self) -> bool:
        """Whether the next frame of a run would be shown at low resolution (the feature block's RGB)."""
        return self._use_low_res(self._resolved()[0])

    def _use_low_res(self, fb):
        mode = self.params.preview
        if mode == "full" or fb == len(self.G.synthesis.block_resolutions) - 1:
            return False
        if not getattr(self.G.synthesis, "supports_low_res_preview", True):
            return False  # StyleGAN3: no intermediate RGB, the image needs every layer
        if mode == "low":
            return True
        return self._frame_policy.low_res("tail", self.G.img_resolution)

    def _active(self, run, pairs):
        """[n] float weights of the pairs' motion terms: 0 for a held pair (see `_update_held`), or None."""
        held = run.get("held")
        if not held:
            return None
        return devices.upload([0.0 if id(p) in held else 1.0 for p, *_ in pairs], self.device).reshape(-1)

    def _update_held(self, run, pairs, handles, distances, feat, r1):
        """params.hold: a pair within `hold` px of its target is held: its motion term stops and the
        features on the disc of radius r1 around its handle are kept as they were when it arrived (a
        snapshot of this step's); it is let go once it is more than 1 px farther than `hold` again, or
        when the user moves one of its points. Its handle goes on being tracked."""
        hold = self.params.hold
        if hold is None:
            run.pop("held", None)
            return
        held = run.setdefault("held", {})
        live = {id(p) for p, *_ in pairs}
        for key in [k for k in held if k not in live]:
            del held[key]
        take = []
        for (pair, _, _, version), hd, d in zip(pairs, handles, distances):
            entry = held.get(id(pair))
            if entry is not None and (entry["version"] != version or d > hold + 1):
                del held[id(pair)]
                entry = None
            if entry is None and d <= hold:
                take.append((id(pair), version, hd))
        if not take:
            return
        px, py, weight = self._disc(devices.upload([hd for *_, hd in take], self.device).reshape(-1, 2), r1)
        with torch.no_grad():
            snap = tracking.sample_points(feat.detach(), px, py, self.size)      # [C, m, K]
        for j, (key, version, _) in enumerate(take):
            held[key] = dict(version=version, px=px[j], py=py[j], weight=weight[j], snap=snap[:, j])

    def _disc(self, points, r1):
        """Pixels within r1 of each point ([n, 2] tensor) on a fixed-size window: (px, py, weight) [n, K],
        weight 1 where a pixel is within r1 and inside the image (DragGAN's disc around a handle)."""
        h, w = self.size
        rr = int(math.ceil(r1))
        offs = torch.arange(-rr, rr + 1, device=points.device, dtype=torch.float32)
        oy, ox = torch.meshgrid(offs, offs, indexing="ij")
        centre = points.round()                                           # half to even, as Python's round
        px = ox.reshape(1, -1) + centre[:, :1]                            # [n, K]
        py = oy.reshape(1, -1) + centre[:, 1:]
        keep = (((px - points[:, :1]).square() + (py - points[:, 1:]).square() < r1 * r1)
                & (px >= 0) & (px < w) & (py >= 0) & (py < h))
        return px, py, keep.to(torch.float32)

    def _hold_loss(self, feat, entries):
        """Sum over held pairs of the L1 between the features on their arrival disc and the snapshot."""
        entries = list(entries)
        px = torch.stack([e["px"] for e in entries])
        py = torch.stack([e["py"] for e in entries])
        weight = torch.stack([e["weight"] for e in entries]).to(feat.dtype)
        snap = torch.stack([e["snap"] for e in entries], dim=1)
        per_pixel = (tracking.sample_points(feat, px, py, self.size) - snap).abs().mean(dim=0)   # [m, K]
        return ((per_pixel * weight).sum(dim=1) / weight.sum(dim=1).clamp_min(1)).sum()

    def _motion_loss(self, feat, handles, targets, r1, near="off", pair_weight="equal", active=None):
        """Sum over pairs of L1(F(q).detach(), F(q + d)) for pixels q within r1 of the handle,
        F sampled at image pixels from the feature map's own resolution. handles, targets:
        [n, 2] tensors on the feature map's device (or lists of points). All pairs share one feature lookup of a
        fixed-size window per pair, weighted by which pixels count, so nothing is read back.
        near 'off': a pair within 1 px of its target adds nothing (DragGAN); 'spring': d is the rest of
        the way (under 1 px) and the pair's term is weighted by its distance. pair_weight 'distance': each
        term times the pair's distance over the mean distance. active: [n] weights (0: a held pair)."""
        handles = tracking._as_points(handles, feat.device)
        targets = tracking._as_points(targets, feat.device)
        d = targets - handles                                             # [n, 2]
        norm = d.norm(dim=1, keepdim=True)
        px, py, weight = self._disc(handles, r1)
        if near == "spring":
            step = d / norm.clamp_min(1.0)
            pair_w = norm.clamp(max=1.0)
            weight = weight * (norm > 1e-3)
        else:
            step = d / norm.clamp_min(1e-12)
            pair_w = torch.ones_like(norm)
            weight = weight * (norm > 1)
        if pair_weight == "distance":
            pair_w = pair_w * norm / norm.mean().clamp_min(1e-6)
        if active is not None:
            pair_w = pair_w * active.reshape(-1, 1)
        weight = weight.to(feat.dtype)
        src = tracking.sample_points(feat, px, py, self.size).detach()   # [C, n, K]
        moved = tracking.sample_points(feat, px + step[:, :1], py + step[:, 1:], self.size)
        per_pixel = (moved - src).abs().mean(dim=0)                        # [n, K]
        count = weight.sum(dim=1)
        per_pair = (per_pixel * weight).sum(dim=1) / count.clamp_min(1)    # each pair's F.l1_loss
        if near == "off" and pair_weight == "equal" and active is None:
            return per_pair.sum()                                          # DragGAN's sum, as it was
        return (per_pair * pair_w.reshape(-1).to(per_pair.dtype)).sum()

    def _result(self, frame, handles, targets, distances, loss, done, reached, timings, message,
                low_res=False):
        res = StepResult(frame=frame, handles=[tuple(map(float, p)) for p in handles],
                         targets=[tuple(map(float, t)) for t in targets], distances=distances,
                         loss=loss, iteration=self.iteration, done=done, reached=reached,
                         timings=timings, message=message, low_res=low_res)
        if self.history:
            self.history[-1]["frame"] = frame
        return res

    def run(self, max_steps=300, should_stop=None, frames=True):
        """Yield StepResults until every handle is within the stop distance, max_steps, or should_stop().
        The last result of a finished run carries a full-resolution frame; a caller that stops early
        calls render() for one. frames=False: no frame for the results before the last (see step)."""
        last = None
        for i in range(max_steps):
            if should_stop is not None and should_stop():
                break
            last = self.step() if frames else self.step(frame=False)
            if last.done or i == max_steps - 1:
                if not last.done or last.low_res or last.frame is None:
                    # the budget ran out after an optimiser step: show the latent the run ends on
                    last.frame, last.low_res = self.render(), False
                    if self.history:
                        self.history[-1].update(frame=last.frame, ws=self.ws.clone())
                last.done = True
                yield last
                return
            yield last

    def learning_rate(self) -> float:
        lr = self.params.lr
        return float(lr) if lr is not None else default_lr_for(self.size[0], len(self.pairs))

    def options(self) -> dict:
        fb, r1, r2, stop = self._resolved()
        d = asdict(self.params)
        d.update(feature_block=fb, feature_block_resolution=self.G.synthesis.block_resolutions[fb],
                 r1=r1, r2=r2, stop_distance=stop, lr=self.learning_rate())
        return d
