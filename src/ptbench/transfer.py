"""Transfer from source tasks: the source prompts transfer methods read, and k-shot runs that
start from a method's own source-trained state (seed 001 follows ATTEMPT/MPT; seed 003: 4/16/32).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import torch

from ptbench.config import Params
from ptbench.data.prepare import PreparedSplit
from ptbench.data.splits import few_shot_indices
from ptbench.errors import DataError
from ptbench.tasks import get_task

SOURCE_PROMPT_METHOD = "pt"  # SPoT / ATTEMPT / MPT read plain prompt-tuning prompts


def source_state_path(root: Path, method: str, task: str, seed: int) -> Path:
    """The source-trained state of ``method`` on ``task`` for a training seed (the same seed when
    the source stage ran it, else its first seed: sources may be trained with fewer seeds)."""
    task_dir = root / method / task
    path = task_dir / f"seed{seed}" / "state.pt"
    if path.exists():
        return path
    others = sorted(task_dir.glob("seed*/state.pt"))
    if not others:
        raise DataError(f"{task_dir}: no source-trained state of '{method}' on '{task}' "
                        "(run the source_prompt stage: dvc repro source_prompt)")
    return others[0]


def load_source_prompts(params: Params, backbone, tasks: list[str], seed: int, root: Path) -> dict[str, torch.Tensor]:
    """Each source task's pre-trained prompt, (l, d), read through the prompt method itself."""
    from ptbench.experiment import method_context
    from ptbench.methods import build_method

    prompts = {}
    for task in tasks:
        method = build_method(SOURCE_PROMPT_METHOD, params.method_config(SOURCE_PROMPT_METHOD),
                              method_context(backbone, params, seed))
        method.load_state_dict(torch.load(source_state_path(root, SOURCE_PROMPT_METHOD, task, seed)))
        prompts[task] = method.prompt().detach().clone()
    return prompts


def few_shot_split(spec, split: PreparedSplit, k: int, sampling_seed: int) -> tuple[PreparedSplit, list[int]]:
    """k training examples, class-balanced on the gold label (free-form tasks: a plain draw)."""
    keys = [refs[0] if spec.choices is not None else "any" for refs in split.references]
    indices = few_shot_indices(keys, k, sampling_seed)
    return split.subset(indices), indices


def fewshot_run(params: Params, method_name: str, task_name: str, k: int, sampling_seed: int, data_dir: Path,
                out_path: Path, source_root: Path) -> dict:
    """Train ``method_name`` on k examples of the task from its state pre-trained on
    ``few_shot.source`` (one run per training seed), score on the full test split, write JSON."""
    from ptbench.experiment import (result_payload, run_fingerprint, score_state, seed_result, train_seed,
                                    with_steps, write_json)

    few = params.few_shot
    spec = get_task(task_name, params.data.scoring)
    train_split, indices = few_shot_split(spec, PreparedSplit.load(data_dir / "train.pt"), k, sampling_seed)
    val_split = PreparedSplit.load(data_dir / "validation.pt")  # the full validation split, as ATTEMPT
    test_split = PreparedSplit.load(data_dir / "test.pt")
    cfg = dataclasses.replace(with_steps(params.train, few.steps), batch_size=min(params.train.batch_size, k))
    per_seed = {}
    for seed in params.seeds:
        init = torch.load(source_state_path(source_root, method_name, few.source, seed))
        done = train_seed(params, method_name, task_name, train_split, val_split, cfg, seed,
                          run_fingerprint(params, method_name, cfg, seed, data_dir), None, source_root, init)
        scores, decoding = score_state(params, method_name, spec, done["best_state"], test_split, seed, source_root)
        record = done["record"]
        per_seed[str(seed)] = seed_result(scores, record)
    sample_hash = hashlib.sha256(json.dumps(indices).encode()).hexdigest()[:16]
    payload = result_payload(params, method_name, spec, per_seed, record, len(test_split), data_dir, decoding,
                             few_shot={"k": k, "source_task": few.source, "sampling_seed": sampling_seed,
                                       "sample_hash": sample_hash, "steps": few.steps})
    write_json(out_path, payload)
    return payload
