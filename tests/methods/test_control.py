"""control: pt's initial prompt, frozen; the loop scores it as built and runs no step."""
import torch

from ptbench.config import TrainConfig
from ptbench.methods import build_method, method_config
from ptbench.methods.base import BackboneContext
from ptbench.tasks import get_task
from ptbench.train.backbone import FAMILIES, freeze, remove_dropout
from ptbench.train.loop import train
from tiny import DigitTokenizer, toy_split

D = 32


def build(name: str, embeddings: torch.nn.Embedding):
    ctx = BackboneContext(d_model=D, word_embeddings=embeddings, max_length=24, generator=torch.Generator().manual_seed(3),
                          vocab_sample_size=64)
    return build_method(name, method_config(name, {"length": 5}), ctx)


def test_the_control_prompt_is_pts_initial_draw_and_nothing_trains():
    embeddings = torch.nn.Embedding(64, D)
    control, pt = build("control", embeddings), build("pt", embeddings)
    assert torch.equal(control.prompt(), pt.prompt().detach())  # same seed, same knobs: the same draw
    assert list(control.parameters()) == [] and "embedding" in control.state_dict()
    assert (control.trainable_parameter_count(), control.stored_parameter_count()) == (0, 0)


def test_the_loop_validates_a_control_once_and_takes_no_step():
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config(vocab_size=64, d_model=D, d_ff=64, d_kv=8, num_heads=4, num_layers=2,
                                                decoder_start_token_id=0, pad_token_id=0, eos_token_id=1))
    freeze(model)
    remove_dropout(model)
    control = build("control", model.get_input_embeddings())
    before = control.prompt().clone()
    cfg = TrainConfig(steps=4, batch_size=8, eval_interval=2, eval_batch_size=12, max_new_tokens=3, weight_decay=0.0,
                      warmup_steps=0, max_grad_norm=1.0, log_interval=1, checkpoint_interval=2, decoding="generate")
    result = train(FAMILIES["seq2seq"](model, DigitTokenizer()), control, get_task("rte"), toy_split(),
                   toy_split(12, seed=1), cfg, seed=0, pad_id=0)
    assert result.best_step == 0 and [h["step"] for h in result.history] == [0]
    assert set(result.history[0]) == {"step", "validation_accuracy", "validation_invalid_rate"}
    assert torch.equal(result.best_state["embedding"], before)
