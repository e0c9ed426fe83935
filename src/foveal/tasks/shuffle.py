"""Option shuffling of a choice `Sample`: the same question with its options in another order.

    shuffle_options(sample, perm)  ->  the copy whose option i is the original's option perm[i]

What is supported: choice samples whose prompt lists the options one per line as
`A. text`, `A) text`, `A: text` or `(A) text` (the layout `tasks.draw.choice_block` writes,
and MathVista/MathVerse use). The option lines are rewritten in the prompt and, where it
lists them too, the text twin; the gold letter follows its option. Options drawn inside
the image cannot be shuffled: such a sample raises FovealError. The copy's `solution` is
emptied, since it names the old letters. Used by evaluation (`foveal.eval.shuffle`, the
option-consistency metric) and by training (ACRE's re-answer, `foveal.train.objectives`).
"""

from __future__ import annotations

import re
from dataclasses import replace

from foveal.errors import FovealError
from foveal.sample import Sample
from foveal.tasks.draw import letters

__all__ = ["letters", "option_line", "rewrite_options", "shuffle_options"]


def option_line(letter: str, choice: str) -> re.Pattern[str]:
    """A line listing option `letter` with text `choice`, in any of the supported layouts."""
    return re.compile(rf"^([ \t]*)\(?{letter}[.):]\)?[ \t]*{re.escape(choice)}[ \t]*$", re.M)


def rewrite_options(text: str, old: tuple[str, ...], new: tuple[str, ...]) -> str | None:
    """`text` with the option lines for `old` replaced by lines for `new` (same layout as the
    original's first line), or None if `text` does not list every option of `old`."""
    spans = []
    for letter, choice in zip(letters(len(old)), old, strict=True):
        m = option_line(letter, choice).search(text)
        if m is None:
            return None
        spans.append(m)
    first = spans[0].group(0)
    sep = re.match(r"[ \t]*\(?A([.):]\)?[ \t]*)", first).group(1)  # the separator after the letter
    paren = first.lstrip().startswith("(")
    out, pos = [], 0
    for m, letter, choice in sorted(zip(spans, letters(len(new)), new, strict=True), key=lambda t: t[0].start()):
        out.append(text[pos:m.start()])
        out.append(f"{m.group(1)}{'(' if paren else ''}{letter}{sep}{choice}")
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def shuffle_options(sample: Sample, perm: list[int] | tuple[int, ...], index: int = 1) -> Sample:
    """The copy of choice `sample` whose option i is the original's option `perm[i]`.

    The id gets `/shuf{index}`; `meta` records `shuffle_of` (the original id) and `perm`.
    """
    if sample.answer_type != "choice" or not sample.choices:
        raise FovealError(f"sample {sample.id}: only choice samples with `choices` can be option-shuffled")
    n = len(sample.choices)
    if sorted(perm) != list(range(n)):
        raise FovealError(f"sample {sample.id}: {list(perm)} is not a permutation of {n} options")
    old_letters = letters(n)
    gold = sample.answer.strip().strip("()").upper()
    if gold not in old_letters:
        raise FovealError(f"sample {sample.id}: choice answer {sample.answer!r} is not one of {old_letters}")
    new = tuple(sample.choices[p] for p in perm)
    prompt = rewrite_options(sample.prompt, sample.choices, new)
    if prompt is None:
        raise FovealError(
            f"sample {sample.id}: cannot shuffle options: the prompt does not list every option as a line "
            f"'A. text' (options drawn inside the image cannot be shuffled)")
    twin = rewrite_options(sample.text_twin, sample.choices, new) if sample.text_twin else None
    answer = old_letters[list(perm).index(old_letters.index(gold))]
    return replace(sample, id=f"{sample.id}/shuf{index}", prompt=prompt, choices=new, answer=answer,
                   text_twin=twin if twin is not None else sample.text_twin, solution="",
                   meta={**sample.meta, "shuffle_of": sample.id, "perm": list(perm)})
