"""Process-level state of a (possibly launched) run: which process this is and on which device.

Its own small module because everything from the hub loader to the training loop asks it, and
keeping it in the loop made the loop part of an import circle (hub -> quantization -> loop -> stagekit).
Also what every process sets first (``prepare_process``: CPU kernels, threads, hub environment,
quiet libraries). Nothing here imports torch or accelerate at module level.
"""
from __future__ import annotations

import os
import sys


def is_main_process() -> bool:
    """Rank 0 of a launched run (torch.distributed's RANK, set by `accelerate launch`), or a lone process."""
    return int(os.environ.get("RANK", "0")) == 0


def process_state():
    """This process's place in a launched run (``accelerate.PartialState``: ``is_main_process``,
    ``process_index``, ``device``), read as ``Accelerator()`` reads it. Use this, not a bare
    ``PartialState()``, before the first Accelerator: without the ``--cpu`` flag of the launcher
    (``ACCELERATE_USE_CPU``) the first state made would miss a multi-process CPU run and fix the
    process as a lone one."""
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    return PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU"))


def quiet_libraries() -> None:
    """Progress bars and advisory warnings of the libraries are noise in a pipeline log. Set through
    their environment variables, read when they are first imported, so that a stage that never uses
    them (rows, tables) does not pay ~2 s to import them; libraries already imported are told directly."""
    import warnings

    for variable, value in (("HF_HUB_DISABLE_PROGRESS_BARS", "1"), ("HF_DATASETS_DISABLE_PROGRESS_BARS", "1"),
                            ("TRANSFORMERS_VERBOSITY", "error"), ("DATASETS_VERBOSITY", "error")):
        os.environ.setdefault(variable, value)
    warnings.filterwarnings("ignore", message=".*requires_grad=True to a scalar.*")
    if "datasets" in sys.modules:
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
    if "transformers" in sys.modules:
        import transformers

        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()


def pin_cpu_threads(n: int | None) -> None:
    """``runtime.cpu_threads``: torch's intra-op (and inter-op) threads, before any compute. The
    environment variables reach a torch imported later and the processes a stage launches."""
    if n is None:
        return
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(n)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(n)
        try:
            torch.set_num_interop_threads(n)
        except RuntimeError:  # only settable before the first inter-op work; the intra-op count is what matters
            pass


def prepare_process(runtime, offline: bool) -> None:
    """What every process that trains or scores sets first (a stage, its workers, ``ptbench audit``),
    before it imports torch: the CPU kernels (``runtime.cpu_numerics``) and threads
    (``runtime.cpu_threads``) the CPU numbers depend on, the hub environment, quiet libraries."""
    from ptbench import hub, numerics

    numerics.pin(runtime.cpu_numerics)
    pin_cpu_threads(runtime.cpu_threads)
    hub.configure_environment(offline)
    quiet_libraries()


def load_prepared(params_path):
    """The validated params, with this process set up as they say (``prepare_process``). The CPU pins of
    the file are set first: validating params imports the methods and so torch, which must come after."""
    from ptbench import numerics
    from ptbench.config import load_params

    numerics.pin_from_params(params_path)
    params = load_params(params_path)
    prepare_process(params.runtime, params.hub.offline)
    return params
