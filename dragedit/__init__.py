"""dragedit: drag-based point editing of images with a StyleGAN generator."""
__version__ = "0.1.0"

from .errors import DragEditError, ModelFileError


def load_generator(path, device="cpu"):
    """Load a generator from an official StyleGAN2 pickle or a dragedit model file (no code is run)."""
    from .io.checkpoint import load_generator as _load
    return _load(path, device=device)


def save_generator(G, path, **extra):
    """Write a generator in dragedit's own format (torch.save of config + state_dict)."""
    from .io.checkpoint import save_generator as _save
    return _save(G, path, **extra)


__all__ = ["__version__", "load_generator", "save_generator", "DragEditError", "ModelFileError"]
