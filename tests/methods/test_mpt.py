"""MPT: the distilled shared prompt times a per-task rank-r update (target adaptation), and the
multitask prompt distillation that produces it (ptbench.run.distill)."""
import pytest
import torch
from torch import nn

from ptbench.check.counting import meta_backbone
from ptbench.run.distill import distillation_loss
from ptbench.errors import ConfigError
from ptbench.methods.base import BackboneContext
from ptbench.methods.mpt import DistillationStudent, MptConfig, MultitaskPrompt

from tiny import D, FAMILY, VOCAB, fit, loss, tiny_model

L, TASKS = 6, ["mnli", "qqp"]


def distilled(seed=0, length=L, d=D, rank=1):
    g = torch.Generator().manual_seed(seed)
    return {"shared": torch.randn(length, d, generator=g), "cols": torch.randn(len(TASKS), length, rank, generator=g),
            "rows": torch.randn(len(TASKS), rank, d, generator=g), "tasks": list(TASKS)}


def context(states=None, table=None, seed=0):
    return BackboneContext(d_model=D, word_embeddings=table if table is not None else nn.Embedding(VOCAB, D),
                           max_length=24, generator=torch.Generator().manual_seed(seed), vocab_sample_size=VOCAB,
                           source_states={"mpt": distilled()} if states is None else states)


def config(**overrides):
    return MptConfig.from_params("mpt", {"sources": TASKS, "length": L, **overrides})


@pytest.mark.parametrize("section, key", [
    ({"sources": []}, "sources"),
    ({"sources": ["mnli", "mnli"]}, "sources"),
    ({"length": 0}, "length"),
    ({"rank": 0}, "rank"),
    ({"init": "random"}, "init"),
    ({"init": "exact", "init_task": "rte"}, "init_task"),
    ({"distill_weight": -1}, "distill_weight"),
    ({"distill_temperature": 0}, "distill_temperature"),
    ({"distill_steps": 0}, "distill_steps"),
])
def test_config_errors_are_one_line_and_name_the_key(section, key):
    with pytest.raises(ConfigError) as err:
        MptConfig.from_params("mpt", section)
    assert str(err.value).startswith(f"methods.mpt.{key}:") and "\n" not in str(err.value)


def test_defaults_are_the_papers():
    c = MptConfig.from_params("mpt", {})
    assert (c.sources, c.length, c.rank, c.init, c.lr) == (["mnli", "qnli", "qqp", "sst2", "squad", "record"],
                                                           100, 1, "average", 0.3)
    assert c.source_tasks() == c.sources and c.source_builder == "distillation"


def test_counts_on_meta_t5_base_are_mpts_77_6k():
    """l d + l r + r d = 76,800 + 100 + 768 = 77,668 per target task (MPT prints 77.6K)."""
    model = meta_backbone("t5-base")
    emb = model.get_input_embeddings()
    ctx = BackboneContext(d_model=768, word_embeddings=emb, max_length=256, generator=torch.Generator())
    method = MultitaskPrompt(MptConfig.from_params("mpt", {}), ctx)
    assert (method.trainable_parameter_count(), method.stored_parameter_count()) == (77_668, 77_668)


@pytest.mark.parametrize("init", ["average", "exact", "shared"])
def test_target_prompt_is_the_shared_prompt_times_the_chosen_update(init):
    state = distilled()
    method = MultitaskPrompt(config(init=init, init_task="qqp"), context({"mpt": state}))
    if init == "average":
        update = state["cols"].mean(0) @ state["rows"].mean(0)
    elif init == "exact":
        update = state["cols"][1] @ state["rows"][1]
    else:  # U, V keep PEFT's random init: only the shared prompt comes from the distillation
        update = method.peft.prefix_task_cols[0] @ method.peft.prefix_task_rows[0]
        assert not torch.allclose(update, state["cols"].mean(0) @ state["rows"].mean(0))
    torch.testing.assert_close(method.prompt(), state["shared"] * update)


def test_missing_distilled_state_names_the_stage():
    with pytest.raises(ConfigError, match=r"^methods\.mpt\.sources: no distilled MPT state .*transfer_source@mpt"):
        MultitaskPrompt(config(), context({}))


def test_changed_shapes_since_distillation_are_an_error():
    with pytest.raises(ConfigError, match="length/rank changed since distillation"):
        MultitaskPrompt(config(rank=2), context())


@pytest.mark.parametrize("family", FAMILY)
def test_trains_on_tiny_models_touching_only_its_parameters(family):
    model = tiny_model(family)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    method = MultitaskPrompt(config(), context(table=model.get_input_embeddings()))
    start = {k: v.clone() for k, v in method.state_dict().items()}
    initial = loss(model, method, family)
    fit(model, method, family, steps=3)
    assert loss(model, method, family) != initial
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    changed = [k for k, v in method.state_dict().items() if not torch.equal(v, start[k])]
    assert sorted(changed) == ["peft.embedding.weight", "peft.prefix_task_cols", "peft.prefix_task_rows"]


def test_seeded_and_a_trained_state_round_trips():
    """``shared`` leaves U, V at PEFT's random init: two builds with one seed agree; a trained
    state loaded into a fresh build gives the trained prompt."""
    def build_seeded(seed):
        torch.manual_seed(seed)
        return MultitaskPrompt(config(init="shared"), context())
    assert torch.equal(build_seeded(3).prompt(), build_seeded(3).prompt())
    assert not torch.equal(build_seeded(3).prompt(), build_seeded(4).prompt())
    model = tiny_model("seq2seq")
    trained = MultitaskPrompt(config(), context(table=model.get_input_embeddings()))
    best = fit(model, trained, "seq2seq", steps=3).best_state
    fresh = MultitaskPrompt(config(), context())
    fresh.load_state_dict(best)
    trained.load_state_dict(best)
    assert torch.equal(fresh.prompt(), trained.prompt())
    assert not torch.equal(fresh.prompt(), MultitaskPrompt(config(), context()).prompt())


def test_student_starts_every_task_at_the_mean_teacher_and_selects_tasks():
    teachers = [torch.randn(L, D), torch.randn(L, D)]
    student = DistillationStudent(config(rank=2), context({}), teachers)
    mean = torch.stack(teachers).mean(0)
    for k in range(2):
        student.select(k)
        torch.testing.assert_close(student.prompt(), mean)
    with torch.no_grad():
        student.peft.prefix_task_cols[1].mul_(2)
    student.select(1)
    torch.testing.assert_close(student.prompt(), 2 * mean)
    state = student.distilled_state()
    assert state["tasks"] == TASKS and state["cols"].shape == (2, L, 2) and state["rows"].shape == (2, 2, D)
    target = MultitaskPrompt(config(rank=2, init="exact", init_task="qqp"), context({"mpt": state}))
    torch.testing.assert_close(target.prompt(), 2 * mean)


def test_distillation_loss_is_the_task_loss_when_student_equals_teacher():
    logits, hidden = torch.randn(2, 3, 5), torch.randn(2, 3, 4)
    labels = torch.tensor([[1, 2, -100], [3, -100, -100]])
    ce = torch.tensor(0.7)
    same = distillation_loss((ce, logits, hidden), (ce, logits, hidden), labels, 0.9, 2.0)
    torch.testing.assert_close(same, ce)
    other = distillation_loss((ce, logits, hidden), (ce, logits + torch.randn(2, 3, 5), hidden + 1), labels, 0.9, 1.0)
    assert other > ce + 0.9  # the hidden MSE alone is 1
    # padded target positions do not count
    padded = logits.clone()
    padded[0, 2] += 100
    torch.testing.assert_close(distillation_loss((ce, padded, hidden), (ce, logits, hidden), labels, 0.9, 1.0), ce)
