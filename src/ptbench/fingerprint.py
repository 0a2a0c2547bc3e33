"""The platform fingerprint: do this machine's CPU kernels compute the committed smoke's bits?

A small deterministic computation that exercises what the smoke's numbers go through (a few steps of
the mirror's full pre-training of a config-initialised tiny T5: MKL's matrix products, ATen's softmax,
norms and reductions, AdamW's VML square roots, gradient clipping; a gated-GELU T5 as the v1.1
backbones, whose GELU is oneDNN's; then prompt tuning of the frozen T5 through the one training loop,
with its greedy validation), hashed bit for bit. ``results/platform.json`` (the ``platform`` stage)
commits the hash beside the smoke's results with the platform that made it (``numerics.in_force``).

The regression check (tests/test_pipeline.py, tests/test_regression.py, ``ptbench audit``) computes it
first: equal, the smoke is compared exactly; different, this machine computes other bits than the
baseline's, and the check says so in one line naming what differs, instead of listing every cell as
moved. ~2 s, no data, no mirror.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path

BASELINE = Path("results/platform.json")
VOCAB = 96


class DigitTokenizer:
    """Decodes token ids 3..12 as the digits 0..9 (the toy split's answers); what the loop's greedy
    validation needs of a tokenizer. tests/tiny.py's method tests use it too."""
    pad_token_id, eos_token_id = 0, 1

    def batch_decode(self, sequences, skip_special_tokens=True):
        return ["".join(str(int(t) - 3) for t in row if 3 <= int(t) < 13) for row in sequences]


def toy_split(n: int = 24, seed: int = 0):
    """A split whose answer is the input's first token (a digit), as the method tests' toy task."""
    import torch

    from ptbench.data.prepare import PreparedSplit

    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(3, 13, (int(torch.randint(4, 10, (1,), generator=g)),), generator=g).tolist() + [1]
              for _ in range(n)]
    return PreparedSplit(inputs, [[row[0], 1] for row in inputs], [[str(row[0] - 3)] for row in inputs])


def _t5(feed_forward_proj: str):
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    return T5ForConditionalGeneration(T5Config(
        vocab_size=VOCAB, d_model=64, d_ff=256, d_kv=16, num_heads=4, num_layers=2, decoder_start_token_id=0,
        pad_token_id=0, eos_token_id=1, feed_forward_proj=feed_forward_proj, tie_word_embeddings=True))


def _full_training(model, digest, steps: int = 6) -> None:
    """As the mirror's pre-training (``mirror.pretrain.pretrain_backbone``): AdamW with weight decay,
    clipping, every weight trained; each loss and the final weights into ``digest``."""
    import torch

    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        inputs = torch.randint(2, VOCAB, (16, 24), generator=generator)
        labels = torch.randint(2, VOCAB, (16, 6), generator=generator)
        loss = model(input_ids=inputs, attention_mask=torch.ones_like(inputs), labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        digest.update(loss.detach().numpy().tobytes())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode() + tensor.detach().contiguous().numpy().tobytes())


def _prompt_tuning(model, digest) -> None:
    """pt on the frozen, pre-trained T5 through the one training loop (``train.loop.train``), validated by
    greedy generation: the trained prompt, the validation history and the loss into ``digest``."""
    import torch

    from ptbench.config import TrainConfig
    from ptbench.methods import build_method, method_config
    from ptbench.methods.base import BackboneContext
    from ptbench.tasks import get_task
    from ptbench.train.backbone import FAMILIES, freeze, remove_dropout
    from ptbench.train.loop import train

    freeze(model)
    remove_dropout(model)
    torch.manual_seed(0)
    embeddings = model.get_input_embeddings()
    ctx = BackboneContext(d_model=embeddings.embedding_dim, word_embeddings=embeddings, max_length=24,
                          generator=torch.Generator().manual_seed(0))
    method = build_method("pt", method_config("pt", {"length": 4, "lr": 0.3, "init": "vocab"}), ctx)
    method.attach(model)
    cfg = TrainConfig(steps=4, batch_size=8, eval_interval=4, eval_batch_size=12, max_new_tokens=3, weight_decay=1e-5,
                      warmup_steps=1, max_grad_norm=1.0, log_interval=1, checkpoint_interval=100, decoding="generate")
    result = train(FAMILIES["seq2seq"](model, DigitTokenizer()), method, get_task("rte"), toy_split(),
                   toy_split(12, seed=1), cfg, seed=0, pad_id=0)
    digest.update(json.dumps(result.history, sort_keys=True).encode())
    for name, tensor in sorted(result.best_state.items()):
        digest.update(name.encode() + tensor.contiguous().numpy().tobytes())


def compute() -> str:
    """The fingerprint of this process's CPU numerics (its pins must be in force: ``numerics.pin``
    before torch is imported)."""
    digest = hashlib.sha256()
    with contextlib.redirect_stdout(io.StringIO()):  # the loop's progress line: ~2 s need none
        gated = _t5("gated-gelu")
        _full_training(gated, digest, steps=2)
        model = _t5("relu")
        _full_training(model, digest)
        _prompt_tuning(model, digest)
    return digest.hexdigest()


def record() -> dict:
    """What ``results/platform.json`` holds: the fingerprint and the platform that computed it."""
    from ptbench.numerics import in_force

    return {"fingerprint": compute(), "platform": in_force()}


# The platform fields a one-line verdict names when they differ (the CPU model last: two models may well
# compute the same bits, so it is context, not the cause).
NAMED = ("machine", "cpu_vendor", "cpu_numerics", "aten_capability", "mkl_branch", "onednn_max_isa", "threads",
         "torch", "mkl", "onednn", "cpu")


def mismatch(committed: dict, observed: dict) -> str | None:
    """None when the fingerprints agree; else one line saying this platform computes other bits than the
    baseline's, naming what differs in the recorded platforms."""
    if committed["fingerprint"] == observed["fingerprint"]:
        return None
    before, after = committed.get("platform", {}), observed["platform"]
    differs = [f"{key} {before.get(key)!r} -> {after.get(key)!r}" for key in NAMED if before.get(key) != after.get(key)]
    what = "; ".join(differs) if differs else "no recorded setting differs (a kernel of this CPU model)"
    return (f"platform check: this machine computes other floating-point bits than the one that made the committed "
            f"smoke (fingerprint {observed['fingerprint'][:12]} != committed {committed['fingerprint'][:12]}; {what}), "
            f"so its results cannot be compared exactly here (docs/reliability.md: Numerics)")


def hardware_limits(committed: dict, observed: dict) -> list[str]:
    """Why the pins cannot make the two platforms compute the same bits (an AMD, ARM or pre-AVX2 CPU on
    either side: ``numerics.problems``); empty where they can (then a difference is a real drift, or a
    setting such as ``native`` that someone chose)."""
    from ptbench.numerics import problems

    return problems(observed["platform"]) + problems(committed.get("platform", {"cpu_numerics": "unknown"}))


def assess(baseline: Path = BASELINE) -> tuple[str | None, bool]:
    """(the one-line verdict or None, whether an exact comparison is promised here): a regression check
    fails on a verdict it was promised, and is skipped where the hardware rules it out."""
    if not Path(baseline).exists():
        return None, True
    committed, observed = json.loads(Path(baseline).read_text()), record()
    verdict = mismatch(committed, observed)
    limits = hardware_limits(committed, observed)
    if verdict is None or not limits:
        return verdict, True
    return f"{verdict}; not comparable exactly: {limits[0]}", False


def write(path: Path = BASELINE) -> dict:
    from ptbench.artifacts import atomic_write

    payload = record()
    atomic_write(path, lambda target: target.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n"))
    return payload
