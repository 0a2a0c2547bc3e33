"""Transfer from source tasks: the source prompts transfer methods read, and k-shot runs that
start from a method's own source-trained state (seed 001 follows ATTEMPT/MPT; seed 003: 4/16/32).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import torch

from ptbench.pipeline import layout
from ptbench.config import Params
from ptbench.artifacts import SOURCES_FILE, STATE_FILE, load_state, load_tree, save_tree
from ptbench.data.prepare import PreparedSplit, split_path
from ptbench.data.splits import dept_few_shot_indices, few_shot_indices, stsb_class
from ptbench.errors import DataError
from ptbench.tasks import task_as_read

SOURCE_PROMPT_METHOD = "pt"  # SPoT / ATTEMPT / MPT read plain prompt-tuning prompts


def source_state_path(root: Path, method: str, task: str, seed: int) -> Path:
    """The source-trained state of ``method`` on ``task`` for a training seed (the same seed when
    the source stage ran it, else its first seed: sources may be trained with fewer seeds)."""
    task_dir = root / method / task
    path = task_dir / f"seed{seed}" / STATE_FILE
    if path.exists():
        return path
    others = sorted(task_dir.glob(f"seed*/{STATE_FILE}"))
    if not others:
        raise DataError(f"{task_dir}: no source-trained state of '{method}' on '{task}' "
                        "(run the source_prompt stage: dvc repro source_prompt)")
    return others[0]


def load_source_prompts(params: Params, backbone, tasks: list[str], seed: int, root: Path) -> dict[str, torch.Tensor]:
    """Each source task's pre-trained prompt, (l, d), read through the prompt method itself."""
    from ptbench.run.experiment import method_context
    from ptbench.methods import build_method

    prompts = {}
    for task in tasks:
        method = build_method(SOURCE_PROMPT_METHOD, params.method_config(SOURCE_PROMPT_METHOD),
                              method_context(backbone, params, seed))
        method.load_state_dict(load_state(source_state_path(root, SOURCE_PROMPT_METHOD, task, seed)))
        prompts[task] = method.prompt().detach().clone()
    return prompts


# --- what a transfer method reads: built once per method by the transfer_source stage ----------------
TRANSFER_ROOT = Path("results/transfer_sources")  # <method>/seed<k>/sources.safetensors


def collect_prompts(params: Params, method_name: str, seed: int, source_root: Path, data_root: Path) -> dict:
    """SPoT / ATTEMPT: pt's source prompts of the method's ``sources``, as they are."""
    from ptbench.run.experiment import load_backbone

    tasks = params.method_config(method_name).source_tasks()
    return {"prompts": load_source_prompts(params, load_backbone(params), tasks, seed, source_root), "states": {}}


def distilled_prompt(params: Params, method_name: str, seed: int, source_root: Path, data_root: Path) -> dict:
    """MPT: pt's source prompts distilled into one shared prompt + per-task rank-r updates."""
    from ptbench.run.distill import distill_mpt
    from ptbench.methods.mpt import DISTILLED

    state = distill_mpt(params, method_name, seed, source_root, data_root)
    return {"prompts": {}, "states": {DISTILLED: state}}


SOURCE_BUILDERS = {"prompts": collect_prompts, "distillation": distilled_prompt}  # MethodConfig.source_builder


def transfer_sources_path(root: Path, method: str, seed: int) -> Path:
    return root / method / f"seed{seed}" / SOURCES_FILE


def build_transfer_sources(params: Params, method_name: str, out_dir: Path, source_root: Path,
                           data_root: Path) -> dict[int, dict]:
    """One ``sources.safetensors`` per training seed (each seed reads the source prompts of its own seed)."""
    builder = SOURCE_BUILDERS[params.method_config(method_name).source_builder]
    built = {}
    for seed in params.seeds:
        built[seed] = builder(params, method_name, seed, source_root, data_root)
        save_tree(out_dir / f"seed{seed}" / SOURCES_FILE, built[seed])
    return built


def load_transfer_sources(method_name: str, config, seed: int, root: Path) -> tuple[dict, dict]:
    """(source prompts, source states) a method is built with: none unless it reads sources."""
    if not config.source_tasks():
        return {}, {}
    path = transfer_sources_path(root, method_name, seed)
    if not path.exists():
        raise DataError(f"{path}: no transfer sources of '{method_name}' "
                        f"(run the transfer_source stage: dvc repro transfer_source@{method_name})")
    sources = load_tree(path)
    return sources.get("prompts", {}), sources.get("states", {})


def few_shot_split(spec, split: PreparedSplit, k: int, sampling_seed: int,
                   sampler: str = "balanced") -> tuple[PreparedSplit, list[int]]:
    """k training examples (``few_shot.sampler``): ``balanced`` on the gold label (free-form tasks: a
    plain draw), or DePT's own draw (``dept``: classification tasks and STS-B, as its code)."""
    if sampler == "dept":
        if spec.name == "stsb":
            keys, classes = [stsb_class(refs[0]) for refs in split.references], ["0", "1"]
        else:
            if spec.choices is None:
                raise DataError(f"{spec.name}: few_shot.sampler dept draws per class (DePT's code has no classes "
                                "for this task); use sampler: balanced")
            keys, classes = [refs[0] for refs in split.references], list(spec.choices)
        indices = dept_few_shot_indices(keys, k, sampling_seed, classes)
    else:
        keys = [refs[0] if spec.choices is not None else "any" for refs in split.references]
        indices = few_shot_indices(keys, k, sampling_seed)
    return split.subset(indices), indices


SCRATCH, BEST = "scratch", "best"  # few_shot.source besides a task name


def pick_source(params: Params, method_name: str, spec, val_split: PreparedSplit, seed: int, source_root: Path,
                transfer_root: Path) -> str:
    """The source task whose state starts the run: ``few_shot.source`` itself, ``scratch`` (no
    source: seed 003's few-shot runs), or ``best``: the source state scoring highest on the target's
    validation split before any target training (ties: the first in source_prompts.tasks)."""
    from ptbench.run.experiment import score_state

    source = params.few_shot.source
    if source != BEST:
        return source
    primary = spec.metrics[0]
    scored = {}
    for task in params.source_prompts.tasks:
        state = load_state(source_state_path(source_root, method_name, task, seed))
        scored[task] = score_state(params, method_name, spec, state, val_split, seed, transfer_root)[0][primary]
    return max(params.source_prompts.tasks, key=lambda task: scored[task])  # max keeps the first of ties


def few_shot_params(params: Params, method_name: str) -> Params:
    """The params of ``method_name``'s few-shot runs: its ``few_shot.lr`` in place of its grid rate, if any."""
    from ptbench.pipeline.knobs import with_knobs

    rate = params.few_shot.lr.get(method_name)
    return params if rate is None else with_knobs(params, method_name, {"lr": rate})


def fewshot_run(params: Params, method_name: str, task_name: str, k: int, sampling_seed: int, data_dir: Path,
                out_path: Path, source_root: Path, transfer_root: Path = TRANSFER_ROOT) -> dict:
    """Train ``method_name`` on k examples of the task (one run per training seed), score on the
    full test split, write JSON. A method that reads source prompts (SPoT, ATTEMPT, MPT) starts as
    its build from them (``transfer_root``); any other from its own state pre-trained on the source
    task ``pick_source`` names (``source_root``), or from scratch."""
    from ptbench.run.experiment import (result_payload, run_fingerprint, score_state, seed_result, train_seed,
                                    with_steps, write_json, write_predictions)
    from ptbench.run.process import process_state

    params = few_shot_params(params, method_name)
    few = params.few_shot
    spec = task_as_read(task_name, params.data)
    train_split, indices = few_shot_split(spec, PreparedSplit.load(split_path(data_dir, "train")), k, sampling_seed,
                                          few.sampler)
    val_split = PreparedSplit.load(split_path(data_dir, "validation"))  # the full validation split, as ATTEMPT
    test_split = PreparedSplit.load(split_path(data_dir, "test"))
    cfg = dataclasses.replace(with_steps(params.train, few.steps), batch_size=min(params.train.batch_size, k))
    per_seed, chosen, outputs = {}, {}, {}
    transfer = bool(params.method_config(method_name).source_tasks())
    for seed in params.seeds:
        if transfer:  # its build over its transfer sources is the start
            init, chosen[str(seed)] = None, "+".join(params.method_config(method_name).source_tasks())
        else:
            chosen[str(seed)] = pick_source(params, method_name, spec, val_split, seed, source_root, transfer_root)
            init = (None if chosen[str(seed)] == SCRATCH
                    else load_state(source_state_path(source_root, method_name, chosen[str(seed)], seed)))
        done = train_seed(params, method_name, task_name, train_split, val_split, cfg, seed,
                          run_fingerprint(params, method_name, cfg, seed, data_dir, transfer_root), None, transfer_root,
                          init)
        scores, decoding, outputs[str(seed)] = score_state(params, method_name, spec, done["best_state"], test_split,
                                                           seed, transfer_root)
        record = done["record"]
        per_seed[str(seed)] = seed_result(scores, record)
    sample_hash = hashlib.sha256(json.dumps(indices).encode()).hexdigest()[:16]
    payload = result_payload(params, method_name, spec, per_seed, record, len(test_split), data_dir, decoding,
                             few_shot={"k": k, "source": few.source, "source_task": chosen[str(params.seeds[0])],
                                       "source_task_per_seed": chosen, "sampling_seed": sampling_seed,
                                       "sample_hash": sample_hash, "steps": few.steps})
    if process_state().is_main_process:  # under `accelerate launch`, one writer
        write_predictions(layout.fewshot_predictions_path(out_path), method_name, spec, test_split, outputs)
        write_json(out_path, payload)
    return payload


def fewshot_cell(params: Params, method_name: str, task_name: str, k: int, data_dir: Path, out_dir: Path,
                 source_root: Path, transfer_root: Path = TRANSFER_ROOT) -> list[dict]:
    """Every sampling seed's k-shot run of one (task, k), written atomically to ``out_dir``."""
    from ptbench.run.stagekit import atomic_dir

    with atomic_dir(out_dir) as partial:
        return [fewshot_run(params, method_name, task_name, k, sampling_seed, data_dir, partial / f"sample{sampling_seed}.json",
                            source_root, transfer_root) for sampling_seed in params.few_shot.sampling_seeds]
