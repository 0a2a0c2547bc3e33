"""Estimated seconds of every planned stage on this machine, from the calibration record.

A run: ``steps`` training steps, a validation pass every ``eval_interval`` steps and the test
split's decoding. A step costs the calibrated frozen-backbone step (forward, and backward through
every layer to the inputs: what every method pays) at the method's encoder length: its input (m for
the methods that pad to m, else the longest prepared input, m before the data stage ran) plus the
tokens its module adds, both found by running the module on the ``meta`` device. A PEFT method's own
weights are below a few percent of the backbone's, so their gradients are left out; a method that
trains the backbone (ft) costs the calibrated full step. A stage: a process start (the
calibrated imports) plus ``DVC_STAGE_SECONDS`` per process, plus its runs, spread over
``runtime.task_workers`` as ``stagekit.run_jobs`` hands them out (each worker takes the next run when
it is free). A backbone too large to calibrate here is scaled from the largest calibrated one by its
FLOPs (2 per parameter and token forward, as much again backward).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

from ptbench.config import Params
from ptbench.planning.workload import Run, Stage

# DVC's own work per stage (hashing its deps and outs, the lock, the run cache): 1.2-1.5 s measured
# on the 2-core smoke machine (benchmarks/README.md: three rows stages under `dvc repro` vs alone).
DVC_STAGE_SECONDS = 1.4
LABEL_TARGET_TOKENS = 3  # a class label's tokens and EOS: decoding stops there
TABLES_PROCESSES = 3  # the tables stage: the report imports, matplotlib, the parameter audit's meta models
# the platform fingerprint's computation (ptbench.fingerprint): measured 2.4-3.3 s on the 2-core CPU machine
FINGERPRINT_SECONDS = 3.0


@dataclass(frozen=True)
class Backbone:
    """What the estimate needs of one backbone: measured rates, or a FLOPs scale from a calibrated one."""

    name: str
    parameters: int
    measured: dict[str, Any] | None  # the calibration record's entry, None when it was too large to run
    scale: float = 1.0  # FLOPs relative to ``measured`` (1 when measured itself)

    def frozen_step_per_row(self, length: int) -> float:
        m = self.measured
        (l0, l1), (s0, s1) = m["lengths"], m["frozen_step_seconds_per_row"]
        slope = (s1 - s0) / (l1 - l0) if l1 != l0 else 0.0
        return self.scale * max(s0 + slope * (length - l0), s0 * 0.5)

    def full_step_per_row(self, length: int) -> float:
        m = self.measured
        return self.frozen_step_per_row(length) * m["full_step_seconds_per_row"] / m["frozen_step_seconds_per_row"][1]

    def decode_per_example(self, tokens: int) -> float:
        return self.scale * self.measured["decode_seconds_per_example_token"] * tokens


_SHAPES: dict[tuple, tuple[int, bool, bool]] = {}
SHAPE_BACKBONE = "tiny-t5"  # what a module adds to the input does not depend on the backbone's size


def shape_of(params: Params, method: str, max_length: int) -> tuple[int, bool, bool]:
    """``method_shape`` of a method or variant of ``params``, once per configuration and m."""
    config = params.method_config(method)
    key = (params.registered_method(method), repr(config), max_length, tuple(sorted(params.mirror.backbone.items())))
    if key not in _SHAPES:
        _SHAPES[key] = method_shape(key[0], config, max_length, params.mirror.backbone)
    return _SHAPES[key]


def method_shape(method: str, config, max_length: int, tiny: dict[str, int]) -> tuple[int, bool, bool]:
    """(tokens ``method``'s module adds to an encoder input of ``max_length``, whether it pads every
    input to ``max_length`` (DePT-style methods: their update is sized by m) instead of taking the
    batch as long as its longest input, whether it trains anything: the control does not, and the
    loop then validates its built state once): the module run on inputs of m and m / 2 tokens, attached to
    a weightless backbone (``meta``) or, when one of its ops has no meta kernel, to the tiny T5's
    architecture with random weights. A module that cannot be built without its sources (ATTEMPT:
    they come from the source stage) counts as padded to m with nothing added."""
    import torch

    from ptbench.check.counting import attached_on_meta
    from ptbench.errors import PtbenchError

    failures = (RuntimeError, NotImplementedError, TypeError, ValueError, PtbenchError)

    def lengths(module, d: int, device: str) -> tuple[int, bool]:
        def out_length(length: int) -> int:
            embeds = torch.zeros(1, length, d, device=device)
            return module(embeds, torch.ones(1, length, dtype=torch.long, device=device))[0].shape[1]
        full = out_length(max_length)
        try:
            half = out_length(max(1, max_length // 2))
        except failures:  # takes inputs of m tokens only
            return full - max_length, True
        return full - max_length, full == half

    module, model, _ = attached_on_meta(method, config, SHAPE_BACKBONE, max_length, tiny)
    trains = module.trainable_parameter_count() > 0
    try:
        return (*lengths(module, model.get_input_embeddings().embedding_dim, "meta"), trains)
    except failures:
        pass
    try:
        module, d = _on_random_tiny(method, config, max_length, tiny)
        with torch.no_grad():
            return (*lengths(module, d, "cpu"), trains)
    except failures:
        return 0, True, trains


def _on_random_tiny(method: str, config, max_length: int, tiny: dict[str, int]):
    import torch

    from ptbench.methods import build_method
    from ptbench.methods.base import BackboneContext
    from ptbench.planning.calibration import random_backbone

    model, backbone_config = random_backbone(SHAPE_BACKBONE, tiny, "cpu")
    embeddings = model.get_input_embeddings()
    vocab = backbone_config.vocab_size
    ctx = BackboneContext(d_model=embeddings.embedding_dim, word_embeddings=embeddings, max_length=max_length,
                          generator=torch.Generator().manual_seed(0), vocab_sample_size=min(vocab, 5000),
                          tokenize=lambda text: [2 + sum(map(ord, w)) % (vocab - 2) for w in text.split()] or [2],
                          label_texts=("0", "1"))
    module = build_method(method, config, ctx)
    module.attach(model)
    return module, embeddings.embedding_dim


class Estimator:
    """``input_lengths``: (backbone, task) -> the longest input where the prepared data says (else m:
    an upper bound for the methods that take the batch as long as its longest input). ``zygote``:
    stages forked from ``ptbench repro``'s warm process (their own process only hands itself over)."""

    def __init__(self, params: Params, calibration: dict[str, Any], backbones: dict[str, Backbone],
                 input_lengths: dict[tuple[str, str], float] | None = None, zygote: bool = False):
        self.params, self.calibration, self.backbones = params, calibration, backbones
        self.input_lengths, self.zygote = input_lengths or {}, zygote

    def step_seconds(self, run: Run) -> float:
        m = self.params.data.input_length(run.task)
        added, padded, _ = shape_of(self.params, run.method, m)
        length = m if padded else min(m, self.input_lengths.get((run.backbone, run.task), m))
        backbone = self.backbones[run.backbone]
        if self.params.method_config(run.method).trains_backbone:  # every weight's gradient too
            return backbone.full_step_per_row(length + added) * run.batch_size
        return backbone.frozen_step_per_row(length + added) * run.batch_size

    def decode_seconds(self, run: Run, examples: int) -> float:
        from ptbench.tasks import get_task

        spec = get_task(run.task, self.params.data.scoring)
        tokens = LABEL_TARGET_TOKENS if spec.target.kind == "label" else self.params.data.max_target_length
        return examples * self.backbones[run.backbone].decode_per_example(tokens)

    def train_seconds(self, run: Run) -> float:
        """Its training steps and validation passes: what a run's timing record measures (a method that
        trains nothing: one validation pass of its built state)."""
        trains = shape_of(self.params, run.method, self.params.data.input_length(run.task))[2]
        if not trains:
            return self.decode_seconds(run, run.validation_examples if run.validation_passes else 0)
        seconds = run.steps * self.step_seconds(run) if run.steps else 0.0
        return seconds + self.decode_seconds(run, run.validation_passes * run.validation_examples)

    def run_seconds(self, run: Run) -> float:
        """Training, the test curve (kept apart from the timing record's seconds) and the test scoring."""
        curve = run.validation_passes * run.curve_examples
        return self.train_seconds(run) + self.decode_seconds(run, run.test_examples + curve)

    def process_seconds(self, kind: str) -> float:
        if self.zygote:
            kind = "zygote_client"
        return self.calibration[f"{kind}_process_seconds"] + DVC_STAGE_SECONDS

    def stage_seconds(self, stage: Stage) -> float:
        if stage.kind == "zygote":  # its imports, once: a training stage's and a report stage's
            return self.calibration["training_process_seconds"] + self.calibration["report_process_seconds"]
        if stage.kind == "mirror":
            return self.process_seconds("training") + self.mirror_seconds()
        if stage.kind == "platform":
            return self.process_seconds("training") + FINGERPRINT_SECONDS
        if stage.kind == "data":
            return stage.processes * self.process_seconds("report") + stage.rows * self.calibration["tokenize_seconds_per_row"]
        if stage.kind in ("rows", "rows_fewshot", "code"):  # a report-sized process (code: hashing a few files)
            return self.process_seconds("report")
        if stage.kind == "tables":
            return TABLES_PROCESSES * self.process_seconds("report")
        runs = [self.run_seconds(r) for r in stage.runs]
        return stage.processes * self.process_seconds("training") + makespan(runs, stage.workers)

    def mirror_seconds(self) -> float:
        """The tiny backbone's pre-training (every weight trained) and its probes (greedy decoding)."""
        m = self.params.mirror
        tiny = self.backbones.get("tiny-t5")
        if tiny is None or tiny.measured is None:
            return 0.0
        steps, batch = m.pretrain["steps"], m.pretrain["batch_size"]
        probes = 2 * len(m.pretrain["rules"]) * m.pretrain["probe_rows"]
        length = self.input_lengths.get(("mirror", "pretrain"), self.params.data.max_length)
        return (steps * batch * tiny.full_step_per_row(length)
                + probes * tiny.decode_per_example(LABEL_TARGET_TOKENS))


def makespan(durations: list[float], workers: int) -> float:
    """When the last of ``durations`` ends, each worker taking the next job in order when it is free."""
    if workers <= 1 or len(durations) <= 1:
        return sum(durations)
    free = [0.0] * min(workers, len(durations))
    for duration in durations:
        heapq.heappush(free, heapq.heappop(free) + duration)
    return max(free)
