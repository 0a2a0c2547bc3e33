"""SPoT: a trainable copy of one frozen source prompt, then plain prompt tuning."""
import pytest
import torch
from torch import nn

from ptbench.config import TrainConfig
from ptbench.check.counting import meta_backbone
from ptbench.errors import ConfigError
from ptbench.methods.base import BackboneContext
from ptbench.methods.spot import SoftPromptTransfer, SpotConfig
from ptbench.tasks import get_task
from ptbench.train.backbone import FAMILIES, freeze, remove_dropout
from ptbench.train.loop import train

from tiny import D, VOCAB, DigitTokenizer, tiny_model, toy_split

L = 6


def context(sources=None, seed=0, table=None, d=D):
    return BackboneContext(d_model=d, word_embeddings=table if table is not None else nn.Embedding(VOCAB, d),
                           max_length=24, generator=torch.Generator().manual_seed(seed), vocab_sample_size=VOCAB,
                           source_prompts=sources if sources is not None else {})


def sources(seed=0, length=L, d=D):
    g = torch.Generator().manual_seed(seed)
    return {"mnli": torch.randn(length, d, generator=g), "qqp": torch.randn(length, d, generator=g)}


def build(ctx=None, **overrides):
    return SoftPromptTransfer(SpotConfig.from_params("spot", {"length": L, **overrides}), ctx or context(sources()))


@pytest.mark.parametrize("section, key", [
    ({"sources": ["mnli", "qqp"]}, "sources"),
    ({"sources": "mnli"}, "sources"),
    ({"sources": []}, "sources"),
    ({"sources": [""]}, "sources"),
    ({"length": 0}, "length"),
    ({"length": True}, "length"),
    ({"lr": 0}, "lr"),
])
def test_config_errors_are_one_line_and_name_the_key(section, key):
    with pytest.raises(ConfigError) as err:
        SpotConfig.from_params("spot", section)
    message = str(err.value)
    assert message.startswith(f"methods.spot.{key}:") and "\n" not in message


def test_unknown_keys_are_rejected():
    with pytest.raises(ConfigError, match=r"^methods\.spot: unknown key\(s\) source;"):
        SpotConfig.from_params("spot", {"source": "mnli"})


def test_defaults_are_attempts_spot_baseline():
    config = SpotConfig.from_params("spot", {})
    assert (config.sources, config.length, config.lr) == (["mnli"], 100, 0.3)
    assert config.source_tasks() == ["mnli"]


def test_missing_source_names_the_sources_and_the_available_ones():
    with pytest.raises(ConfigError) as err:
        build(context({"qqp": torch.zeros(L, D)}))
    message = str(err.value)
    assert message.startswith("methods.spot.sources:") and "'mnli'" in message and "available: qqp" in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match="available: none"):
        build(context({}))


def test_source_length_must_equal_the_configured_length():
    with pytest.raises(ConfigError, match=r"^methods\.spot\.length: 100, but the source prompt of 'mnli' has 6 tokens"):
        build(length=100)
    with pytest.raises(ConfigError, match=r"^methods\.spot\.sources: .*shape \(6, 16\)"):
        build(context({"mnli": torch.zeros(L, 16)}))


def test_counts_on_meta_t5_base():
    """PT/SPoT 77K on T5-base (ATTEMPT, seed 003 Table 4): 100 x 768 = 76,800, trained and stored."""
    embeddings = meta_backbone("t5-base").get_input_embeddings()
    ctx = BackboneContext(d_model=embeddings.embedding_dim, word_embeddings=embeddings, max_length=256,
                          generator=torch.Generator().manual_seed(0))  # no source stage ran: placeholders
    method = SoftPromptTransfer(SpotConfig.from_params("spot", {}), ctx)
    assert method.embedding.is_meta
    assert (method.trainable_parameter_count(), method.stored_parameter_count()) == (76_800, 76_800)


def test_initial_prompt_is_an_exact_copy_of_the_source():
    prompts = sources()
    method = build(context(prompts), sources=["qqp"])
    assert torch.equal(method.embedding.detach(), prompts["qqp"])
    assert method.embedding.data_ptr() != prompts["qqp"].data_ptr()
    assert method.embedding.requires_grad and method.source_task == "qqp"


def test_prompt_is_prepended_like_pt():
    method = build()
    embeds, mask = torch.randn(2, 3, D), torch.tensor([[1, 1, 0], [1, 1, 1]])
    out, out_mask = method(embeds, mask)
    assert torch.equal(out[:, :L], method.embedding.detach().expand(2, -1, -1))
    assert torch.equal(out[:, L:], embeds) and torch.equal(out_mask[:, L:], mask)
    assert torch.equal(out_mask[:, :L], torch.ones(2, L, dtype=mask.dtype))


def tiny_t5():
    return tiny_model("seq2seq")


def test_training_moves_the_copy_and_never_the_source():
    model = tiny_t5()
    freeze(model)
    remove_dropout(model)
    prompts = sources()
    kept = {task: prompt.clone() for task, prompt in prompts.items()}
    ctx = context(prompts, table=model.get_input_embeddings())
    method = build(ctx, lr=0.05)
    cfg = TrainConfig(steps=3, batch_size=8, eval_interval=3, eval_batch_size=12, max_new_tokens=3, weight_decay=0.0,
                      warmup_steps=0, max_grad_norm=1.0, log_interval=1, checkpoint_interval=3, decoding="generate")
    result = train(FAMILIES["seq2seq"](model, DigitTokenizer()), method, get_task("rte"), toy_split(),
                   toy_split(12, seed=1), cfg, seed=0, pad_id=0)
    assert result.diverged is None
    assert not torch.equal(method.embedding.detach(), kept["mnli"])
    assert all(torch.equal(prompts[task], kept[task]) for task in kept)
    fresh = build(context(prompts, table=model.get_input_embeddings()), lr=0.05)
    fresh.load_state_dict(result.best_state)  # the best state reloads into a freshly built method
    assert set(result.best_state) == {"embedding"}
