"""Write the frames of an edit: PNG sequence, GIF (Pillow) or MP4 (OpenCV), optionally with points.

Every writer checks its output decodes to the expected number of frames'
worth of data only in tests; here we make the failure modes clear: an
unknown extension or an unwritable folder is a DragEditError naming it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..errors import DragEditError

HANDLE_COLOUR = (230, 40, 40)
TARGET_COLOUR = (40, 90, 240)


def draw_points(frame: np.ndarray, handles, targets, scale: int | None = None) -> np.ndarray:
    """Frame with each handle (red), target (blue) and an arrow between them, upscaled for legibility."""
    h, w = frame.shape[:2]
    scale = scale or max(1, 512 // max(h, w))
    img = Image.fromarray(frame).resize((w * scale, h * scale), Image.NEAREST if scale > 1 else Image.BILINEAR)
    draw = ImageDraw.Draw(img)
    rad = max(3, scale * 2)

    def px(p):
        return ((p[0] + 0.5) * scale, (p[1] + 0.5) * scale)

    for hd, tg in zip(handles, targets):
        a, b = px(hd), px(tg)
        draw.line([a, b], fill=(255, 255, 255), width=max(1, scale // 2))
        vx, vy = b[0] - a[0], b[1] - a[1]
        n = max((vx * vx + vy * vy) ** 0.5, 1e-6)
        ux, uy = vx / n, vy / n
        tip = (b[0] - ux * rad, b[1] - uy * rad)
        left = (tip[0] - ux * rad * 1.5 - uy * rad, tip[1] - uy * rad * 1.5 + ux * rad)
        right = (tip[0] - ux * rad * 1.5 + uy * rad, tip[1] - uy * rad * 1.5 - ux * rad)
        if n > 3 * rad:
            draw.polygon([tip, left, right], fill=(255, 255, 255))
        for centre, colour in ((a, HANDLE_COLOUR), (b, TARGET_COLOUR)):
            draw.ellipse([centre[0] - rad, centre[1] - rad, centre[0] + rad, centre[1] + rad],
                         fill=colour, outline=(255, 255, 255))
    return np.asarray(img)


def _prepare(path) -> Path:
    path = Path(path)
    parent = path.parent if path.suffix else path
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DragEditError(f"cannot create folder {parent}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise DragEditError(f"folder {parent} is not writable")
    return path


def save_image(frame: np.ndarray, path):
    path = _prepare(path)
    try:
        Image.fromarray(frame).save(path)
    except (ValueError, KeyError):
        raise DragEditError(f"cannot save {path}: unknown image extension (use .png or .jpg)") from None
    except OSError as exc:
        raise DragEditError(f"cannot write {path}: {exc}") from None
    return path


def save_png_sequence(frames, folder, prefix="frame") -> list:
    folder = _prepare(Path(folder))
    paths = []
    for i, f in enumerate(frames):
        p = folder / f"{prefix}_{i:04d}.png"
        Image.fromarray(f).save(p)
        paths.append(p)
    return paths


def save_gif(frames, path, fps=10):
    path = _prepare(path)
    if not frames:
        raise DragEditError("there are no frames to export: run an edit first")
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=max(1, int(1000 / fps)),
                   loop=0, optimize=False)
    return path


def save_mp4(frames, path, fps=10):
    import cv2
    path = _prepare(path)
    if not frames:
        raise DragEditError("there are no frames to export: run an edit first")
    h, w = frames[0].shape[:2]
    # Even sizes keep every player happy.
    w2, h2 = w + (w % 2), h + (h % 2)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w2, h2))
    if not writer.isOpened():
        raise DragEditError(f"cannot open a video writer for {path} (OpenCV's mp4v codec)")
    try:
        for f in frames:
            if f.shape[:2] != (h2, w2):
                f = np.pad(f, ((0, h2 - f.shape[0]), (0, w2 - f.shape[1]), (0, 0)), mode="edge")
            writer.write(cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path


def save_video(frames, path, fps=10):
    """GIF or MP4 by the file's extension."""
    ext = Path(path).suffix.lower()
    if ext == ".gif":
        return save_gif(frames, path, fps)
    if ext in (".mp4", ".m4v", ".mov"):
        return save_mp4(frames, path, fps)
    raise DragEditError(f"cannot write video {path}: use a .gif or .mp4 file name")


def image_grid(frames, cols=4) -> np.ndarray:
    """Tile equally sized uint8 HxWx3 frames row by row (a contact sheet of seeds)."""
    frames = list(frames)
    if not frames:
        raise DragEditError("no frames to put in a grid")
    h, w = frames[0].shape[:2]
    rows = (len(frames) + cols - 1) // cols
    grid = np.zeros((rows * h, cols * w, 3), np.uint8)
    for i, f in enumerate(frames):
        r, c = divmod(i, cols)
        grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = f
    return grid
