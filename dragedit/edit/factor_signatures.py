"""Landmark signatures of the named factors: one number per factor, read off 25 face landmarks.

Why: "the Yaw slider turns the head" must be measurable. Each signature grows with its factor in
the renderer (`dragedit.synth.faces`) and is built to ignore the others: positions are taken in
the head's own frame (the eye line's tilt undone about the renderer's fixed pivot), widths are
divided by the face width at the eyes, and each feature is measured against the part it hangs
from (brows from the eye tops, the mouth's centre line from the lips' known ratio, the mouth's
height as a share of the nose-to-chin distance). The landmarks
come from the shipped detector (`models/landmarks.pt`), so the same numbers can be read from a
generator's images and from the renderer's exact landmarks.
"""
from __future__ import annotations

import numpy as np

from ..synth import faces

_I = faces.LANDMARK_INDEX
PIVOT_PX = (faces.PIVOT[0] - 0.5, faces.PIVOT[1] - 0.5)    # the renderer's roll pivot, in pixels at 128 px
# the upper lip sits mhu above the mouth's centre line, the lower one mhl below (mhu / (mhu + mhl))
_UPPER_LIP_SHARE = 2.8 / (2.8 + 7.0)

SIGNATURES = (
    "yaw", "roll", "head_width", "head_height", "jaw_width",
    "eye_spacing", "eye_height", "eye_size", "eye_openness", "gaze_x", "gaze_y",
    "brow_height", "brow_angle", "nose_length",
    "mouth_width", "mouth_openness", "smile", "mouth_height",
)
UNITS = dict(roll="rad", head_width="px", head_height="px", eye_height="px", brow_height="px",
             nose_length="px", mouth_openness="px", smile="px")


def _p(lm, name):
    return lm[:, _I[name]]


def signatures(lm, size=128) -> np.ndarray:
    """[N, len(SIGNATURES)] signatures of landmarks [N, 25, 2] (or [25, 2] -> [len(SIGNATURES)])."""
    lm = np.asarray(lm, np.float64)
    single = lm.ndim == 2
    if single:
        lm = lm[None]
    if lm.ndim != 3 or lm.shape[1:] != (faces.NUM_LANDMARKS, 2):
        raise ValueError(f"landmarks must be [N, {faces.NUM_LANDMARKS}, 2], got {list(lm.shape)}")
    lm = lm * (128.0 / size)
    eye_l = 0.5 * (_p(lm, "l_eye_outer") + _p(lm, "l_eye_inner"))
    eye_r = 0.5 * (_p(lm, "r_eye_outer") + _p(lm, "r_eye_inner"))
    d = eye_r - eye_l
    roll = np.arctan2(d[:, 1], d[:, 0])
    # undo the roll about the pivot: every position below is in the head's frame
    c, s = np.cos(roll), np.sin(roll)
    q = lm - np.asarray(PIVOT_PX)
    x = c[:, None] * q[..., 0] + s[:, None] * q[..., 1]
    y = -s[:, None] * q[..., 0] + c[:, None] * q[..., 1]
    P = lambda n: (x[:, _I[n]], y[:, _I[n]])  # noqa: E731
    ex_l, ey_l = 0.5 * (x[:, _I["l_eye_outer"]] + x[:, _I["l_eye_inner"]]), 0.5 * (y[:, _I["l_eye_outer"]]
                                                                                     + y[:, _I["l_eye_inner"]])
    ex_r, ey_r = 0.5 * (x[:, _I["r_eye_outer"]] + x[:, _I["r_eye_inner"]]), 0.5 * (y[:, _I["r_eye_outer"]]
                                                                                     + y[:, _I["r_eye_inner"]])
    cheek_l, cheek_r = P("l_cheek"), P("r_cheek")
    face_w = np.maximum(cheek_r[0] - cheek_l[0], 1.0)
    mid_x = 0.5 * (cheek_l[0] + cheek_r[0])
    eye_w = 0.5 * ((P("l_eye_inner")[0] - P("l_eye_outer")[0]) + (P("r_eye_outer")[0] - P("r_eye_inner")[0]))
    eye_w = np.maximum(eye_w, 0.5)
    eye_y = 0.5 * (ey_l + ey_r)
    eye_h = 0.5 * ((P("l_eye_bottom")[1] - P("l_eye_top")[1]) + (P("r_eye_bottom")[1] - P("r_eye_top")[1]))
    nose_x, nose_y = P("nose_tip")
    gaze_x = 0.5 * ((P("l_pupil")[0] - ex_l) + (P("r_pupil")[0] - ex_r)) / eye_w
    gaze_y = 0.5 * ((P("l_pupil")[1] - ey_l) + (P("r_pupil")[1] - ey_r)) / np.maximum(eye_h, 0.5)
    brow_l = 0.5 * (P("l_brow_inner")[1] + P("l_brow_outer")[1])
    brow_r = 0.5 * (P("r_brow_inner")[1] + P("r_brow_outer")[1])
    brow_h = 0.5 * ((P("l_eye_top")[1] - brow_l) + (P("r_eye_top")[1] - brow_r))
    brow_a = 0.5 * ((P("l_brow_inner")[1] - P("l_brow_outer")[1]) + (P("r_brow_inner")[1] - P("r_brow_outer")[1]))
    up, lo = P("upper_lip")[1], P("lower_lip")[1]
    corners_y = 0.5 * (P("mouth_left")[1] + P("mouth_right")[1])
    centre_line = up + _UPPER_LIP_SHARE * (lo - up)
    out = dict(
        yaw=(0.5 * (ex_l + ex_r) + nose_x) / 2 - mid_x,
        roll=roll,
        head_width=face_w,
        head_height=P("chin")[1],
        jaw_width=(P("r_jaw")[0] - P("l_jaw")[0]) / face_w,
        eye_spacing=(ex_r - ex_l) / face_w,
        eye_height=eye_y,
        eye_size=eye_w / face_w,
        eye_openness=eye_h / eye_w,
        gaze_x=gaze_x,
        gaze_y=gaze_y,
        brow_height=brow_h,
        brow_angle=brow_a / eye_w,
        nose_length=nose_y - eye_y,
        mouth_width=(P("mouth_right")[0] - P("mouth_left")[0]) / face_w,
        mouth_openness=lo - up,
        smile=centre_line - corners_y,
        mouth_height=(corners_y - nose_y) / np.maximum(P("chin")[1] - nose_y, 1.0),
    )
    sig = np.stack([out[n] for n in SIGNATURES], axis=1)
    return sig[0] if single else sig


_SPREAD = {}


def renderer_spread(n=1000, seed=7) -> np.ndarray:
    """[len(SIGNATURES)] standard deviation of each signature over n random rendered faces (exact
    landmarks): the unit in which changes of different signatures are compared."""
    if (n, seed) not in _SPREAD:
        f = faces.random_factors(n, seed)
        _SPREAD[(n, seed)] = signatures(faces.landmarks_of(f)).std(axis=0)
    return _SPREAD[(n, seed)]
