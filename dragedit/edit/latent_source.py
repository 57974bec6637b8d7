"""Where an edit's start latent comes from when the user names none: a generator tuned to a photo
by `dragedit invert --pti` carries that photo's latent, and both the app and `dragedit edit` open on it."""
from __future__ import annotations


def embedded_latent(G):
    """The latent saved inside a generator file by `dragedit invert --pti`, if any."""
    extra = getattr(G, "source_info", {}).get("extra", {}) or {}
    latent = extra.get("latent")
    return latent.float() if latent is not None else None
