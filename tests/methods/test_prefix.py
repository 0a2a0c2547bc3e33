"""Prefix-tuning through HF PEFT's PrefixEncoder: config checks, counts on meta backbones (= PEFT's), the
prefix cache against PEFT's own PeftModel, training, generation and rank classification on tiny T5 and Llama."""
import pytest
import torch
from transformers import EncoderDecoderCache, T5Config, T5ForConditionalGeneration

import tiny
from ptbench.check.counting import meta_backbone
from ptbench.errors import ConfigError
from ptbench.methods.base import BackboneContext
from ptbench.methods.lora import import_peft
from ptbench.methods.prefix import PrefixConfig, PrefixTuning
from ptbench.train.backbone import FAMILIES, Batch, freeze, remove_dropout
from tiny import BATCH, FAMILY, DigitTokenizer, fit, loss, tiny_model

SMALL = {"length": 4}
PROJECTED = {"length": 4, "projection": True, "hidden_size": 6}


def build(model, section=None, seed=0):
    return tiny.build(model, PrefixTuning, PrefixConfig, "prefix", SMALL if section is None else section, seed)


def identity(embeds, mask):  # no method: the bare backbone
    return embeds, mask


class RawTokenizer(DigitTokenizer):
    """Decodes to the token ids themselves, so generated sequences can be compared id by id."""

    def batch_decode(self, sequences, skip_special_tokens=True):
        return [[int(t) for t in row] for row in sequences]


# -- config --------------------------------------------------------------------------------------
@pytest.mark.parametrize("section, key", [
    ({"length": 0}, "length"), ({"length": 2.5}, "length"), ({"length": True}, "length"),
    ({"projection": "yes"}, "projection"), ({"projection": 1}, "projection"),
    ({"projection": True, "hidden_size": 0}, "hidden_size"), ({"hidden_size": 8}, "hidden_size"),
    ({"init": "uniform"}, "init"), ({"lr": 0}, "lr"), ({"weight_decay": -1}, "weight_decay"),
    ({"num_virtual_tokens": 20}, ""),
])
def test_config_errors_are_one_line_and_name_the_key(section, key):
    with pytest.raises(ConfigError) as error:
        PrefixConfig.from_params("prefix", section)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"methods.prefix.{key}" if key else "methods.prefix: unknown key(s) num_virtual_tokens")


def test_defaults_are_peft_s():
    cfg = PrefixConfig()
    assert (cfg.length, cfg.projection, cfg.hidden_size, cfg.init, cfg.lr) == (20, False, None, "normal", 1e-2)


# -- counts --------------------------------------------------------------------------------------
def count(backbone, section=None):
    return tiny.meta_count(backbone, PrefixTuning, PrefixConfig.from_params("prefix", section))


def test_counts_on_meta_backbones():
    # n 2 L w: 20 x 2 x 12 x 768 on T5-base (the decoder's 12 layers, w = 12 heads x d_kv 64)
    assert count("t5-base") == (368_640, 368_640)
    # + the MLP: n w + (w h + h) + (2 L w h + 2 L w); stored: the folded prefix
    assert count("t5-base", {"projection": True}) == (14_780_160, 368_640)  # h = w = 768
    assert count("t5-base", {"projection": True, "hidden_size": 512}) == (9_864_704, 368_640)
    assert count("t5-small") == (122_880, 122_880)  # 20 x 2 x 6 x 512
    assert count("t5-large") == (983_040, 983_040)  # 20 x 2 x 24 x 1024
    assert count("t5-small-lm-adapt") == (122_880, 122_880)  # 20 x 2 x 8 x (6 heads x 64): w != d_model
    assert count("llama-2-7b") == (5_242_880, 5_242_880)  # 20 x 2 x 32 x 4096


@pytest.mark.parametrize("section", [{}, {"projection": True}, {"projection": True, "hidden_size": 512}])
def test_trainable_count_is_peft_s(section):
    peft = import_peft()
    model = meta_backbone("t5-base")
    peft_config = peft.PrefixTuningConfig(task_type="SEQ_2_SEQ_LM", num_virtual_tokens=20,
                                          prefix_projection=section.get("projection", False),
                                          encoder_hidden_size=section.get("hidden_size"))
    assert peft.get_peft_model(model, peft_config).get_nb_trainable_parameters()[0] == count("t5-base", section)[0]


def test_the_encoder_is_peft_s_and_lives_on_the_meta_device_for_counting():
    peft = import_peft()
    model = meta_backbone("t5-base")
    method = PrefixTuning(PrefixConfig(projection=True), BackboneContext(
        d_model=768, word_embeddings=model.get_input_embeddings(), max_length=256,
        generator=torch.Generator().manual_seed(0)))
    assert method.trainable_parameter_count() == 0 and method.stored_parameter_count() == 0  # before attach
    method.attach(model)
    assert isinstance(method.encoder, peft.PrefixEncoder)
    assert all(p.is_meta and p.requires_grad for p in method.parameters())
    assert method.encoder.transform[2].weight.shape == (2 * 12 * 768, 768)
    assert method.diagnostics() == {}


def test_the_prefix_needs_an_attached_backbone():
    method = PrefixTuning(PrefixConfig(length=2), None)
    with pytest.raises(RuntimeError, match="attach"):
        method.model_inputs(1)


# -- the cache -----------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILY)
def test_layer_l_reads_rows_2l_and_2l_plus_1_split_into_heads(family):
    model = tiny_model(family)
    method = build(model)
    cache = method.model_inputs(3)["past_key_values"]
    if family == "seq2seq":  # the decoder's self-attention cache; the cross-attention part stays empty
        assert isinstance(cache, EncoderDecoderCache) and cache.cross_attention_cache.get_seq_length() == 0
        cache = cache.self_attention_cache
    table = method.encoder.embedding.weight.detach().view(4, 2 * 2, 4, 8)  # (n, 2L, heads, head size)
    assert len(cache.layers) == 2 and cache.get_seq_length() == 4
    for layer in range(2):
        keys, values = cache.layers[layer].keys, cache.layers[layer].values
        assert keys.shape == values.shape == (3, 4, 4, 8)  # (batch, heads, n, head size)
        for row in range(3):
            assert torch.equal(keys[row], table[:, 2 * layer].transpose(0, 1))
            assert torch.equal(values[row], table[:, 2 * layer + 1].transpose(0, 1))


@pytest.mark.parametrize("section", [SMALL, PROJECTED])
def test_causal_loss_is_peft_s(section):
    """On Llama, PEFT's PeftModelForCausalLM with the same PrefixEncoder weights gives the same loss."""
    peft = import_peft()
    model = tiny_model("causal")
    method = build(model, section)
    reference = peft.get_peft_model(tiny_model("causal"), peft.PrefixTuningConfig(
        task_type="CAUSAL_LM", num_virtual_tokens=4, prefix_projection=section.get("projection", False),
        encoder_hidden_size=section.get("hidden_size")))
    reference.prompt_encoder["default"].load_state_dict(method.encoder.state_dict())
    source, target = torch.tensor([[5, 6, 7, 8, 1], [9, 4, 4, 3, 1]]), torch.tensor([[6, 1], [10, 1]])
    ours = FAMILIES["causal"](model, DigitTokenizer()).loss(method, Batch(source, torch.ones_like(source), target))
    labels = torch.cat([torch.full_like(source, -100), target], 1)
    theirs = reference(input_ids=torch.cat([source, target], 1), attention_mask=torch.ones(2, 7, dtype=torch.long),
                       labels=labels).loss
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    assert ours.item() != pytest.approx(loss(model, identity, "causal"), rel=1e-3)


@pytest.mark.parametrize("section", [SMALL, PROJECTED])
def test_seq2seq_loss_is_peft_s_on_a_one_layer_t5(section):
    """PEFT's seq2seq layout sends decoder layer l rows 4l, 4l + 1 (mod 2L); with one layer that is
    rows 0, 1, ours: so the caches, positions and masks must agree exactly there."""
    peft = import_peft()

    def one_layer_t5():
        torch.manual_seed(0)
        model = T5ForConditionalGeneration(T5Config(vocab_size=64, d_model=32, d_ff=64, d_kv=8, num_heads=4,
                                                    num_layers=1, decoder_start_token_id=0, pad_token_id=0,
                                                    eos_token_id=1))
        freeze(model)
        remove_dropout(model)
        return model.train()

    model = one_layer_t5()
    method = build(model, section)
    reference = peft.get_peft_model(one_layer_t5(), peft.PrefixTuningConfig(
        task_type="SEQ_2_SEQ_LM", num_virtual_tokens=4, prefix_projection=section.get("projection", False),
        encoder_hidden_size=section.get("hidden_size")))
    reference.prompt_encoder["default"].load_state_dict(method.encoder.state_dict())
    ours = FAMILIES["seq2seq"](model, DigitTokenizer()).loss(method, BATCH)
    theirs = reference(input_ids=BATCH.input_ids, attention_mask=BATCH.attention_mask, labels=BATCH.labels).loss
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)


# -- the prefix reaches the backbone -------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILY)
def test_the_prefix_changes_loss_generation_and_rank_only_through_the_hook(family):
    model = tiny_model(family).eval()
    method = build(model, {"length": 4}).eval()
    with torch.no_grad():  # a large prefix, so that greedy outputs move too
        method.encoder.embedding.weight.mul_(4)
    runner = FAMILIES[family](model, RawTokenizer())
    candidates = [[k, 1] for k in range(3, 13)]

    def outputs(m):
        return (loss(model, m, family), runner.candidate_log_likelihoods(m, BATCH, candidates),
                runner.generate(m, BATCH, 4))

    with_prefix, bare = outputs(method), outputs(identity)
    assert with_prefix[0] != pytest.approx(bare[0], rel=1e-3)
    assert not torch.allclose(with_prefix[1], bare[1], atol=1e-3)
    assert with_prefix[2] != bare[2]
    method.model_inputs = lambda batch_size: {}  # the hook ignored: exactly the bare backbone
    ignored = outputs(method)
    assert ignored[0] == pytest.approx(bare[0], rel=1e-6) and torch.allclose(ignored[1], bare[1], atol=1e-5)
    assert ignored[2] == bare[2]


@pytest.mark.parametrize("family", FAMILY)
def test_rank_scores_are_the_loss_of_each_candidate_whatever_the_padding(family):
    """Each candidate's score on the padded batch = -(its loss x its length) on the example alone: the
    prefix enters rank classification exactly as training, with positions independent of padding."""
    model = tiny_model(family).eval()
    method = build(model, PROJECTED).eval()
    runner = FAMILIES[family](model, DigitTokenizer())
    candidates = [[5, 1], [7, 8, 1], [1]]
    scores = runner.candidate_log_likelihoods(method, BATCH, candidates)
    assert (BATCH.attention_mask == 0).any()
    for i in range(len(BATCH.input_ids)):
        keep = BATCH.attention_mask[i].bool()
        ids = BATCH.input_ids[i][keep].unsqueeze(0)
        for j, candidate in enumerate(candidates):
            alone = Batch(ids, torch.ones_like(ids), torch.tensor([candidate]))
            with torch.no_grad():
                expected = -runner.loss(method, alone).item() * len(candidate)
            assert scores[i, j].item() == pytest.approx(expected, rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("family", FAMILY)
def test_greedy_generation_continues_the_prefix(family):
    """Every generated token is the most likely next token under the prefix (scored by rank
    classification on the example alone), so generate sees the same prefix, mask and positions."""
    model = tiny_model(family).eval()
    method = build(model, {"length": 4}).eval()
    with torch.no_grad():
        method.encoder.embedding.weight.mul_(4)
    runner = FAMILIES[family](model, RawTokenizer())
    generated = runner.generate(method, BATCH, 3)
    vocabulary = list(range(tiny.VOCAB))
    for i, row in enumerate(generated):
        row = row[1:] if family == "seq2seq" else row  # T5's output starts with the decoder start token
        keep = BATCH.attention_mask[i].bool()
        ids = BATCH.input_ids[i][keep].unsqueeze(0)
        alone = Batch(ids, torch.ones_like(ids), BATCH.labels[i:i + 1])
        done = []
        for token in row:
            best = runner.rank(method, alone, [done + [v] for v in vocabulary])[0]
            assert best == token
            done.append(token)
            if token == 1:  # end of sequence: the rest is padding
                break


def test_seq2seq_rank_still_runs_the_encoder_and_cross_attention_once_per_batch():
    model = tiny_model("seq2seq").eval()
    method = build(model).eval()
    encoder, cross_keys = [], []
    handles = [model.get_encoder().register_forward_hook(lambda *args: encoder.append(1)),
               model.decoder.block[0].layer[1].EncDecAttention.k.register_forward_hook(
                   lambda *args: cross_keys.append(1))]
    try:
        FAMILIES["seq2seq"](model, DigitTokenizer()).rank(method, BATCH, [[5, 1], [7, 8, 1], [1]])
    finally:
        for handle in handles:
            handle.remove()
    assert len(encoder) == 1 and len(cross_keys) == 1


# -- training ------------------------------------------------------------------------------------
@pytest.mark.parametrize("section", [SMALL, PROJECTED, {"length": 4, "init": "zero"},
                                     {"length": 4, "projection": True, "init": "zero"}])
@pytest.mark.parametrize("family", FAMILY)
def test_only_the_prefix_trains_and_the_loss_moves(family, section):
    model = tiny_model(family)
    backbone = {k: v.clone() for k, v in model.state_dict().items()}
    method = build(model, {**section, "lr": 0.05})
    before = {k: v.clone() for k, v in method.state_dict().items()}
    start = loss(model, method, family)
    result = fit(model, method, family, steps=3)
    assert result.diverged is None
    assert loss(model, method, family) != pytest.approx(start, rel=1e-4)
    changed = [k for k, v in method.state_dict().items() if not torch.equal(v, before[k])]
    assert changed == list(before)  # every tensor of the prefix encoder moved
    assert all(torch.equal(v, backbone[k]) for k, v in model.state_dict().items())  # the backbone did not
    assert not any(p.requires_grad for p in model.parameters())
    logged = [h for h in result.history if "loss" in h]
    assert {"prefix_key_norm", "prefix_value_norm"} <= set(logged[0])


@pytest.mark.parametrize("projection", [False, True])
def test_zero_init_is_a_zero_prefix(projection):
    method = build(tiny_model("causal"), {"length": 3, "projection": projection, "init": "zero"})
    assert torch.count_nonzero(method.key_values()) == 0
    assert method.diagnostics() == {"prefix_key_norm": 0.0, "prefix_value_norm": 0.0}


@pytest.mark.parametrize("family", FAMILY)
def test_same_seed_same_prefix_and_a_saved_state_reproduces_the_trained_loss(family):
    a, b, c = (build(tiny_model(family), PROJECTED, seed=s).state_dict() for s in (3, 3, 4))
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], b[k]) for k in a) and all(not torch.equal(a[k], c[k]) for k in a)
    trained_model = tiny_model(family)
    trained = build(trained_model, PROJECTED)
    trained.load_state_dict(fit(trained_model, trained, family).best_state)
    fresh_model = tiny_model(family)
    fresh = build(fresh_model, PROJECTED)
    fresh.load_state_dict(trained.state_dict())
    assert loss(fresh_model, fresh, family) == loss(trained_model, trained, family)
