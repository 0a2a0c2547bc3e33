"""``ptbench plan --device H100``: a profile's GPU-hours on a GPU class, before you have one.

Where there is no calibration of the GPU (``ptbench plan`` on it measures one), a run's cost is its
floating-point work over the device's dense BF16 peak at a stated utilisation, or, for decoding (one
token at a time: bound by reading the weights, not by arithmetic), the weights' bytes over the memory
bandwidth, whichever is slower:

- a training step per row, frozen backbone (every PEFT method): forward plus the backward pass to the
  inputs, 2 x the forward FLOPs (the method's own weight gradients are < a few % and left out); full
  fine-tuning adds the weights' gradients: 3 x forward;
- forward FLOPs per row: 2 per parameter and token; a T5 (encoder-decoder) sends the input through the
  encoder's half of the parameters and the target through the decoder's half: P x (input + target); a
  decoder-only model (Llama) sends both through all of them: 2 P x (input + target); attention's own
  FLOPs (quadratic in a length <= 512) are left out;
- decoding a token, per example: max(2 P_decoder FLOPs at the utilisation, 2 bytes x P_decoder / bandwidth
  / the evaluation batch), after one encoder pass over the input.

Process starts are a stated ``PROCESS_SECONDS`` (imports, the CUDA context, loading the backbone). The
numbers are an estimate from public peak figures (each device's source below), never a measurement; the
plan says so and, where this machine holds a calibration of the same GPU, prints the measured estimate
beside it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ptbench.errors import require_choice


@dataclass(frozen=True)
class Device:
    name: str
    bf16_tflops: float  # dense (no sparsity) BF16 tensor-core peak
    memory_gb: int
    bandwidth_tb_s: float
    source: str
    cuda_name: str  # a regular expression matching torch.cuda.get_device_name() of this class, and no other


DEVICES = {d.name: d for d in (
    Device("H100", 989.0, 80, 3.35, "NVIDIA H100 SXM5 datasheet: 989 TFLOPS dense BF16, 3.35 TB/s HBM3",
           r"H100(?!.*PCIe)"),
    Device("H100-PCIe", 756.0, 80, 2.0, "NVIDIA H100 PCIe datasheet: 756 TFLOPS dense BF16, 2.0 TB/s",
           r"H100.*PCIe"),
    Device("A100-80GB", 312.0, 80, 2.039, "NVIDIA A100 80GB SXM datasheet: 312 TFLOPS dense BF16, 2,039 GB/s",
           r"A100.*80GB"),
    Device("A100-40GB", 312.0, 40, 1.555, "NVIDIA A100 40GB datasheet: 312 TFLOPS dense BF16, 1,555 GB/s",
           r"A100.*40GB"),
    Device("L4", 121.0, 24, 0.3, "NVIDIA L4 datasheet: 121 TFLOPS dense BF16, 300 GB/s", r"\bL4\b"),
    Device("A10", 125.0, 24, 0.6, "NVIDIA A10 datasheet: 125 TFLOPS dense BF16, 600 GB/s", r"\bA10\b"),
)}
# Model FLOPs utilisation of a fine-tuning step: 30-50% is what large dense training reaches; small
# models and short sequences reach less. A stated assumption, printed with every estimate.
DEFAULT_UTILISATION = 0.35
# Per process: Python imports (~6.5 s measured on the CPU machine), the CUDA context and the backbone's
# weights from the local hub cache. A stated assumption.
PROCESS_SECONDS = {"training_process_seconds": 20.0, "report_process_seconds": 8.0,
                   "zygote_client_process_seconds": 2.0, "tokenize_seconds_per_row": 0.0002}
BYTES_PER_WEIGHT = 2  # bf16 (a 4-bit backbone reads ~4x fewer: left out, the estimate stays an upper bound)


def get_device(name: str) -> Device:
    require_choice("--device", name, sorted(DEVICES))
    return DEVICES[name]


@dataclass(frozen=True)
class FlopsBackbone:
    """A backbone's per-row costs on a device from its FLOPs: the interface ``estimate.Backbone`` offers."""

    name: str
    parameters: int
    family: str  # seq2seq | causal
    device: Device
    utilisation: float
    target_tokens: int  # a training row's target (the profile's max target length)
    input_tokens: int  # the encoder input a decoding example starts from (the profile's m)
    eval_batch: int
    measured: dict | None = None  # never: nothing was measured (estimate.mirror_seconds checks it)

    @property
    def _flops_per_second(self) -> float:
        return self.device.bf16_tflops * 1e12 * self.utilisation

    def _forward_flops(self, input_tokens: int, target_tokens: int) -> float:
        per_token = self.parameters if self.family == "seq2seq" else 2 * self.parameters
        return per_token * (input_tokens + target_tokens)

    def frozen_step_per_row(self, length: int) -> float:
        return 2 * self._forward_flops(length, self.target_tokens) / self._flops_per_second

    def full_step_per_row(self, length: int) -> float:
        return 3 * self._forward_flops(length, self.target_tokens) / self._flops_per_second

    def decode_per_example(self, tokens: int) -> float:
        decoder = self.parameters / 2 if self.family == "seq2seq" else self.parameters
        encode = (self._forward_flops(self.input_tokens, 0) if self.family == "seq2seq"
                  else 2 * self.parameters * self.input_tokens) / self._flops_per_second
        per_token_compute = 2 * decoder / self._flops_per_second
        per_token_memory = BYTES_PER_WEIGHT * decoder / (self.device.bandwidth_tb_s * 1e12) / self.eval_batch
        return encode + tokens * max(per_token_compute, per_token_memory)


def device_backbones(params, device: Device, utilisation: float) -> dict[str, FlopsBackbone]:
    """Every backbone of ``params`` (and the mirror's, when it is built) on ``device``."""
    from ptbench.backbones import get_backbone
    from ptbench.check.counting import backbone_size

    names = list(dict.fromkeys([*params.backbones, *(["tiny-t5"] if params.hub.mirror else [])]))
    return {name: FlopsBackbone(name, backbone_size(name, params.mirror.backbone), get_backbone(name).family, device,
                                utilisation, params.data.max_target_length, params.data.max_length,
                                params.train.eval_batch_size) for name in names}


def check_utilisation(value: float) -> float:
    from ptbench.errors import ConfigError

    if not 0 < value <= 1:
        raise ConfigError(f"--utilisation: {value} must lie in (0, 1] (a fraction of the device's peak)")
    return value
