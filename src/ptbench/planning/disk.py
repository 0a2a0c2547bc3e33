"""What a profile leaves on disk, estimated from the plan before anything runs (``ptbench plan``).

- the backbones' hub files: every parameter at the width the hub stores it (T5: fp32, 4 bytes; Llama-2:
  fp16, 2 bytes), downloaded once per backbone into the hub cache;
- the prepared data: each task's rows as token ids (int64) at most m long, per backbone (each its tokenizer);
- the trained states: one ``state.safetensors`` per run (every seed, knob point and k-shot draw; source
  prompts too), its method's trainable parameters in fp32, kept in the DVC cache;
- the checkpoints while a run trains (the state, and AdamW's two moments: 3 x the state), deleted when
  it ends: the peak of the largest running stage's workers, not a total.
Predictions, metrics and logs are kilobytes per run and left out. An estimate, printed as one.
"""
from __future__ import annotations

from dataclasses import dataclass

from ptbench.config import Params
from ptbench.planning.workload import Stage, split_sizes

STATE_BYTES = 4  # fp32 states (mixed precision keeps fp32 master weights)
TOKEN_BYTES = 8  # int64 token ids
HUB_BYTES = {"seq2seq": 4, "causal": 2}  # T5's hub checkpoints are fp32, Llama-2's fp16


@dataclass(frozen=True)
class Disk:
    backbones: float  # bytes
    data: float
    states: float
    checkpoint_peak: float

    @property
    def total(self) -> float:
        return self.backbones + self.data + self.states

    def line(self) -> str:
        def gb(n: float) -> str:
            return f"{n / 1e9:,.1f} GB"
        return (f"disk: {gb(self.total)} ({gb(self.states)} trained states, {gb(self.data)} prepared data, "
                f"{gb(self.backbones)} backbone downloads; checkpoints while training: up to {gb(self.checkpoint_peak)} "
                f"more) - an estimate (planning/disk.py)")


def _trainable(params: Params, method: str, backbone: str) -> int:
    from ptbench.check.counting import count_parameters

    counts = count_parameters(params.registered_method(method), params.method_config(method), backbone,
                              params.data.max_length, params.mirror.backbone)
    return counts["trainable"]


def estimate_disk(params: Params, stages: list[Stage]) -> Disk:
    from ptbench.backbones import get_backbone
    from ptbench.check.counting import backbone_size

    hub = sum(backbone_size(b, params.mirror.backbone) * HUB_BYTES.get(get_backbone(b).family, 4)
              for b in params.backbones if not get_backbone(b).mirror_only)
    rows = sum(sum(split_sizes(params, task).values()) * params.data.input_length(task) for task in params.tasks)
    data = rows * TOKEN_BYTES * len(params.backbones)
    trainable: dict[tuple[str, str], int] = {}
    states, peak = 0.0, 0.0
    for stage in stages:
        if not stage.runs or stage.kind == "evaluate":  # evaluate scores the train stage's states
            continue
        key = (stage.backbone, stage.method)
        if key not in trainable:
            trainable[key] = _trainable(params, stage.method, stage.backbone)
        state = trainable[key] * STATE_BYTES
        states += state * len(stage.runs)
        peak = max(peak, 3 * state * max(1, stage.workers))
    return Disk(hub, data, states, peak)
