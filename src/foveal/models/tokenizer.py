"""The tiny VLM's tokenizer, built locally: byte-level BPE trained on the gym's own text.

How an answer is tokenised decides whether a tiny model can learn it (see FACTS.md), so:

- digits are always single tokens (each digit is its own pre-token, as in Qwen2);
- frequent gym words become single tokens (" circles", " red", "How"), learned by BPE from
  a corpus of every registered task's prompts, text twins, choices and R1 targets
  (`r1_target`), plus a fixed seed vocabulary (`SEED_TEXT`);
- any other text still encodes exactly: the byte-level alphabet (256 symbols) is the
  fallback, so `decode(encode(s)) == s` for every string;
- the chat markers, the vision placeholders and the R1 tags are atomic added tokens.
  `<think>`, `</think>`, `<answer>`, `</answer>` are *not* "special" in the HF sense so that
  `decode(..., skip_special_tokens=True)` keeps them in the text a verifier reads.

The vocabulary ships with foveal (`tiny_tokenizer.json`, trained by `python -m
foveal.models.tokenizer` from the gym as it was then), so the tiny VLM never depends on
which families exist or how fast they generate; training is deterministic for a given corpus.
"""

from __future__ import annotations

import os
from pathlib import Path

from foveal.io import atomic_write_text
from foveal.prompts import ANSWER_CLOSE, ANSWER_OPEN, R1_SYSTEM_PROMPT, THINK_CLOSE, THINK_OPEN

VOCAB_SIZE = 1024
VOCAB_FILE = Path(__file__).with_name("tiny_tokenizer.json")
PAD, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD = (
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
SPECIAL_TOKENS = (PAD, IM_START, IM_END, VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD)
R1_TOKENS = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)

# Qwen2's pre-tokenizer: contractions, words with one leading non-letter, single digits,
# punctuation runs, newlines, spaces.
SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Qwen2-VL's chat template, minus the default system message: images/videos become
# <|vision_start|><|image_pad|><|vision_end|>, which the processor expands to one pad per visual token.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Words every gym family is likely to use, so the vocabulary does not hinge on which
# families exist when the model is built.
SEED_TEXT = "\n".join(
    [
        R1_SYSTEM_PROMPT,
        "How many circles squares triangles stars objects shapes dots lines are there? Answer with a number.",
        "red green blue yellow orange purple brown pink grey gray black white cyan magenta colour color",
        "circle square triangle star diamond hexagon cross arrow object shape dot line grid cell row column",
        "left right above below top bottom middle center centre inside outside near far between next to of",
        "first second third last before after frame frames picture image video shows moves moving",
        "Which one is the answer? Answer with the letter of the correct option. Options: A B C D E F",
        "yes no true false larger smaller bigger more fewer less equal same different closest farthest",
        "I count The answer is . , : ; ( ) + - * / = < > ? ! ' \" [ ] { }",
        "zero one two three four five six seven eight nine ten",
        "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
        "A picture shows 1 object: a red circle. What is the sum? What colour is the circle?",
        "system\nuser\nassistant\nsystem\nuser\nassistant",
    ]
)


def gym_corpus(seeds: int = 16, image_seeds: int = 4) -> list[str]:
    """Text of every registered task: text twins, choices and R1 targets of `seeds` samples per
    level (text form, no drawing), and image-form prompts of `image_seeds` samples per level.

    A family that fails to generate is skipped with a warning on stderr.
    """
    import sys

    from foveal import tasks
    from foveal.prompts import r1_target

    lines: list[str] = []
    for task in tasks.all_tasks():
        try:
            for level in sorted(task.levels):
                for seed in range(seeds):
                    s = task.generate(seed, level, form="text")
                    lines += [s.prompt, r1_target(s), *(s.choices or ())]
                for seed in range(image_seeds):
                    lines.append(task.generate(seed, level).prompt.replace("<image>", " "))
        except Exception as e:  # a family under construction must not block the vocabulary
            print(f"skipping task {task.name}: {type(e).__name__}: {e}", file=sys.stderr)
    return lines


def train_tokenizer(corpus: list[str], vocab_size: int = VOCAB_SIZE):
    """Train the byte-level BPE on `corpus`: a `tokenizers.Tokenizer` with the atomic tokens added.

    vocab_size: total size including the 256 byte symbols and the 11 added tokens.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(R1_TOKENS),
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in R1_TOKENS])
    return tok


def tiny_tokenizer(path: str | os.PathLike = VOCAB_FILE):
    """The tiny VLM's `PreTrainedTokenizerFast`: the shipped BPE (`tiny_tokenizer.json`) + chat template.

    Shipped rather than trained at build time so that a model built today and one built after a
    new gym family lands share one vocabulary; regenerate with `python -m foveal.models.tokenizer`.
    """
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_file(str(path)),
        eos_token=IM_END,
        pad_token=PAD,
        padding_side="left",
        model_max_length=2048,
        extra_special_tokens={"image_token": IMAGE_PAD, "video_token": VIDEO_PAD},
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def main() -> None:
    """Retrain the shipped vocabulary from `SEED_TEXT` and the current gym."""
    tok = train_tokenizer(SEED_TEXT.splitlines() + gym_corpus())
    atomic_write_text(VOCAB_FILE, tok.to_str(pretty=True))
    print(f"wrote {VOCAB_FILE}: {tok.get_vocab_size()} tokens")


if __name__ == "__main__":
    main()
