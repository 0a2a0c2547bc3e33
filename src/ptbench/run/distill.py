"""MPT's source training: multitask prompt distillation (Wang et al., 2023, sec. 3.1).

Teachers are pt's single-task source prompts (the source_prompt stage); the student is the
shared prompt P* with one rank-r update U_k V_k per source task (``methods.mpt``). Step s trains
on a batch of source task s mod K (round-robin, single-task batches, each task its own seeded
batch stream), with

    L = CE(student) + distill_weight * (KL(teacher || student) + MSE(hidden states))

the KL over the decoder's output distributions at the target positions (both softened by
``distill_temperature``, scaled by T^2 as usual), the MSE between the decoder's last hidden
states, both at the non-padded target positions. The final state is kept (the paper distils for
a fixed budget; there is no single validation task to select on). Encoder-decoder backbones
only, as the paper's T5. Choices: docs/methods.md.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ptbench.errors import ConfigError
from ptbench.methods.base import PeftMethod
from ptbench.train.backbone import Batch
from ptbench.train.optim import build_optimizer


def decoder_outputs(backbone, method: PeftMethod, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, logits (b, T, V), last decoder hidden states (b, T, d)) with ``method``'s prompt."""
    embeds, mask = backbone.runner.embed(method, batch)
    out = backbone.model(inputs_embeds=embeds, attention_mask=mask, labels=batch.labels, output_hidden_states=True)
    return out.loss, out.logits, out.decoder_hidden_states[-1]


def distillation_loss(student: tuple, teacher: tuple, labels: torch.Tensor, weight: float,
                      temperature: float) -> torch.Tensor:
    """CE + weight * (KL + MSE) at the target positions that are not padding."""
    loss, logits, hidden = student
    _, teacher_logits, teacher_hidden = teacher
    keep = labels != -100
    t = temperature
    kl = F.kl_div(F.log_softmax(logits[keep].float() / t, -1), F.log_softmax(teacher_logits[keep].float() / t, -1),
                  log_target=True, reduction="batchmean") * t * t
    mse = F.mse_loss(hidden[keep].float(), teacher_hidden[keep].float())
    return loss + weight * (kl + mse)


def distill_mpt(params, method_name: str, seed: int, source_root, data_root) -> dict:
    """Distil the K source prompts of ``methods.<method_name>.sources`` into P*, U_k, V_k; returns
    {"shared", "cols", "rows", "tasks", "history"} (``MultitaskPrompt.load_distilled`` reads it)."""
    from ptbench.data.prepare import PreparedSplit, split_path
    from ptbench.run.experiment import load_backbone, method_context
    from ptbench.methods.mpt import DistillationStudent
    from ptbench.train.loop import BatchSchedule, collate, model_device, to_device
    from ptbench.run.transfer import load_source_prompts

    config = params.method_config(method_name)
    backbone = load_backbone(params)
    if backbone.info.family != "seq2seq":
        raise ConfigError(f"methods.{method_name}: MPT's prompt distillation runs on encoder-decoder backbones "
                          f"(the paper's T5); '{params.backbone}' is {backbone.info.family}")
    tasks = list(config.sources)
    teachers = load_source_prompts(params, backbone, tasks, seed, source_root)
    torch.manual_seed(seed)
    ctx = method_context(backbone, params, seed)
    student = DistillationStudent(config, ctx, [teachers[task] for task in tasks])
    teacher_methods = {task: _FrozenPrompt(teachers[task]) for task in tasks}
    device = model_device(backbone.model)  # a GPU when there is one: the methods and batches go there
    student.to(device)
    for teacher in teacher_methods.values():
        teacher.to(device)
    splits = [PreparedSplit.load(split_path(data_root / task, "train")) for task in tasks]
    streams = [BatchSchedule(len(split), params.train.batch_size, seed * 1009 + k) for k, split in enumerate(splits)]
    steps = config.distill_steps or params.source_prompts.steps
    optimizer = build_optimizer(params.train.optimizer, student.param_groups(params.train.weight_decay),
                                student.config.adam_eps)
    history = []
    student.train()
    for step in range(1, steps + 1):
        k, turn = (step - 1) % len(tasks), (step - 1) // len(tasks) + 1
        batch = to_device(collate(splits[k], streams[k].indices(turn), backbone.pad_id), device)
        student.select(k)
        with torch.no_grad():
            teacher = decoder_outputs(backbone, teacher_methods[tasks[k]], batch)
        loss = distillation_loss(decoder_outputs(backbone, student, batch), teacher, batch.labels,
                                 config.distill_weight, config.distill_temperature)
        if not torch.isfinite(loss):
            raise ConfigError(f"methods.{method_name}: the distillation loss diverged at step {step}; "
                              f"lower methods.{method_name}.lr")
        loss.backward()
        if params.train.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(student.parameters(), params.train.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if turn % params.train.log_interval == 0 or step == steps:  # every task at its logged turns
            history.append({"step": step, "task": tasks[k], "loss": round(loss.item(), 6)})
    return {**student.distilled_state(), "history": history}


class _FrozenPrompt(PeftMethod):
    """A teacher: a fixed source prompt prepended to the input."""

    def __init__(self, prompt: torch.Tensor) -> None:
        torch.nn.Module.__init__(self)
        self.register_buffer("frozen", prompt)

    def prompt(self) -> torch.Tensor:
        return self.frozen
