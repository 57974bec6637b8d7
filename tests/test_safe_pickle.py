"""The allow-list unpickler: exactly the named globals NVIDIA's pickles need, and nothing that
loads, executes or touches files, even when it lives in torch or numpy."""
import io
import os
import pickle
import struct
import sys

import pytest
import torch

from dragedit.errors import ModelFileError
from dragedit.io.checkpoint import inspect_model, load_generator
from dragedit.io.safe_pickle import ALLOWED_GLOBALS, PlainModuleRecord, safe_load

sys.path.insert(0, os.path.dirname(__file__))
import official_pickles as op

EXPECTED_ALLOW_LIST = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"),
    ("dnnlib.tflib.network", "Network"),
    ("dnnlib.util", "EasyDict"),
    ("dnnlib", "EasyDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch.storage", "_load_from_bytes"),
    ("torch", "Size"),
    ("torch", "device"),
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "bytes"),
    ("_codecs", "encode"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("torch", "float16"), ("torch", "float32"), ("torch", "float64"), ("torch", "bfloat16"),
    ("torch", "uint8"), ("torch", "int8"), ("torch", "int16"), ("torch", "int32"), ("torch", "int64"),
    ("torch", "bool"),
    ("torch.nn.modules.linear", "Identity"),
    ("torch.nn.modules.container", "Sequential"),
    ("torch.nn.modules.container", "ModuleList"),
    ("torch.nn.modules.container", "ModuleDict"),
}

# Callables a pickle could reach to load, run or write something, torch's and numpy's own included.
HOSTILE = [
    ("torch", "load"), ("torch.serialization", "load"), ("torch.serialization", "_load"),
    ("torch.serialization", "add_safe_globals"), ("torch", "save"),
    ("torch.hub", "load"), ("torch.hub", "load_state_dict_from_url"), ("torch.hub", "download_url_to_file"),
    ("torch.jit", "load"), ("torch.jit._serialization", "load"), ("torch.jit", "script"),
    ("torch", "ops"), ("torch._ops", "ops"), ("torch.ops", "load_library"),
    ("torch._C", "import_ir_module"), ("torch._C", "_load_for_lite_interpreter"), ("torch._C", "_jit_script_compile"),
    ("torch.storage", "TypedStorage"), ("torch.storage", "UntypedStorage"), ("torch.storage", "_load_from_file"),
    ("torch", "from_file"), ("torch", "UntypedStorage.from_file"), ("torch.storage", "_StorageBase"),
    ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_device_tensor_from_numpy"),
    ("torch._tensor", "_rebuild_from_type_v2"), ("torch", "Tensor"), ("torch.nn.modules.module", "Module"),
    ("torch.package", "PackageImporter"), ("torch.utils.cpp_extension", "load_inline"),
    ("numpy", "load"), ("numpy", "fromfile"), ("numpy", "memmap"), ("numpy", "loadtxt"),
    ("numpy.lib.npyio", "load"), ("numpy.core.multiarray", "fromfile"), ("numpy._core.multiarray", "frombuffer"),
    ("numpy.testing._private.utils", "runstring"), ("numpy", "frombuffer"),
    ("builtins", "eval"), ("builtins", "exec"), ("builtins", "getattr"), ("builtins", "setattr"),
    ("builtins", "__import__"), ("builtins", "open"), ("builtins", "compile"), ("builtins", "globals"),
    ("__builtin__", "eval"), ("importlib", "import_module"), ("pickle", "loads"), ("_pickle", "loads"),
    ("os", "system"), ("posix", "system"), ("subprocess", "Popen"), ("codecs", "open"), ("shutil", "rmtree"),
    # dotted names (protocol 4 resolves them attribute by attribute in the stock unpickler)
    ("torch", "load.__globals__"), ("torch_utils.persistence", "_reconstruct_persistent_obj.__globals__"),
    ("torch", "float32.__class__"), ("collections", "OrderedDict.__init__"),
]


def _unicode(s: str) -> bytes:
    raw = s.encode("utf-8")
    return b"\x8c" + bytes([len(raw)]) + raw if len(raw) < 256 else b"X" + struct.pack("<I", len(raw)) + raw


def hostile_pickle(module, name, arg, stack_global=False) -> bytes:
    """`{'G_ema': module.name(arg)}`: GLOBAL (protocol 2) or STACK_GLOBAL (protocol 4) + REDUCE."""
    if stack_global:
        head = b"\x80\x04}" + _unicode("G_ema") + _unicode(module) + _unicode(name) + b"\x93"
    else:
        head = b"\x80\x02}" + _unicode("G_ema") + b"c" + module.encode() + b"\n" + name.encode() + b"\n"
    return head + _unicode(arg) + b"\x85R" + b"s."


@pytest.mark.parametrize("stack_global", [False, True], ids=["GLOBAL", "STACK_GLOBAL"])
@pytest.mark.parametrize("module,name", HOSTILE, ids=[f"{m}.{n}" for m, n in HOSTILE])
def test_hostile_globals_are_refused_by_name(tmp_path, module, name, stack_global):
    marker = tmp_path / "TOUCHED"
    path = tmp_path / "evil.pkl"
    path.write_bytes(hostile_pickle(module, name, str(marker), stack_global))
    before = path.read_bytes()
    for read in (load_generator, inspect_model):
        with pytest.raises(ModelFileError) as err:
            read(path)
        msg = str(err.value)
        shown = "builtins" if module == "__builtin__" else module
        assert f"{shown}.{name}" in msg and "evil.pkl" in msg and "allow-list" in msg, msg
    assert not marker.exists() and path.read_bytes() == before


def test_the_allow_list_is_exactly_the_named_set():
    """Widening the allow-list (a new global, or a module prefix) must change this test too."""
    assert set(ALLOWED_GLOBALS) == EXPECTED_ALLOW_LIST
    assert all(isinstance(m, str) and isinstance(n, str) and "." not in n and "*" not in m
               for m, n in ALLOWED_GLOBALS)
    with pytest.raises(TypeError):
        ALLOWED_GLOBALS[("torch", "load")] = torch.load  # read-only at run time


def test_no_module_prefix_is_allowed():
    """Before, any torch.nn.modules.* class and any torch attribute that is a dtype got through."""
    for module, name in [("torch.nn.modules.linear", "Linear"), ("torch.nn.modules.conv", "Conv2d"),
                         ("torch.nn.modules.evil", "Anything"), ("torch", "complex64"), ("torch", "qint8")]:
        data = b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n."
        with pytest.raises(ModelFileError, match=f"asks for {module}.{name},"):
            safe_load(io.BytesIO(data), path="x.pkl")


def test_allowed_stand_ins_do_what_the_formats_need():
    ident = safe_load(io.BytesIO(b"\x80\x02ctorch.nn.modules.linear\nIdentity\n)\x81}b."))
    assert isinstance(ident, PlainModuleRecord) and ident.class_name == "Identity"
    assert safe_load(io.BytesIO(pickle.dumps(torch.float16, protocol=2))) is torch.float16
    assert safe_load(io.BytesIO(pickle.dumps(torch.Size([2, 3]), protocol=4))) == torch.Size([2, 3])


def test_real_fixtures_still_load(tmp_path):
    for proto in (2, 4, 5):
        G = op.make_generator()
        G2 = load_generator(op.write_official_pickle(G, tmp_path / f"g{proto}.pkl", protocol=proto))
        assert G2.source_info["network"] == "G_ema"


def test_long_global_names_are_cut_in_the_message(tmp_path):
    path = tmp_path / "long.pkl"
    path.write_bytes(hostile_pickle("torch", "x" * 5000, "a", stack_global=True))
    with pytest.raises(ModelFileError) as err:
        load_generator(path)
    assert len(str(err.value)) < 600


# --------------------------------------------------------------------------- bounded memory and time

def _peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


MEMORY_BOMBS = {
    # the C unpickler grows its memo array to the largest index named: 0xFFFFFFF0 * 8 bytes
    "memo-index": b"\x80\x02N" + b"r" + struct.pack("<I", 0xFFFFFFF0) + b".",
    # bytearray(length) is zero-filled before the data is read
    "bytearray8": b"\x80\x05\x96" + struct.pack("<Q", 6 * 2 ** 30) + b"xx.",
    "binbytes8": b"\x80\x04\x8e" + struct.pack("<Q", 6 * 2 ** 30) + b"xx.",
    "frame": b"\x80\x04\x95" + struct.pack("<Q", 6 * 2 ** 30) + b"N.",
    "binunicode8": b"\x80\x04\x8d" + struct.pack("<Q", 6 * 2 ** 30) + b"xx.",
}


@pytest.mark.parametrize("name", list(MEMORY_BOMBS))
def test_length_and_memo_fields_cannot_allocate_beyond_the_file(tmp_path, name):
    import time
    path = tmp_path / f"{name}.pkl"
    path.write_bytes(MEMORY_BOMBS[name])
    before, t = _peak_rss_mb(), time.perf_counter()
    try:
        load_generator(path)
    except ModelFileError as e:
        assert "MemoryError" not in str(e), e
    assert time.perf_counter() - t < 5 and _peak_rss_mb() - before < 200


def _shared_tree(depth):
    """Records whose every level holds the next one twice: 2**depth paths, depth + 1 objects."""
    node = op.Persistent("Leaf", op._state(params=[("weight", torch.zeros(1))]))
    for _ in range(depth):
        node = op.Persistent("Block", op._state(modules=[("a", node), ("b", node)]))
    return node


def test_shared_modules_are_refused_not_walked_exponentially(tmp_path):
    import time

    def plant(data):
        data["G_ema"].state["_modules"]["extra"] = _shared_tree(40)
    path = op.write_official_pickle(op.make_generator(), tmp_path / "dag.pkl", mutate=plant)
    t = time.perf_counter()
    for read in (load_generator, inspect_model):
        with pytest.raises(ModelFileError, match="appears twice"):
            read(path)
    assert time.perf_counter() - t < 10
