"""Write the frames of an edit: PNG sequence, GIF (Pillow) or MP4 (H.264 via imageio-ffmpeg, else OpenCV's
mp4v), optionally scaled and with points. Writers report progress, can be cancelled, and write to a
hidden part file that replaces the target only when complete.

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
MARK_WHITE = (255, 255, 255)
KEEP_COLOURS = (HANDLE_COLOUR, TARGET_COLOUR, MARK_WHITE)


def scale_frame(frame: np.ndarray, scale: int = 1, smooth: bool = False) -> np.ndarray:
    """Frame enlarged by an integer factor: nearest keeps pixels crisp, smooth (Lanczos) softens them."""
    scale = int(scale)
    if scale < 1:
        raise DragEditError(f"scale {scale} is not a positive whole number")
    if scale == 1:
        return frame
    h, w = frame.shape[:2]
    img = Image.fromarray(frame).resize((w * scale, h * scale), Image.LANCZOS if smooth else Image.NEAREST)
    return np.asarray(img)


def overlay_scale(size: int) -> int:
    """The factor that makes a small frame legible (about 512 px) when points are drawn on it."""
    return max(1, 512 // max(int(size), 1))


def draw_points(frame: np.ndarray, handles, targets, scale: int | None = None, smooth: bool = False) -> np.ndarray:
    """Frame with each handle (red), target (blue) and an arrow between them, upscaled for legibility.
    Markers use the exact colours HANDLE_COLOUR, TARGET_COLOUR and white (no antialiasing), so a
    palette writer can keep them."""
    h, w = frame.shape[:2]
    scale = scale or overlay_scale(max(h, w))
    if scale > 1:
        img = Image.fromarray(scale_frame(frame, scale, smooth))
    else:
        img = Image.fromarray(frame).copy()
    draw = ImageDraw.Draw(img)
    rad = max(3, scale * 2)

    def px(p):
        return ((p[0] + 0.5) * scale, (p[1] + 0.5) * scale)

    for hd, tg in zip(handles, targets):
        a, b = px(hd), px(tg)
        draw.line([a, b], fill=MARK_WHITE, width=max(1, scale // 2))
        vx, vy = b[0] - a[0], b[1] - a[1]
        n = max((vx * vx + vy * vy) ** 0.5, 1e-6)
        ux, uy = vx / n, vy / n
        tip = (b[0] - ux * rad, b[1] - uy * rad)
        left = (tip[0] - ux * rad * 1.5 - uy * rad, tip[1] - uy * rad * 1.5 + ux * rad)
        right = (tip[0] - ux * rad * 1.5 + uy * rad, tip[1] - uy * rad * 1.5 - ux * rad)
        if n > 3 * rad:
            draw.polygon([tip, left, right], fill=MARK_WHITE)
        for centre, colour in ((a, HANDLE_COLOUR), (b, TARGET_COLOUR)):
            draw.ellipse([centre[0] - rad, centre[1] - rad, centre[0] + rad, centre[1] + rad],
                         fill=colour, outline=MARK_WHITE)
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


class ExportCancelled(Exception):
    """Raised out of a writer when its progress callback asks to stop; nothing is left on disk."""


def _frames_with_progress(frames, progress, total):
    """Yield frames, calling progress(done, total) after each; progress returning False cancels."""
    for i, f in enumerate(frames):
        yield f
        if progress is not None and progress(i + 1, total) is False:
            raise ExportCancelled()


def _count(frames):
    try:
        return len(frames)
    except TypeError:
        return 0


def _part_path(path: Path) -> Path:
    """A hidden sibling to write into; renamed over `path` only when the writer finished."""
    return path.with_name(f".{path.stem}.part{os.getpid()}{path.suffix}")


def _atomic(write, path: Path):
    part = _part_path(path)
    try:
        write(part)
        os.replace(part, path)
    except BaseException:
        try:
            part.unlink()
        except OSError:
            pass
        raise
    return path


def save_png_sequence(frames, folder, prefix="frame", progress=None) -> list:
    """Numbered PNG files; cancelled or failed, the files of this export are removed again."""
    folder = _prepare(Path(folder))
    paths = []
    try:
        for i, f in enumerate(_frames_with_progress(frames, progress, _count(frames))):
            p = folder / f"{prefix}_{i:04d}.png"
            _atomic(lambda part, f=f: Image.fromarray(f).save(part, format="PNG"), p)
            paths.append(p)
    except BaseException:
        for p in paths:
            try:
                p.unlink()
            except OSError:
                pass
        raise
    return paths


def gif_frame(frame: np.ndarray, keep=KEEP_COLOURS) -> Image.Image:
    """One GIF frame with its own adaptive palette (no dithering: no speckle, smaller files). The colours
    in `keep` (the markers) get palette entries of their own, so red and blue stay red and blue."""
    rgb = np.ascontiguousarray(frame[..., :3])
    q = Image.fromarray(rgb).quantize(colors=256 - len(keep), method=Image.Quantize.FASTOCTREE,
                                      dither=Image.Dither.NONE)
    idx = np.array(q, dtype=np.uint8)
    pal = (q.getpalette() or [])[:3 * (256 - len(keep))]
    used = len(pal) // 3
    for k, colour in enumerate(keep):
        exact = np.all(rgb == np.asarray(colour, np.uint8), axis=-1)
        if exact.any():
            idx[exact] = used + k
        pal += list(colour)
    pal += [0] * (768 - len(pal))
    out = Image.fromarray(idx, mode="P")
    out.putpalette(pal)
    return out


def save_gif(frames, path, fps=10, progress=None):
    path = _prepare(path)
    if _count(frames) == 0 and isinstance(frames, (list, tuple)):
        raise DragEditError("there are no frames to export: run an edit first")
    images = (gif_frame(f) for f in _frames_with_progress(frames, progress, _count(frames)))
    first = next(images, None)
    if first is None:
        raise DragEditError("there are no frames to export: run an edit first")

    def write(part):
        first.save(part, format="GIF", save_all=True, append_images=images, duration=max(1, int(1000 / fps)),
                   loop=0, optimize=False, disposal=1)
    return _atomic(write, path)


def h264_available() -> bool:
    """True when imageio-ffmpeg (which ships its own ffmpeg with libx264) is installed."""
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def _even(f, h2, w2):
    if f.shape[:2] != (h2, w2):
        f = np.pad(f, ((0, h2 - f.shape[0]), (0, w2 - f.shape[1]), (0, 0)), mode="edge")
    return np.ascontiguousarray(f[..., :3])


def _write_h264(frames, part, fps, first):
    import imageio_ffmpeg
    h, w = first.shape[:2]
    w2, h2 = w + (w % 2), h + (h % 2)   # yuv420p needs even sizes
    gen = imageio_ffmpeg.write_frames(str(part), (w2, h2), fps=float(fps), codec="libx264", pix_fmt_in="rgb24",
                                      pix_fmt_out="yuv420p", quality=8, macro_block_size=2,
                                      output_params=["-movflags", "+faststart"], ffmpeg_log_level="error")
    gen.send(None)
    try:
        for f in frames:
            gen.send(_even(f, h2, w2).tobytes())
    finally:
        gen.close()


def _write_mp4v(frames, part, fps, first):
    import cv2
    h, w = first.shape[:2]
    w2, h2 = w + (w % 2), h + (h % 2)
    writer = cv2.VideoWriter(str(part), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w2, h2))
    if not writer.isOpened():
        raise DragEditError(f"cannot open a video writer for {part} (OpenCV's mp4v codec)")
    try:
        for f in frames:
            writer.write(cv2.cvtColor(_even(f, h2, w2), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def save_mp4(frames, path, fps=10, progress=None, codec=None):
    """MP4 video: H.264 in yuv420p (plays in browsers) through imageio-ffmpeg when it is installed,
    else OpenCV's MPEG-4 Part 2 ('mp4v'). codec: None (best available), 'h264' or 'mp4v'."""
    path = _prepare(path)
    codec = codec or ("h264" if h264_available() else "mp4v")
    if codec == "h264" and not h264_available():
        raise DragEditError("H.264 needs the imageio-ffmpeg package (pip install imageio-ffmpeg)")
    if codec not in ("h264", "mp4v"):
        raise DragEditError(f"unknown video codec {codec!r}: use 'h264' or 'mp4v'")
    it = iter(_frames_with_progress(frames, progress, _count(frames)))
    first = next(it, None)
    if first is None:
        raise DragEditError("there are no frames to export: run an edit first")

    def all_frames():
        yield first
        yield from it
    write = _write_h264 if codec == "h264" else _write_mp4v
    return _atomic(lambda part: write(all_frames(), part, fps, first), path)


def save_video(frames, path, fps=10, progress=None):
    """GIF or MP4 by the file's extension."""
    ext = Path(path).suffix.lower()
    if ext == ".gif":
        return save_gif(frames, path, fps, progress=progress)
    if ext in (".mp4", ".m4v", ".mov"):
        return save_mp4(frames, path, fps, progress=progress)
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
