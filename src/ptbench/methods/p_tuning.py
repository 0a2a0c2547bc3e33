"""P-Tuning (Liu et al., 2021) as HF PEFT's ``PromptEncoder``: a learned prompt through an encoder.

MLP (PEFT's default, seed 003 B.3): Linear(d, h) -> ReLU -> Linear(h, h) -> ReLU -> Linear(h, d),
with biases, h = d. LSTM: a bidirectional LSTM (d -> h per direction) over the n prompt tokens,
then Linear(2h, 2h) -> ReLU -> Linear(2h, d). Trained: the n x d prompt and the encoder
(n d + 3(d^2 + d) with the MLP: 793K / 1.7M / 3.1M on T5-small / base / large, seed 003 Table 1);
stored after training: the projected prompt, n x d (PEFT saves the encoder's output).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ptbench.errors import require, require_choice
from ptbench.methods.base import (
    BackboneContext, INIT_CHOICES, MethodConfig, PeftMethod, initial_prompt, is_int, seeded_linear_init,
)

ENCODERS = ("mlp", "lstm")
P_TUNING_INIT_CHOICES = ("normal", *INIT_CHOICES)


@dataclass
class PTuningConfig(MethodConfig):
    length: int = 10  # n: virtual tokens (10 in seed 003)
    encoder: str = "mlp"  # mlp (PEFT default, used by seed 003) | lstm (bidirectional LSTM + 2 linears)
    hidden_size: int | None = None  # h of the encoder; null: d (PEFT sets encoder_hidden_size = token_dim)
    lstm_layers: int = 2  # encoder lstm only: stacked LSTM layers (PEFT encoder_num_layers; the MLP ignores it)
    lstm_dropout: float = 0.0  # encoder lstm only: dropout between LSTM layers (PEFT encoder_dropout)
    init: str = "normal"  # normal N(0, 1) (PEFT's nn.Embedding) | vocab | uniform [-init_range, init_range] | text
    init_range: float = 0.5  # for init: uniform
    init_text: str = ""  # for init: text, tiled to the prompt length
    lr: float = 0.3  # seed 003 B.2: 3e-1 for every prompt-based method

    def __post_init__(self) -> None:
        super().__post_init__()
        require(is_int(self.length, 1), "length", f"must be an integer >= 1, got {self.length!r}")
        require_choice("encoder", self.encoder, ENCODERS)
        require(self.hidden_size is None or is_int(self.hidden_size, 1),
                "hidden_size", f"must be null (= d) or an integer >= 1, got {self.hidden_size!r}")
        require(is_int(self.lstm_layers, 1), "lstm_layers", f"must be an integer >= 1, got {self.lstm_layers!r}")
        require(isinstance(self.lstm_dropout, (int, float)) and 0 <= self.lstm_dropout < 1,
                "lstm_dropout", f"must be a number in [0, 1), got {self.lstm_dropout!r}")
        require_choice("init", self.init, P_TUNING_INIT_CHOICES)
        require(isinstance(self.init_range, (int, float)) and self.init_range > 0,
                "init_range", f"must be a positive number, got {self.init_range!r}")


class PTuning(PeftMethod):
    config_class = PTuningConfig

    def __init__(self, config: PTuningConfig, ctx: BackboneContext) -> None:
        super().__init__(config, ctx)
        d = ctx.d_model
        h = config.hidden_size or d
        meta = ctx.word_embeddings.weight.is_meta
        if config.init == "normal":
            start = torch.empty(config.length, d, device="meta") if meta else \
                torch.randn(config.length, d, generator=ctx.generator)
        else:
            start = initial_prompt(ctx, config.length, config.init, config.init_range, config.init_text)
        self.embedding = nn.Parameter(start)
        if config.encoder == "lstm":
            self.lstm = nn.LSTM(d, h, num_layers=config.lstm_layers, dropout=config.lstm_dropout,
                                bidirectional=True, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(2 * h, 2 * h), nn.ReLU(), nn.Linear(2 * h, d))
        else:
            self.lstm = None
            self.mlp = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, d))
        if not meta:
            # PyTorch's default inits (Linear: U(+-1/sqrt(fan_in)); LSTM: U(+-1/sqrt(h))) from the seeded generator.
            with torch.no_grad():
                for layer in self.mlp:
                    if isinstance(layer, nn.Linear):
                        seeded_linear_init(layer, ctx.generator)
                if self.lstm is not None:
                    for weight in self.lstm.parameters():
                        weight.uniform_(-h ** -0.5, h ** -0.5, generator=ctx.generator)

    def prompt(self) -> torch.Tensor:
        tokens = self.embedding
        if self.lstm is not None:
            tokens = self.lstm(tokens.unsqueeze(0))[0].squeeze(0)  # (n, 2h): both directions concatenated
        return self.mlp(tokens)

    def stored_parameter_count(self) -> int:
        return self.embedding.numel()  # only the projected prompt, n x d, is kept


# Registered by discovery (ptbench.methods): name -> (module class, config class, one-line summary)
ENTRIES = {
    "p_tuning": (PTuning, PTuningConfig,
        "P-Tuning: prompt through HF PEFT's MLP/LSTM encoder (Liu et al., 2021)"),
}
