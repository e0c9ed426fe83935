"""Where `foveal improve` takes each round's training problems and its val problems from.

Gym: round r answers problem i of each task with gym seed `gym_seed + (r − 1)·n + i` from the
`train` content split (fresh seeds every round, as the training stream draws them), and every
round is scored on the same `n_val` distinct `val` problems per task (`foveal.split`), never
trained on. Data: round r takes rows [(r − 1)·n, r·n) of the dataset (cyclically; all rows every
round without `n`), scored on a separate val dataset. A data record without an answer is a
problem for majority-vote pseudo-labelling (`answer == ""`); it is refused unless that is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from foveal.errors import FovealError
from foveal.sample import Sample


@dataclass
class Problems:
    """The problem source of an improve run (gym tasks, or a dataset with its val dataset)."""

    tasks: tuple[str, ...] = ()
    levels: tuple[int, ...] = (1,)
    n: int | None = None  # problems per task per round (gym), rows per round (data; None: all)
    gym_seed: int = 0
    form: str = "image"
    variant: object = None  # a foveal.tasks.variant.VariantSpec (gym), None: the default
    n_val: int = 50
    data: Path | None = None
    val_data: Path | None = None
    pseudo_label: bool = False
    workers: int = 1  # processes drawing gym problems (same problems whatever the number)
    _rows: list[Sample] | None = field(default=None, repr=False)

    def describe(self) -> dict:
        """What improve.json records (and a resumed run must match)."""
        if self.data is not None:
            return {"data": str(self.data), "val_data": str(self.val_data), "n": self.n}
        return {"tasks": list(self.tasks), "levels": list(self.levels), "n": self.n, "gym_seed": self.gym_seed,
                "form": self.form, "variant": self.variant.as_dict() if self.variant is not None else None,
                "n_val": self.n_val}

    def round(self, r: int) -> list[Sample]:
        """The training problems of round `r` (1-based)."""
        if self.data is not None:
            rows = self.rows()
            if self.n is None:
                return rows
            return [rows[i % len(rows)] for i in range((r - 1) * self.n, r * self.n)]
        from foveal.tasks.generate import iter_plan, plan

        p = plan(list(self.tasks), self.n, list(self.levels), self.gym_seed + (r - 1) * self.n, (self.form,),
                 None, "train", self.variant)
        return list(iter_plan(p, self.workers))

    def val(self) -> list[Sample]:
        """The val problems every round is scored on."""
        if self.data is not None:
            from foveal.eval.benchmarks import load_data
            from foveal.options import about

            with about("--val-data"):
                return load_data(self.val_data)
        from foveal.tasks.generate import distinct_samples

        samples = distinct_samples(list(self.tasks), list(self.levels), self.n_val, "val", variant=self.variant)
        return [s.as_text() for s in samples] if self.form == "text" else samples

    def rows(self) -> list[Sample]:
        """The dataset's problems (loaded once); unlabelled ones have answer ''."""
        if self._rows is None:
            from foveal.options import about

            with about("--data"):
                self._rows = load_problems(self.data)
            if not self._rows:
                raise FovealError(f"--data {self.data}: holds no problems")
            unlabelled = [s.id for s in self._rows if not s.answer]
            if unlabelled and not self.pseudo_label:
                raise FovealError(f"--data {self.data}: {len(unlabelled)} problems have no answer (e.g. "
                                  f"{unlabelled[0]}); pass --pseudo-label majority to label them by majority vote")
            ids = [s.id for s in self._rows]
            if len(set(ids)) != len(ids):
                raise FovealError(f"--data {self.data}: problem ids are not unique (ids must be)")
        return self._rows


def load_problems(path: Path) -> list[Sample]:
    """A `foveal gen` dataset or benchmark file(s) (`foveal.eval.benchmarks.load_data`), where a
    generic record may lack `answer` (it loads with answer '')."""
    from foveal.eval.benchmarks import Row, data_files, generic, is_foveal_dataset, load_data, read_records

    path = Path(path).expanduser()
    if is_foveal_dataset(path):
        return load_data(path)
    if not path.exists():
        raise FovealError(f"{path}: no such file or directory")
    out = []
    for f in data_files(path):
        for i, rec in read_records(f):
            if rec.get("answer") not in (None, ""):
                out.append(generic(Row(f, i, rec), f.stem))
                continue
            answer_type = rec.get("answer_type") or ("choice" if rec.get("choices") else "text")
            stand_in = {**rec, "answer": "A" if answer_type == "choice" else "0", "answer_type": answer_type}
            out.append(replace(generic(Row(f, i, stand_in), f.stem), answer=""))
    return out
