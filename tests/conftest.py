"""Shared fixtures. Tests run offline: the hub variables are set before anything imports HF."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["DVC_NO_ANALYTICS"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One torch thread per test process, as the smoke's runtime.cpu_threads: the two xdist workers of
# `make test` share 2 cores, and unpinned threads spin-wait on each other (results depend on it too).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import copy  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402

from ptbench.config import parse_params  # noqa: E402
from ptbench.stagekit import quiet_libraries  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
quiet_libraries()


@pytest.fixture(scope="session")
def repo_params_raw() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.fixture
def raw_params(repo_params_raw) -> dict:
    """A fresh, mutable copy of the committed params.yaml."""
    return copy.deepcopy(repo_params_raw)


@pytest.fixture(scope="session")
def smoke_mirror(tmp_path_factory, repo_params_raw) -> Path:
    """The smoke mirror exactly as params.yaml builds it (pre-trained tiny T5 included), once per test
    run: the xdist workers of `make test` share one build (a file lock; the first builds it)."""
    from filelock import FileLock

    from ptbench.backbones import get_backbone
    from ptbench.mirror.build import build_mirror

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's folder, not older runs'
    root = shared / "smoke-mirror" / "mirror"
    with FileLock(str(shared / "smoke-mirror.lock")):
        if not (root / "mirror.json").exists():
            params = parse_params(copy.deepcopy(repo_params_raw))
            build_mirror(root, params.mirror, get_backbone("tiny-t5").hub_id)
    return root


@pytest.fixture(scope="session")
def smoke_params(smoke_mirror, repo_params_raw):
    raw = copy.deepcopy(repo_params_raw)
    raw["hub"]["mirror"] = str(smoke_mirror)
    return parse_params(raw)


def pytest_collection_modifyitems(items):
    """The slow tests (a whole DVC pipeline) first: under `pytest -n 2 --dist loadfile` (make test)
    their files then start at once on one worker while the other takes the rest, instead of the
    longest file starting last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
