"""`to_trl(accuracy)` inside the real TRL GRPOTrainer: one training step on a tiny local LM."""

from __future__ import annotations

import pytest

from foveal.rewards import accuracy, format_reward, to_trl

torch = pytest.importorskip("torch")
trl = pytest.importorskip("trl")

WORDS = [
    "<pad>",
    "<eos>",
    "<unk>",
    "what",
    "is",
    "two",
    "plus",
    "?",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
]
WORDS += [str(i) for i in range(10)]


def _tiny_lm(path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    vocab = {w: i for i, w in enumerate(WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>"
    )
    fast.save_pretrained(path)
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(WORDS),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=64,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=1,
    )
    Qwen2ForCausalLM(config).save_pretrained(path)
    return PreTrainedTokenizerFast.from_pretrained(path)


@pytest.mark.slow  # ~12 s of CPU, 40 s wall on the shared 2-core machine (imports dominate)
def test_grpo_trainer_runs_one_step_with_foveal_rewards(tmp_path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    model_dir = tmp_path / "tiny"
    tokenizer = _tiny_lm(model_dir)
    data = Dataset.from_dict(
        {
            "prompt": ["what is two plus two ?"] * 4,
            "answer": ["4", "4", "B", "4"],
            "answer_type": ["number", "number", "choice", "number"],
        }
    )
    seen: list[tuple[list[str], list[str]]] = []

    def recording_accuracy(completions, samples):
        scores = accuracy(completions, samples)
        seen.append((list(completions), [s.answer for s in samples]))
        return scores

    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        max_steps=1,
        learning_rate=1e-4,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        bf16=False,
        seed=0,
        dataloader_num_workers=0,
    )
    trainer = GRPOTrainer(
        model=str(model_dir),
        reward_funcs=[to_trl(recording_accuracy), to_trl(format_reward)],
        args=args,
        train_dataset=data,
        processing_class=tokenizer,
    )
    trainer.train()

    assert trainer.state.global_step == 1
    assert seen, "the foveal reward was never called"
    completions, answers = seen[0]
    assert len(completions) == 4 and all(isinstance(c, str) for c in completions)
    assert set(answers) <= {"4", "B"}
    logged = {k for entry in trainer.state.log_history for k in entry}
    assert "rewards/recording_accuracy/mean" in logged
    assert "rewards/format_reward/mean" in logged
