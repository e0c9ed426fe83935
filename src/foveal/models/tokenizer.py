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


def gym_variants(names: list[str] | None = None):
    """Every (task, level, query, phrasing) the gym asks (of the tasks `names`, default all): each
    level's queries in each of its family's phrasings."""
    from foveal import tasks

    for task in tasks.all_tasks() if names is None else map(tasks.get, names):
        for level in sorted(task.levels):
            for query in task.level_queries(level):
                for phrasing in task.phrasings:
                    yield task, level, query, phrasing


def gym_corpus(seeds: int = 4, image_seeds: int = 1, names: list[str] | None = None) -> list[str]:
    """Text of the whole variant space: for every task × level × query × phrasing (`gym_variants`),
    the text twins, choices and R1 targets of seeds 0 .. `seeds` - 1 (text form, no drawing) and the
    image-form prompts of seeds 0 .. `image_seeds` - 1 (styles drawn per seed). Deterministic.

    A family that fails to generate is skipped with a warning on stderr.
    """
    import sys

    from foveal.prompts import r1_target

    lines: list[str] = []
    broken: set[str] = set()
    for task, level, query, phrasing in gym_variants(names):
        if task.name in broken:
            continue
        try:
            for seed in range(seeds):
                s = task.generate(seed, level, form="text", query=query, phrasing=phrasing)
                lines += [s.prompt, r1_target(s), *(s.choices or ())]
            for seed in range(image_seeds):
                s = task.generate(seed, level, query=query, phrasing=phrasing)
                lines.append(s.prompt.replace("<image>", " "))
        except Exception as e:  # a family under construction must not block the vocabulary
            broken.add(task.name)
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


def sample_texts(seed: int = 10_000, names: list[str] | None = None) -> dict[str, list[str]]:
    """One sample of every variant (`gym_variants`) drawn at `seed` (outside `gym_corpus`'s seeds):
    its text twin, its image-form prompt and its R1 target, to measure a vocabulary on."""
    from foveal.prompts import r1_target

    out: dict[str, list[str]] = {"twin": [], "image prompt": [], "R1 target": []}
    for task, level, query, phrasing in gym_variants(names):
        text = task.generate(seed, level, form="text", query=query, phrasing=phrasing)
        image = task.generate(seed, level, query=query, phrasing=phrasing)
        out["twin"].append(text.prompt)
        out["image prompt"].append(image.prompt.replace("<image>", " "))
        out["R1 target"].append(r1_target(text))
    return out


def measure(tok, texts: dict[str, list[str]]) -> dict[str, float]:
    """Mean tokens per text of each kind in `texts` (a `tokenizers.Tokenizer`), and the fraction of
    word pre-tokens (those with an ASCII letter, `SPLIT_PATTERN`) that `tok` splits into 3 or more pieces."""
    out = {kind: sum(len(tok.encode(t).ids) for t in lines) / len(lines) for kind, lines in texts.items()}
    words = [w for lines in texts.values() for t in lines for w, _ in tok.pre_tokenizer.pre_tokenize_str(t)
             if any(c.isascii() and c.isalpha() for c in w)]
    out["words in >= 3 pieces"] = sum(len(tok.model.tokenize(w)) >= 3 for w in words) / len(words)
    return out


def main() -> None:
    """Retrain the shipped vocabulary from `SEED_TEXT` and the current gym; print how the previous
    and the new vocabulary tokenise one sample of every variant."""
    from tokenizers import Tokenizer

    old = Tokenizer.from_file(str(VOCAB_FILE)) if VOCAB_FILE.exists() else None
    tok = train_tokenizer(SEED_TEXT.splitlines() + gym_corpus())
    atomic_write_text(VOCAB_FILE, tok.to_str(pretty=True))
    print(f"wrote {VOCAB_FILE}: {tok.get_vocab_size()} tokens")
    texts = sample_texts()
    new = measure(tok, texts)
    before = measure(old, texts) if old is not None else dict.fromkeys(new, float("nan"))
    print(f"one sample of each of {len(texts['twin'])} variants (task × level × query × phrasing):")
    for kind, value in new.items():
        unit = "" if kind.startswith("words") else " tokens"
        print(f"  {kind:<22} {before[kind]:8.3f} -> {value:8.3f}{unit}")


if __name__ == "__main__":
    main()
