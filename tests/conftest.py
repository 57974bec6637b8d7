"""Test-wide settings: torch threads (DRAGEDIT_TEST_THREADS, default 2: the CI machine's cores;
use 1 while other jobs share the CPU, since oversubscribed threads slow torch down many times)."""
import os

import pytest
import torch

torch.set_num_threads(int(os.environ.get("DRAGEDIT_TEST_THREADS", "2")))
# Nothing in the tests may download (LPIPS would fetch AlexNet otherwise); tests that check the
# download path stub it and lift this themselves.
os.environ["DRAGEDIT_OFFLINE"] = "1"


@pytest.fixture(autouse=True)
def keep_thread_count():
    """Commands run in-process with --threads N set torch's global thread count; put it back, so a
    test's speed and its float rounding do not depend on which tests ran before it."""
    before = torch.get_num_threads()
    yield
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)


@pytest.fixture
def one_thread():
    """One torch thread for the test (GUI tests: the worker and the event loop share the CPU)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory):
    """A small random 64-px generator saved in dragedit's format, for fast command-line tests."""
    from dragedit.io.checkpoint import save_generator
    from dragedit.nets.stylegan2 import Generator
    torch.manual_seed(0)
    G = Generator(16, 0, 32, 64, 3, mapping_kwargs=dict(num_layers=2),
                  synthesis_kwargs=dict(channels={4: 32, 8: 32, 16: 32, 32: 16, 64: 16}))
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_generator(G, path)
    return path
