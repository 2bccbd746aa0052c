"""TRL's SFTTrainer trains on the ``messages`` and ``prompt-completion`` views, map-style and streaming.

A tiny randomly initialised Llama and a BPE tokenizer trained here on the release's own
text stand in for a real model: nothing is downloaded (``HF_HUB_OFFLINE=1``). Two
optimizer steps run on each view, and the tokenized rows TRL trains on are checked for
what the README says about the loss: on every token of a ``messages`` row by default,
on the assistant turns with ``assistant_only_loss=True``, and on the completion (the
last assistant turn) only for ``prompt-completion``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from chatcorpus.training.views import load_view

pytestmark = pytest.mark.slow
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
trl = pytest.importorskip("trl")
tokenizers = pytest.importorskip("tokenizers")

CONFIG = "chatglm-issues"  # system prompts and history turns: the rows where a wrong mask would show
SPECIAL = {"pad": "<pad>", "unk": "<unk>", "end": "<|end|>"}
ROLES = ("system", "user", "assistant")
# A chat template with {% generation %} around assistant turns, as assistant_only_loss needs.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>"
    "{% if m['role'] == 'assistant' %}{% generation %}{{ m['content'] }}<|end|>{% endgeneration %}"
    "{% else %}{{ m['content'] }}<|end|>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
IGNORED = -100


def _texts(release: Path) -> list[str]:
    rows = load_view(release, CONFIG, "alpaca", streaming=True)
    texts = []
    for row in rows:
        texts += [row["instruction"], row["input"], row["output"], row["system"]]
        texts += [turn[side] for turn in row["history"] for side in ("user", "assistant")]
    return texts


@pytest.fixture(scope="module")
def tokenizer(demo_release: Path) -> Any:
    """A byte-level BPE tokenizer trained on the release's own text; role markers are whole tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    specials = [SPECIAL["pad"], SPECIAL["unk"], SPECIAL["end"], *(f"<|{role}|>" for role in ROLES)]
    bpe = Tokenizer(models.BPE(unk_token=SPECIAL["unk"]))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(_texts(demo_release), trainer=trainer)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        pad_token=SPECIAL["pad"],
        unk_token=SPECIAL["unk"],
        eos_token=SPECIAL["end"],
        additional_special_tokens=[f"<|{role}|>" for role in ROLES],
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _model(tokenizer: Any) -> Any:
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return transformers.LlamaForCausalLM(config)


def _train(release: Path, tmp_path: Path, tokenizer: Any, view: str, streaming: bool, **config: Any) -> Any:
    dataset = load_view(release, CONFIG, view, streaming=streaming, cache_dir=str(tmp_path / "cache"))
    args = trl.SFTConfig(
        output_dir=str(tmp_path / "out"),
        max_steps=2,
        per_device_train_batch_size=2,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        max_length=512,
        dataloader_num_workers=0,
        seed=0,
        **config,
    )
    trainer = trl.SFTTrainer(model=_model(tokenizer), args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.train()
    assert trainer.state.global_step == 2
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert len(losses) == 2 and all(math.isfinite(loss) for loss in losses)
    return trainer


def _trained_rows(trainer: Any, count: int) -> list[dict[str, Any]]:
    rows = []
    for row in trainer.train_dataset:
        rows.append(row)
        if len(rows) == count:
            break
    return rows


def _source_rows(release: Path, view: str, count: int) -> list[dict[str, Any]]:
    return list(load_view(release, CONFIG, view, streaming=True).take(count))


def _ids(tokenizer: Any, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _assistant_ids(tokenizer: Any, messages: list[dict[str, str]]) -> list[int]:
    """The token ids of every assistant turn's content and end marker, in order."""
    ids: list[int] = []
    for message in messages:
        if message["role"] == "assistant":
            ids += _ids(tokenizer, message["content"]) + [tokenizer.eos_token_id]
    return ids


def _trained_on(row: dict[str, Any]) -> list[int]:
    return [label for label in row["labels"] if label != IGNORED]


@pytest.mark.parametrize("streaming", [False, True], ids=["map-style", "streaming"])
def test_prompt_completion_trains_on_the_completion_only(
    demo_release: Path, tmp_path: Path, tokenizer: Any, streaming: bool
) -> None:
    trainer = _train(demo_release, tmp_path, tokenizer, "prompt-completion", streaming)

    source = _source_rows(demo_release, "prompt-completion", 100)
    trained = _trained_rows(trainer, 100)
    assert any(len(row["prompt"]) > 2 for row in source)  # history turns are in the prompt, and not trained on
    for row, tokens in zip(source, trained, strict=True):
        assert _trained_on(tokens) == _assistant_ids(tokenizer, row["completion"])
        assert tokens["input_ids"][-len(_trained_on(tokens)) :] == _trained_on(tokens)


@pytest.mark.parametrize("streaming", [False, True], ids=["map-style", "streaming"])
def test_messages_train_on_every_token_by_default(
    demo_release: Path, tmp_path: Path, tokenizer: Any, streaming: bool
) -> None:
    trainer = _train(demo_release, tmp_path, tokenizer, "messages", streaming)

    source = _source_rows(demo_release, "messages", 100)
    for row, tokens in zip(source, _trained_rows(trainer, 100), strict=True):
        assert tokens["labels"] == tokens["input_ids"]
        assert tokenizer.decode(tokens["input_ids"]) == tokenizer.apply_chat_template(row["messages"], tokenize=False)


@pytest.mark.parametrize("streaming", [False, True], ids=["map-style", "streaming"])
def test_messages_with_assistant_only_loss_train_on_every_assistant_turn(
    demo_release: Path, tmp_path: Path, tokenizer: Any, streaming: bool
) -> None:
    trainer = _train(demo_release, tmp_path, tokenizer, "messages", streaming, assistant_only_loss=True)

    source = _source_rows(demo_release, "messages", 100)
    assert any(sum(m["role"] == "assistant" for m in row["messages"]) > 1 for row in source)
    for row, tokens in zip(source, _trained_rows(trainer, 100), strict=True):
        assert _trained_on(tokens) == _assistant_ids(tokenizer, row["messages"])
