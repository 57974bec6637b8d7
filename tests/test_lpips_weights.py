"""Where LPIPS finds its AlexNet weights: explicit file, environment, torchvision's cache, one download.

No test downloads: the download is stubbed (the network call is `_fetch_torchvision_alexnet`)."""
import socket
import urllib.error
from pathlib import Path

import pytest

from dragedit.nets import perceptual
from dragedit.errors import DragEditError

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "weights" / "alexnet-features.pt"
needs_weights = pytest.mark.skipif(not SHARED.is_file(), reason=f"{SHARED} absent")


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """An empty torch.hub cache, no environment variable, downloads allowed (but stubbed by each test)."""
    hub = tmp_path / "hub" / "checkpoints"
    monkeypatch.setattr(perceptual, "_hub_checkpoints", lambda: hub)
    monkeypatch.delenv(perceptual.ENV_VAR, raising=False)
    monkeypatch.delenv(perceptual.OFFLINE_VAR, raising=False)
    monkeypatch.setattr(perceptual, "_download_failed", [])
    return hub


def test_failed_download_falls_back_with_a_clear_message(empty_cache, monkeypatch, capsys):
    calls = []

    def unreachable():
        calls.append(socket.getdefaulttimeout())
        raise urllib.error.URLError("timed out")
    monkeypatch.setattr(perceptual, "_fetch_torchvision_alexnet", unreachable)
    before = socket.getdefaulttimeout()
    with pytest.warns(UserWarning, match="pixel \\+ multi-scale"):
        loss = perceptual.PerceptualLoss()
    assert loss.kind == "multiscale-l1"
    assert calls == [perceptual.NETWORK_TIMEOUT_S], "the download runs with a short network timeout"
    assert socket.getdefaulttimeout() == before, "the timeout is restored"
    err = capsys.readouterr().err
    assert "downloading" in err and "failed" in err
    # A second loss in the same process does not try again (no repeated waits).
    perceptual.PerceptualLoss(quiet=True)
    assert len(calls) == 1


def test_offline_never_tries_to_download(empty_cache, monkeypatch):
    monkeypatch.setenv(perceptual.OFFLINE_VAR, "1")
    monkeypatch.setattr(perceptual, "_fetch_torchvision_alexnet",
                        lambda: pytest.fail("downloaded although offline"))
    assert perceptual.find_alexnet_weights(None, download=True) is None


@needs_weights
def test_download_lands_in_torchvisions_cache_and_is_used(empty_cache, monkeypatch):
    def fake_download():
        empty_cache.mkdir(parents=True)
        (empty_cache / "alexnet-owt-7be5be79.pth").write_bytes(SHARED.read_bytes())
    monkeypatch.setattr(perceptual, "_fetch_torchvision_alexnet", fake_download)
    loss = perceptual.PerceptualLoss()
    assert loss.kind == "lpips-alex"
    assert Path(loss.weight_path).parent == empty_cache
    # Next time the cache answers; no second download.
    monkeypatch.setattr(perceptual, "_fetch_torchvision_alexnet", lambda: pytest.fail("downloaded twice"))
    assert perceptual.find_alexnet_weights(None, download=True) == empty_cache / "alexnet-owt-7be5be79.pth"


@needs_weights
def test_explicit_file_wins_over_environment_and_cache(empty_cache, monkeypatch, tmp_path):
    empty_cache.mkdir(parents=True)
    (empty_cache / "alexnet-owt-7be5be79.pth").write_bytes(b"not used")
    monkeypatch.setenv(perceptual.ENV_VAR, str(tmp_path / "env.pt"))
    assert perceptual.find_alexnet_weights(SHARED) == SHARED
    # Without an explicit file the environment variable comes first; it names no file here,
    # so the search goes on to the cache.
    assert perceptual.find_alexnet_weights(None) == empty_cache / "alexnet-owt-7be5be79.pth"


def test_explicit_missing_file_is_a_clear_error(empty_cache, tmp_path):
    with pytest.raises(DragEditError, match="nope.pt does not exist"):
        perceptual.find_alexnet_weights(tmp_path / "nope.pt")
