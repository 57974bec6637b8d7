"""Read and write generator files without running code from them: sniffing, dispatch, our format.

The first bytes say which reader a file goes to:

* a pickle: NVIDIA's official network pickles (`nvidia`: stylegan2-ada-pytorch and the
  StyleGAN3 release) or the TensorFlow-era StyleGAN2 ones (`tf_pickle`), both read once
  through the allow-list unpickler in `safe_pickle`;
* a zip: dragedit's own format, `torch.save({'format': 'dragedit-generator', 'version': 1,
  'config': G.config, 'state_dict': ..., **extra})` (here), or a rosinality stylegan2-pytorch
  checkpoint (`rosinality`), both read with `torch.load(weights_only=True)`.

Every reader ends in `strict`: names, shapes and finiteness of the weights are checked before
anything is loaded. Every failure a user can cause (wrong file, broken file, unsafe file,
NaN weights) is a `ModelFileError` whose message names the file and what was expected.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import re
import tempfile

import torch

from ..errors import ModelFileError
from ..nets import stylegan3
from ..nets.stylegan2 import Generator
from .nvidia import open_official
from .rosinality import is_rosinality, open_rosinality
from .safe_pickle import safe_load
from .strict import check_and_load, check_finite, model_info, short_error
from .tf_pickle import is_tf_pickle, open_tf_pickle

__all__ = ["FORMAT", "FORMAT_VERSION", "load_generator", "save_generator", "inspect_model"]

FORMAT = "dragedit-generator"
FORMAT_VERSION = 1
_RESERVED_KEYS = {"format", "version", "config", "state_dict", "dtype"}

_IMAGE_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
]
_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # first object of a pre-1.6 torch.save file
_EXPECTED = ("expected a StyleGAN2 network pickle (.pkl: PyTorch or TensorFlow release), a rosinality "
             "stylegan2-pytorch checkpoint (.pt) or a dragedit model file (.pt)")


# --------------------------------------------------------------------------- sniffing

def _sniff(path: str) -> str:
    """Classify the file by its first bytes so a wrong file gets a precise message."""
    if not os.path.exists(path):
        raise ModelFileError(f"{path}: model file not found ({_EXPECTED})")
    if os.path.isdir(path):
        raise ModelFileError(f"{path}: is a directory; {_EXPECTED}")
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read the model file: {e.strerror or e}") from None
    if not head:
        raise ModelFileError(f"{path}: the file is empty; {_EXPECTED}")
    for magic, what in _IMAGE_MAGIC:
        if head.startswith(magic):
            raise ModelFileError(f"{path}: this is {what}, not a model; {_EXPECTED}")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        raise ModelFileError(f"{path}: this is a WebP image, not a model; {_EXPECTED}")
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head[0] == 0x80 and len(head) > 1 and head[1] <= pickle.HIGHEST_PROTOCOL:
        return "pickle"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            is_text = True
        except UnicodeDecodeError as e:
            is_text = e.start > len(head) - 4  # a multi-byte char cut at the end
        if is_text:
            raise ModelFileError(f"{path}: this is a text file, not a model; {_EXPECTED}")
    raise ModelFileError(f"{path}: unrecognised file format; {_EXPECTED}")



# --------------------------------------------------------------------------- helpers

def _finish(G, info: dict, device):
    G.eval().requires_grad_(False)
    G.source_info = info
    return G.to(device)


def _generator_from_config(config):
    """Our own files: the config's `family` picks the network (no key: StyleGAN2)."""
    family = config.get("family", "stylegan2") if isinstance(config, dict) else None
    if family == "stylegan3":
        return stylegan3.Generator.from_config(config)
    if family == "stylegan2" and isinstance(config, dict):
        return Generator.from_config({k: v for k, v in config.items() if k != "family"})
    raise ValueError(f"unknown generator family {family!r}")


# --------------------------------------------------------------------------- network pickles

def _read_pickle(path: str):
    """Unpickle with the allow-list unpickler; every failure is a ModelFileError."""
    try:
        with open(path, "rb") as f:
            return safe_load(f, path=path)
    except ModelFileError:
        raise
    except EOFError:
        raise ModelFileError(f"{path}: the pickle is truncated (it ends early); "
                             "download or export it again") from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a broken file
        raise ModelFileError(f"{path}: not a readable network pickle (truncated or corrupt?): "
                             f"{type(e).__name__}: {short_error(e)}") from None


def _open_pickle(path: str, allow_unsupported=False, describe_only=False):
    """NVIDIA's PyTorch pickles and its TensorFlow-era ones share the container: read once, dispatch."""
    obj = _read_pickle(path)
    if is_tf_pickle(obj):
        return open_tf_pickle(path, obj, allow_unsupported=allow_unsupported, describe_only=describe_only)
    if isinstance(obj, int) and obj == _LEGACY_TORCH_MAGIC:
        raise ModelFileError(f"{path}: an old-style (non-zip) torch.save file, not a network pickle; "
                             f"{_EXPECTED}")
    return open_official(path, obj, allow_unsupported=allow_unsupported)


# --------------------------------------------------------------------------- own format

def _open_ours(path: str, describe_only=False):
    try:
        obj = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL (\S+)", str(e))
        what = f"it asks for {found.group(1)}" if found else short_error(e)
        raise ModelFileError(f"{path}: a PyTorch file holding more than plain weights ({what}); "
                             f"refused, as loading it could run code; {_EXPECTED}") from None
    except Exception as e:  # noqa: BLE001 - truncated zip, bad records, ...
        raise ModelFileError(f"{path}: a truncated or corrupt PyTorch/zip file: {short_error(e)}") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        if is_rosinality(obj):
            return open_rosinality(path, obj, describe_only=describe_only)
        found = f"format {obj.get('format')!r}" if isinstance(obj, dict) and "format" in obj else (
            "keys " + ", ".join(repr(k) for k in list(obj)[:6]) if isinstance(obj, dict) else
            f"a {type(obj).__name__}")
        raise ModelFileError(f"{path}: a PyTorch file, but not a dragedit generator (expected a dict "
                             f"with format={FORMAT!r}, or a rosinality checkpoint with 'g_ema'; found {found})")
    version = obj.get("version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: bad format version {version!r}, expected {FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path}: written by a newer dragedit (format version {version}; "
                             f"this one reads up to {FORMAT_VERSION})")
    config, sd = obj.get("config"), obj.get("state_dict")
    if not isinstance(config, dict) or not isinstance(sd, dict):
        raise ModelFileError(f"{path}: a dragedit model file without a 'config' and 'state_dict'")
    try:
        G = _generator_from_config(config)
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise ModelFileError(f"{path}: the stored config is not understood ({e})") from None
    for k, t in sd.items():
        if not isinstance(t, torch.Tensor):
            raise ModelFileError(f"{path}: state_dict entry {k!r} is a {type(t).__name__}, expected a tensor")
    check_and_load(G, sd, path, where="the stored config")
    stored = {str(t.dtype).replace("torch.", "") for t in sd.values() if t.is_floating_point()}
    info = dict(path=path, format="dragedit", network=None,
                stored_dtype=obj.get("dtype") or (stored.pop() if len(stored) == 1 else sorted(stored)),
                extra={k: v for k, v in obj.items() if k not in _RESERVED_KEYS})
    _check_extra(info["extra"], G, path)
    info.update(model_info(G))
    names = info["extra"].get("factor_names")
    info["factor_names"] = (list(names) if isinstance(names, (list, tuple)) and len(names) == G.z_dim
                            and all(isinstance(n, str) for n in names) else None)
    return G, info


def _extra_tensors(value, where):
    """(name, tensor) for every tensor stored in the extra keys, nested ones included."""
    if isinstance(value, torch.Tensor):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _extra_tensors(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _extra_tensors(v, f"{where}[{i}]")


def _check_extra(extra: dict, G, path: str):
    """The embedded latent (`invert --pti` stores the photo's) must fit G; every stored tensor
    must be finite, so a bad value is blamed on this file, not on a later edit."""
    if "latent" in extra:
        latent = extra["latent"]
        shapes = [(1, G.num_ws, G.w_dim), (1, 1, G.w_dim), (G.num_ws, G.w_dim), (1, G.w_dim)]
        if not isinstance(latent, torch.Tensor) or not latent.is_floating_point() \
                or tuple(latent.shape) not in shapes:
            found = (f"a {latent.dtype} tensor of shape {list(latent.shape)}" if isinstance(latent, torch.Tensor)
                     else f"a {type(latent).__name__}")
            raise ModelFileError(f"{path}: the embedded latent ('latent') is {found}; expected a float "
                                 f"tensor of shape [1, {G.num_ws}, {G.w_dim}] (W+) or [1, {G.w_dim}] (W)")
    check_finite(dict(_extra_tensors(extra, "")), path, what="stored tensor")


def _open(path, allow_unsupported=False, describe_only=False):
    """describe_only: foreign formats skip building real weights (what `inspect_model` needs)."""
    path = os.fspath(path)
    kind = _sniff(path)
    try:
        if kind == "zip":
            # rosinality's train.py stores its argparse 'args'; plain data, allowed (torch >= 2.5)
            safe = getattr(torch.serialization, "safe_globals", None)
            with safe([argparse.Namespace]) if safe else contextlib.nullcontext():
                return _open_ours(path, describe_only=describe_only)
        return _open_pickle(path, allow_unsupported=allow_unsupported, describe_only=describe_only)
    except ModelFileError:
        raise
    except Exception as e:
        raise ModelFileError(f"{path}: not a generator this loader understands "
                             f"({type(e).__name__}: {short_error(e)})") from e


# --------------------------------------------------------------------------- public API

def load_generator(path, device="cpu") -> Generator:
    """Load a generator (eval mode, frozen) from an official StyleGAN2/3 pickle or a dragedit file.

    `G.source_info` says what was read (format, which network: 'G_ema' or the 'G' fallback).
    """
    G, info = _open(path)
    return _finish(G, info, device)


def inspect_model(path) -> dict:
    """Describe a model file (family, resolution, dims, num_ws, params) for `dragedit info`.

    A StyleGAN3 pickle whose layers cannot be rebuilt is described (supported=False, with
    the reason in 'error') rather than refused.
    """
    G, info = _open(path, allow_unsupported=True, describe_only=True)
    return info


def _check_plain(value, where="extra"):
    """Refuse values that `torch.load(weights_only=True)` could not read back."""
    if value is None or isinstance(value, (bool, int, float, str, bytes, torch.Tensor,
                                            torch.dtype, torch.Size)):
        return
    if isinstance(value, (list, tuple, set)):
        for v in value:
            _check_plain(v, where)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _check_plain(k, where)
            _check_plain(v, where)
        return
    raise ValueError(f"{where} holds a {type(value).__name__}; only numbers, strings, tensors, "
                     "lists, tuples and dicts can be stored (the file is read with weights_only)")


def save_generator(G: Generator, path, half=False, factor_names=None, **extra):
    """Write G in dragedit's format atomically (temp file + rename); half=True stores fp16.

    factor_names: one name per z coordinate, for a model whose z coordinates mean something
    (the default model's are the renderer's factors); the app offers them as named sliders."""
    if not isinstance(G, torch.nn.Module) or not hasattr(G, "config"):
        raise TypeError("save_generator needs a dragedit Generator (with a .config)")
    if factor_names is not None:
        names = list(factor_names)
        if len(names) != G.z_dim or not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"factor_names must be {G.z_dim} non-empty strings (one per z coordinate), "
                             f"got {len(names)} item(s)")
        extra["factor_names"] = names
    clash = _RESERVED_KEYS & set(extra)
    if clash:
        raise ValueError(f"extra keys {sorted(clash)} are reserved by the file format")
    config = G.config
    _check_plain(config, "config")
    _check_plain(extra, "extra")
    sd = {}
    for k, t in G.state_dict().items():
        t = t.detach().to("cpu")
        t = t.to(torch.float16) if half and t.is_floating_point() else t.clone()
        sd[k] = t.contiguous()
    payload = dict(format=FORMAT, version=FORMAT_VERSION, config=config,
                   dtype="float16" if half else "float32", state_dict=sd, **extra)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise ModelFileError(f"{path}: cannot write the model file: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise ModelFileError(f"{path}: cannot write the model file: {e.strerror or e}") from None
        raise
    return path
