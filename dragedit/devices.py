"""Which device and precision the engine runs on: one setting for the app and every command.

Torch is imported inside the functions, so the CLI can build its parser (and print --help)
without paying for the torch import.

Precision: 'fp32' everywhere, or 'mixed' (NVIDIA's num_fp16_res: the highest-resolution
synthesis blocks in half precision; losses, tracking and Adam in fp32). 'auto' is 'mixed' on
CUDA and 'fp32' on the CPU and on Apple's MPS. Asking for 'mixed' on the CPU is an error
rather than a silent fallback: half precision there is slower and less exact, and a user who
asked for it should know they are not getting it.
"""
from __future__ import annotations

from .errors import DragEditError

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"
PRECISIONS = ("auto", "fp32", "mixed", "mixed-bf16")
DEVICE_HELP = ("where the generator runs: auto (CUDA, then Apple's MPS, then the CPU), cpu, cuda, "
               "cuda:N or mps (default: auto)")
PRECISION_HELP = ("fp32, or mixed: the highest-resolution generator blocks in fp16 (mixed-bf16: bfloat16) "
                  "on a GPU; default auto = mixed on CUDA, fp32 on the CPU and MPS")


class DeviceError(DragEditError):
    """The requested device or precision is not available here."""


def _mps_available(torch) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list:
    """Names of the devices this machine has, CPU first: e.g. ['cpu', 'cuda:0', 'cuda:1']."""
    import torch
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available(torch):
        names.append("mps")
    return names


def _unavailable(name, why):
    return DeviceError(f"device {name!r} is not available ({why}); available here: "
                       f"{', '.join(available_devices())}")


def resolve_device(name="auto"):
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' | 'mps' (or a torch.device) -> torch.device.

    auto picks CUDA, then MPS, then the CPU. A device that is not there is a one-line
    DeviceError naming the devices that are."""
    import torch
    if isinstance(name, torch.device):
        name = str(name)
    text = "auto" if name is None else str(name).strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available(torch):
            return torch.device("mps")
        return torch.device("cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "mps":
        if not _mps_available(torch):
            raise _unavailable(name, "this machine or torch build has no Apple-silicon GPU")
        return torch.device("mps")
    if text == "cuda" or text.startswith("cuda:"):
        index = 0
        if text != "cuda":
            tail = text.split(":", 1)[1]
            if not tail.isdigit():
                raise DeviceError(f"device {name!r}: expected {DEVICE_CHOICES}")
            index = int(tail)
        if not torch.cuda.is_available():
            why = "torch was built without CUDA" if torch.version.cuda is None else "no CUDA GPU found"
            raise _unavailable(name, why)
        if index >= torch.cuda.device_count():
            raise _unavailable(name, f"there are {torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index)
    raise DeviceError(f"unknown device {name!r}: expected {DEVICE_CHOICES}")


def describe_device(dev) -> str:
    """One line for a status bar or a benchmark table: 'CUDA: NVIDIA RTX 4090', 'MPS: Apple
    silicon', 'CPU: 8 threads'."""
    import torch
    dev = torch.device(dev) if not isinstance(dev, torch.device) else dev
    if dev.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(dev)}"
    if dev.type == "mps":
        return "MPS: Apple silicon"
    return f"CPU: {torch.get_num_threads()} threads"


def resolve_precision(precision, device) -> str:
    """'auto' | 'fp32' | 'mixed' | 'mixed-bf16' for a device -> the precision to run.

    auto: 'mixed' on CUDA, else 'fp32'. Half precision on the CPU is refused with a clear
    error (see the module docstring); on MPS it is allowed but not the default."""
    import torch
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    p = "auto" if precision is None else str(precision).strip().lower()
    if p not in PRECISIONS:
        raise DeviceError(f"unknown precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if p == "auto":
        return "mixed" if dev.type == "cuda" else "fp32"
    if p != "fp32" and dev.type == "cpu":
        raise DeviceError(f"precision {p!r} needs a GPU: on the CPU half precision is slower and less "
                          "exact, so the CPU runs fp32 (use --precision fp32 or auto)")
    return p


def half_dtype(precision):
    """The dtype of the half-precision blocks for a resolved precision, or None for fp32."""
    import torch
    return {"fp32": None, "mixed": torch.float16, "mixed-bf16": torch.bfloat16}[precision]


def apply_precision(G, precision) -> str:
    """Set a generator's synthesis blocks for a resolved precision; returns it."""
    setter = getattr(G.synthesis, "set_precision", None)
    if setter is None:
        if precision != "fp32":
            raise DeviceError(f"this generator ({type(G.synthesis).__name__}) runs in fp32 only: "
                              "use --precision fp32")
        return precision
    setter(half_dtype(precision))
    return precision


def loss_scale(G) -> float:
    """A constant loss scale for backward passes through half-precision blocks (1 in fp32): small
    feature gradients would otherwise fall below fp16's range. Adam is scale-free, so dividing the
    gradient back is exact up to rounding."""
    return 1.0 if getattr(G.synthesis, "half_dtype", None) is None else 1024.0


def synchronize(device):
    """Wait for the device's queued work (for timing); nothing on the CPU."""
    import torch
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


def upload(data, device, dtype=None):
    """Small host data -> a tensor on `device` without waiting for the device's queue (pinned,
    non-blocking on CUDA; a plain tensor on the CPU)."""
    import torch
    t = torch.as_tensor(data, dtype=dtype if dtype is not None else torch.float32)
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    if dev.type == "cpu":
        return t
    if dev.type == "cuda":
        return t.pin_memory().to(dev, non_blocking=True)
    return t.to(dev)


def device_of(module):
    """The device a module's parameters (or buffers) are on."""
    import torch
    for t in module.parameters():
        return t.device
    for t in module.buffers():
        return t.device
    return torch.device("cpu")


def set_threads(threads):
    """`--threads`: torch's CPU threads (ignored when None)."""
    if threads:
        import torch
        torch.set_num_threads(int(threads))

