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

from ptbench import numerics  # noqa: E402

# The CPU kernels of params.yaml's runtime.cpu_numerics, as every stage sets them: before torch is imported.
numerics.pin_from_params(Path(__file__).resolve().parents[1] / "params.yaml")

import pytest  # noqa: E402
import yaml  # noqa: E402

from ptbench.config import parse_params  # noqa: E402
from ptbench.run.process import quiet_libraries  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
quiet_libraries()


@pytest.fixture(scope="session")
def platform_verdict() -> tuple[str | None, bool]:
    """This machine against the committed smoke's platform fingerprint (results/platform.json): (None when
    its CPU kernels compute the same bits, else the one line saying what differs; whether the pins promise
    the same bits here, i.e. neither CPU is an AMD, ARM or pre-AVX2 one)."""
    from ptbench import fingerprint

    return fingerprint.assess(REPO / fingerprint.BASELINE)


def require_committed_platform(verdict: tuple[str | None, bool]) -> None:
    """The regression checks compare with the committed smoke exactly; on a platform that computes other
    bits they fail with that one line, not with a list of every cell as moved; on a CPU the pins cannot
    hold (no exact comparison applies there) they are skipped with it."""
    line, promised = verdict
    if line is not None and promised:
        pytest.fail(line, pytrace=False)
    if line is not None:
        pytest.skip(line)


@pytest.fixture(scope="session")
def committed_platform(platform_verdict) -> None:
    """Listed before a regression check's other fixtures: on other bits it fails before they build anything."""
    require_committed_platform(platform_verdict)


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


# The long files first, in this order (make test runs `pytest -n 2 --dist loadfile --no-loadscope-reorder`:
# files go to the two workers in collection order). The pipeline slice is the long pole and builds the
# session's smoke mirror first thing; the other worker meanwhile runs files that build their own small
# mirrors or none, so that it is not left waiting on the mirror's lock; the mirror's users come after.
FIRST = ["tests/test_pipeline.py", "tests/mirror/test_load_proof.py", "tests/train/test_determinism.py",
         "tests/test_paper_grid.py", "tests/test_bad_inputs.py", "tests/test_regression.py", "tests/test_plugins.py"]


@pytest.fixture(scope="session")
def rte_data(smoke_params, tmp_path_factory) -> Path:
    """RTE prepared from the smoke mirror (the tokenizer and rows the smoke trains on): the loop's tests."""
    from ptbench import hub
    from ptbench.data.prepare import prepare_task
    from ptbench.tasks import get_task

    out = tmp_path_factory.mktemp("rte") / "rte"
    spec = get_task("rte")
    dataset = hub.load_hub_dataset(spec.hub.path, spec.hub.name, spec.hub.revision, smoke_params.hub.mirror, True)
    tokenizer = hub.load_tokenizer("ptbench-mirror/tiny-t5", smoke_params.hub.mirror, True)
    prepare_task(spec, dataset, tokenizer, smoke_params.data, out)
    return out


def pytest_collection_modifyitems(items):
    """The files of FIRST first, in its order, then the rest as collected."""
    def rank(item) -> int:
        path = Path(str(item.fspath)).relative_to(REPO).as_posix()
        return FIRST.index(path) if path in FIRST else len(FIRST)
    items.sort(key=rank)


@pytest.fixture(scope="session")
def chromium() -> str:
    """A headless browser (Chromium from the system's packages): skipped without one, except under CI, where
    `.ci/run` installs it and its absence is a failure."""
    from ptbench.report.example import find_browser

    found = find_browser()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no Chromium on PATH: .ci/run installs it (apt-get install chromium)")
        pytest.skip("no Chromium on PATH (apt-get install chromium)")
    return found
