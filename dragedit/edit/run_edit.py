"""One drag edit run to its end without a window, summed up in a report (what `dragedit edit` writes
as JSON): whether the handles reached their targets, where they ended, and the time per iteration."""
from __future__ import annotations

from ..errors import DragEditError
from .drag import DragParams, DragSession


def run_edit(G, seed, pairs, steps=200, params: DragParams | None = None, mask=None, mask_mode="flexible",
             keep_frames=False, progress=None, ws=None, device="cpu", precision="auto", regions=()):
    """Run one edit to the end. Returns (report dict, frames list, session, last StepResult).
    regions: (mask, region.Affine) each; the mask may be a function of the session (a part selection)."""
    session = DragSession(G, seed=seed, ws=ws, params=params, device=device, precision=precision)
    for h, t in pairs:
        session.add_pair(h, t)
    for source, affine in regions:
        session.add_region(source(session) if callable(source) else source, affine)
    if mask is not None:
        session.set_mask(mask, mask_mode)
    start_handles = [p.handle for p in session.pairs]
    frames, times, last = [], [], None
    for res in session.run(steps):
        last = res
        times.append(res.timings.get("total_ms", 0.0))
        if keep_frames:
            frames.append(res.frame)
        if progress:
            progress(res)
    if last is None:
        raise DragEditError("the edit ran no iteration: use --steps 1 or more")
    report = dict(reached=bool(last.reached), stalled=bool(last.stalled), iterations=last.iteration,
                  handles=last.handles,
                  start_handles=[list(h) for h in start_handles], targets=last.targets,
                  final_distance=last.distances, iteration_ms=times, message=last.message,
                  seed=seed, device=str(session.device), precision=session.precision,
                  options=dict(session.options(), steps=steps, mask_mode=mask_mode if mask is not None else None),
                  regions=[dict(affine=r.affine.to_dict(), centre=list(r.centre), pixels=int(r.mask.sum()),
                                handles=[list(map(float, h)) for h in r.handles]) for r in session.regions])
    return report, frames, session, last
