"""Allow-list unpickler for NVIDIA's official StyleGAN network pickles.

NVIDIA's pickles rebuild each network by `exec`-ing Python source stored in the
file (`torch_utils.persistence._reconstruct_persistent_obj`). A pickle can run
any code, so we never use the stock unpickler on them: every global the file
asks for is looked up in a fixed allow-list, persistent objects become plain
`PersistentRecord`s (class name + state dict, the source is kept as text and
never run) and anything else is refused with a `ModelFileError` that names the
global. Nothing from `dnnlib`, `torch_utils` or `training` is ever imported.
TensorFlow-era pickles (`dnnlib.tflib.network.Network`, whose own unpickling
`exec`s `build_module_src`) become `TFNetworkRecord`s the same way.

Memory stays bounded by the file: the unpickler is CPython's pure-Python one, whose memo is a
dict (the C unpickler sizes its memo array by the largest index a `LONG_BINPUT` names, so four
corrupt bytes ask for gigabytes), and no read asks the file for more than it holds. NVIDIA's
pickles have few opcodes (about 26,000 for a 512-px network; the time goes into the tensor
blobs), so the pure-Python loop costs no measurable time.
"""
from __future__ import annotations

import io
import os
import pickle
import struct
import types
import warnings

import numpy as np
import torch

from ..errors import ModelFileError

try:  # numpy >= 1.25 / 2.x
    from numpy._core import multiarray as _np_multiarray
except ImportError:  # pragma: no cover - older numpy
    from numpy.core import multiarray as _np_multiarray

__all__ = ["ALLOWED_GLOBALS", "PersistentRecord", "PlainModuleRecord", "TFNetworkRecord", "SafeUnpickler", "safe_load"]

# dtype kinds that hold plain numbers (no Python objects, no structured records).
_NUMERIC_KINDS = set("biufc")


class PersistentRecord:
    """What `_reconstruct_persistent_obj(meta)` would have built, as data only.

    `state` is the pickled module `__dict__` (`_parameters`, `_buffers`,
    `_modules`, plain attributes); `module_src` is kept as text for detection.
    """

    __slots__ = ("class_name", "module_src", "state", "version", "type")

    def __init__(self, class_name, module_src, state, version=None, type="class"):
        self.class_name = class_name
        self.module_src = module_src
        self.state = state
        self.version = version
        self.type = type

    def __repr__(self):
        return f"PersistentRecord({self.class_name!r})"


class PlainModuleRecord:
    """A plain `torch.nn` module inside a network, kept as its state dict only.

    Subclassed per class name (NEWOBJ needs a type); `__setstate__` just stores
    the state, so no torch code runs on the file's data.
    """

    class_name = "Module"
    module = "torch.nn"
    state = types.MappingProxyType({})  # until BUILD gives it one

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"state of a {self.class_name} is not a dict")
        self.state = state

    def __repr__(self):
        return f"PlainModuleRecord({self.module}.{self.class_name})"


class TFNetworkRecord:
    """A TensorFlow-era `dnnlib.tflib.network.Network`, as the dict its `__getstate__` wrote.

    The real `__setstate__` would `exec` the stored `build_module_src` and build a
    TF graph; this one only keeps the state (name, static_kwargs, components,
    variables as numpy arrays) so `tf_pickle` can convert the weights.
    """

    class_name = "Network"
    state = types.MappingProxyType({})  # until BUILD gives it one

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("state of a dnnlib.tflib.network.Network is not a dict")
        self.state = state

    def __repr__(self):
        return f"TFNetworkRecord({self.state.get('name')!r})"


class _NDArraySentinel:
    """Stands in for `numpy.ndarray` so NEWOBJ on it cannot build real arrays freely."""


class _CheckedArray(np.ndarray):
    """ndarray whose `__setstate__` refuses object/structured dtypes before numpy sees them."""

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("malformed numpy array state")
        dtype, raw = state[-3], state[-1]
        _check_dtype(dtype)
        if not isinstance(raw, (bytes, bytearray)):
            raise pickle.UnpicklingError("numpy array data is not raw bytes")
        super().__setstate__(state)


def _check_dtype(dtype):
    if not isinstance(dtype, np.dtype) or dtype.hasobject or dtype.kind not in _NUMERIC_KINDS | {"?"}:
        raise pickle.UnpicklingError(f"numpy dtype {dtype!r} is not a plain numeric type")
    return dtype


def _np_dtype(obj, align=False, copy=False):
    """`numpy.dtype(obj, align, copy)` for numeric type codes only."""
    if not isinstance(obj, str):
        raise pickle.UnpicklingError(f"numpy dtype spec {obj!r} is not a type code")
    dt = np.dtype(obj, align=bool(align), copy=bool(copy))
    if dt.hasobject or dt.kind not in _NUMERIC_KINDS | {"?"}:
        raise pickle.UnpicklingError(f"numpy dtype {obj!r} is not a plain numeric type")
    return dt


def _np_scalar(dtype, data=None):
    """`numpy.core.multiarray.scalar` for numeric dtypes from raw bytes."""
    _check_dtype(dtype)
    if not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("numpy scalar data is not raw bytes")
    return _np_multiarray.scalar(dtype, bytes(data))


def _np_reconstruct(subtype, shape, dtype):
    """`numpy.core.multiarray._reconstruct`: an empty array filled later by BUILD."""
    if subtype is not _NDArraySentinel:
        raise pickle.UnpicklingError("numpy array of a subclass")
    if not isinstance(shape, tuple) or not all(isinstance(s, int) for s in shape):
        raise pickle.UnpicklingError("malformed numpy array shape")
    if not isinstance(dtype, (bytes, str)):
        _check_dtype(dtype)
    return _np_multiarray._reconstruct(_CheckedArray, shape, dtype)


def _np_frombuffer(buf, dtype, shape, order):
    """`numpy.core.numeric._frombuffer` (protocol-5 arrays)."""
    _check_dtype(dtype)
    if isinstance(buf, pickle.PickleBuffer):
        buf = bytes(buf.raw())
    if not isinstance(buf, (bytes, bytearray)):
        raise pickle.UnpicklingError("numpy array data is not raw bytes")
    if not isinstance(shape, tuple) or order not in ("C", "F"):
        raise pickle.UnpicklingError("malformed numpy array shape")
    return np.frombuffer(bytes(buf), dtype).reshape(shape, order=order).copy()


def _load_from_bytes(blob):
    """`torch.storage._load_from_bytes`: one storage, read with torch's weights-only loader."""
    if not isinstance(blob, (bytes, bytearray)):
        raise pickle.UnpicklingError("storage blob is not bytes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage deprecation noise
        storage = torch.load(io.BytesIO(bytes(blob)), weights_only=True, map_location="cpu")
    if not isinstance(storage, torch.TypedStorage):
        raise pickle.UnpicklingError("storage blob does not hold a typed storage")
    return storage


def _is_int_seq(x):
    return isinstance(x, (tuple, list, torch.Size)) and all(isinstance(v, int) for v in x)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    """`torch._utils._rebuild_tensor_v2` with type checks; hooks and metadata are dropped."""
    if not isinstance(storage, torch.TypedStorage):
        raise pickle.UnpicklingError("tensor without a typed storage")
    if not isinstance(storage_offset, int) or not _is_int_seq(size) or not _is_int_seq(stride):
        raise pickle.UnpicklingError("malformed tensor size/stride")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch._utils._rebuild_tensor(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    """`torch._utils._rebuild_parameter(_with_state)`: a Parameter around the tensor, extras dropped."""
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError("parameter without a tensor")
    return torch.nn.Parameter(data, requires_grad=bool(requires_grad) and data.is_floating_point())


def _reconstruct_persistent_obj(meta):
    """Replacement for NVIDIA's hook: keep the record, never exec `module_src`."""
    if not isinstance(meta, dict) or not isinstance(meta.get("class_name"), str) \
            or not isinstance(meta.get("state"), dict):
        raise pickle.UnpicklingError("malformed persistent object (no class_name/state)")
    src = meta.get("module_src")
    return PersistentRecord(meta["class_name"], src if isinstance(src, str) else "",
                            meta["state"], meta.get("version"), meta.get("type", "class"))


def _torch_device(spec, index=None):
    if not isinstance(spec, (str, int)) or not (index is None or isinstance(index, int)):
        raise pickle.UnpicklingError("malformed torch.device")
    return torch.device(spec) if index is None else torch.device(spec, index)


def _codecs_encode(text, encoding="utf-8"):
    """`_codecs.encode`: how protocol-2 pickles store bytes (latin-1 text)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("unexpected _codecs.encode call")
    return text.encode("latin1")


def _empty_bytes(*args):
    """`builtins.bytes()`: how protocol-2 pickles store b''."""
    if args:
        raise pickle.UnpicklingError("unexpected bytes(...) call")
    return b""


_EASYDICT = dict  # dnnlib.util.EasyDict -> plain dict (NEWOBJ + SETITEMS fill it)

# Plain torch.nn modules that sit inside released networks (NVIDIA's discriminators hold an
# Identity; containers for completeness): each becomes a PlainModuleRecord, so no torch code runs.
_PLAIN_MODULES = (
    ("torch.nn.modules.linear", "Identity"),
    ("torch.nn.modules.container", "Sequential"),
    ("torch.nn.modules.container", "ModuleList"),
    ("torch.nn.modules.container", "ModuleDict"),
)
# Tensor dtypes a network may store as a plain attribute (looked up by name, never by prefix).
_TORCH_DTYPES = ("float16", "float32", "float64", "bfloat16", "uint8", "int8", "int16", "int32", "int64", "bool")


def _plain_module_type(module, name):
    """A `PlainModuleRecord` subclass standing in for `torch.nn.modules.<...>.<name>`."""
    return type(name, (PlainModuleRecord,), {"class_name": name, "module": module})


# Every global NVIDIA's PyTorch and TensorFlow-era network pickles need, one entry each, mapped
# to a checked stand-in; anything else is refused with the global's name. The same module can be
# spelled two ways (numpy 1.x `numpy.core`, numpy 2.x `numpy._core`); both are listed.
ALLOWED_GLOBALS = types.MappingProxyType({
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.tflib.network", "Network"): TFNetworkRecord,  # state only; build_module_src never runs
    ("dnnlib.util", "EasyDict"): _EASYDICT,
    ("dnnlib", "EasyDict"): _EASYDICT,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("torch", "Size"): torch.Size,
    ("torch", "device"): _torch_device,
    ("collections", "OrderedDict"): dict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytes"): _empty_bytes,
    ("_codecs", "encode"): _codecs_encode,
    ("numpy", "dtype"): _np_dtype,
    ("numpy", "ndarray"): _NDArraySentinel,
    ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy.core.multiarray", "scalar"): _np_scalar,
    ("numpy._core.multiarray", "scalar"): _np_scalar,
    ("numpy.core.numeric", "_frombuffer"): _np_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _np_frombuffer,
    **{("torch", name): getattr(torch, name) for name in _TORCH_DTYPES},
    **{key: _plain_module_type(*key) for key in _PLAIN_MODULES},
})

_PY2_MODULES = {"__builtin__": "builtins"}  # protocol-2 pickles written with fix_imports


class _BoundedReader:
    """A binary file whose reads never ask for more than what is left (a corrupt length field
    must not make the buffered reader allocate its size up front)."""

    def __init__(self, file):
        self._file = file
        try:
            size = os.fstat(file.fileno()).st_size
        except (AttributeError, OSError, io.UnsupportedOperation):
            pos = file.tell()
            size = file.seek(0, io.SEEK_END)
            file.seek(pos)
        self._left = max(0, size - file.tell())

    def read(self, n=-1):
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._file.read(n)
        self._left -= len(data)
        return data

    def readinto(self, buf):
        view = memoryview(buf).cast("B")
        n = self._file.readinto(view[:min(len(view), self._left)])
        self._left -= n or 0
        return n

    def readline(self, limit=-1):
        limit = self._left if limit is None or limit < 0 else min(limit, self._left)
        data = self._file.readline(limit)
        self._left -= len(data)
        return data


class SafeUnpickler(pickle._Unpickler):
    """The pure-Python unpickler (dict memo), whose `find_class` only hands out allow-listed
    callables."""

    def __init__(self, file, path="<pickle>"):
        super().__init__(_BoundedReader(file))
        self._path = os.fspath(path)

    def _load_bytearray8(self):
        """BYTEARRAY8 without `bytearray(length)` first: that zero-fills whatever length the
        file claims before reading a byte."""
        (n,) = struct.unpack("<Q", self.read(8))
        data = self.read(n)
        if len(data) != n:
            raise pickle.UnpicklingError("pickle data was truncated")
        self.append(bytearray(data))

    dispatch = dict(pickle._Unpickler.dispatch)
    dispatch[pickle.BYTEARRAY8[0]] = _load_bytearray8

    def find_class(self, module, name):
        module = _PY2_MODULES.get(module, module)  # protocol 0-2 pickles name py2 modules
        hit = ALLOWED_GLOBALS.get((module, name)) if isinstance(module, str) and isinstance(name, str) else None
        if hit is not None:
            return hit
        wanted = f"{module}.{name}"
        wanted = wanted if len(wanted) <= 120 else wanted[:120] + "..."
        raise ModelFileError(
            f"{self._path}: refused to load: the pickle asks for {wanted}, which is not "
            "on the allow-list for StyleGAN network pickles (loading it could run code)")

    def persistent_load(self, pid):
        raise ModelFileError(f"{self._path}: refused to load: unexpected persistent reference "
                             f"{str(pid)[:60]!r} (not a StyleGAN network pickle)")


def safe_load(file, path="<pickle>"):
    """Unpickle an open binary file with `SafeUnpickler`."""
    return SafeUnpickler(file, path=path).load()
