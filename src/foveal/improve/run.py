"""`improve(...)`: rounds of generate → verify → keep → SFT → (GRPO) → evaluate, resumable.

    improve(load_config("recipes/quickstart.yaml"), "runs/sft/sft", Problems(tasks=("count",), n=100),
            "runs/improve", rounds=3, k=8)

Round r starts from the model round r − 1 ended with (round 0: `model`):
  1. generate: K completions for each of the round's training problems (any rollout backend);
  2. verify: each completion against the gold answer, or, for a problem without one, against the
     majority vote of its K answers (`foveal.improve.vote`, kept only at `min_agreement`);
  3. keep: `foveal.train.sft.rejection_sample` keeps the distinct completions that verify;
  4. SFT on the kept traces (the recipe's `sft` section; the reasoning of each kept trace with the
     verified answer is the target), then, when the recipe has `rl.steps`, GRPO (its `rl` section)
     on the round's labelled problems;
  5. evaluate the new model on the val problems (greedy, one completion each).

A run directory holds

    improve.json       the settings (a resumed run must match them), versions, git revision
    recipe.yaml        the recipe the rounds train with
    round-0/eval/      the starting model on val; round-0/round.json
    round-N/gen.jsonl  one row per problem: its completions, answers, verdicts, label, kept traces
    round-N/data/sft/  the kept traces as a dataset (jsonl); data/rl/ the labelled problems (with RL)
    round-N/model/     the SFT run (`foveal train` layout: the model is model/sft); model-rl/ the RL run
    round-N/eval/      the round's model on val (`foveal eval` layout)
    round-N/round.json the round's numbers, written last: a round with it is finished
    summary.json, rounds.png, report.html   across rounds (`foveal.improve.report`)

Resuming: rerunning into RUN skips every finished round; inside the unfinished one, generation
continues after the last problem in gen.jsonl (batch b of round r is sampled with seed
`seed·1_000_003 + r·10_007 + b`, so a resumed round draws what an uninterrupted one would on a
backend deterministic for a seed), training continues from its last checkpoint, and evaluation
after its last row. A larger `rounds` extends a finished run.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

from foveal.config import RunConfig, config_from_dict, dump_config
from foveal.errors import FovealError
from foveal.eval.harness import repair_tail
from foveal.eval.metrics import equivalent
from foveal.improve.problems import Problems
from foveal.improve.vote import majority_vote_label
from foveal.io import append_jsonl, atomic_write_json, atomic_write_text, read_jsonl
from foveal.progress import progress_bar
from foveal.provenance import provenance
from foveal.rollout.base import Group, Sampling
from foveal.sample import Sample

BACKENDS = ("hf", "vllm", "openai")
PSEUDO_LABELS = ("majority",)
STOP = ("</answer>",)


class Verifier:
    """`rejection_sample`'s reward function: 1.0 for a completion whose answer verifies against the
    problem's gold answer, or (a problem without one, `pseudo_label`) agrees with the majority-vote
    label; records each problem's verdict (label, its source, agreement, answers, scores)."""

    def __init__(self, answer_format: str, min_agreement: float) -> None:
        self.answer_format = answer_format
        self.min_agreement = min_agreement
        self.verdicts: dict[str, dict[str, Any]] = {}

    def __call__(self, texts: list[str], samples: list[Sample]) -> list[float]:
        from foveal.rewards import accuracy, extract_answer

        s = samples[0]
        answers = [extract_answer(t, self.answer_format) for t in texts]
        if s.answer:
            try:
                scores = accuracy(texts, samples, answer_format=self.answer_format)
            except ValueError as e:  # a gold answer that does not parse: a dataset bug
                raise FovealError(f"sample {s.id}: {e}") from None
            verdict = {"label": s.answer, "source": "gold", "agreement": None}
        else:
            vote = majority_vote_label(answers, self.min_agreement, same=equivalent(s))
            scores = [float(c) for c in vote.correct]
            verdict = {"label": vote.label, "source": "majority" if vote.label is not None else None,
                       "agreement": vote.agreement}
        self.verdicts[s.id] = {**verdict, "answers": answers, "scores": scores}
        return scores


class Recorder:
    """A backend that keeps the groups it returned: `rejection_sample` hands back token ids, and the
    kept traces are trained on as text. A completion without token ids (an OpenAI-compatible server
    that returns none) gets its text's UTF-8 bytes as stand-in ids, so rejection_sample's
    distinct-trace check still tells traces apart; they are never trained on."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.groups: list[Group] = []

    def generate(self, prompts, n, sampling) -> list[Group]:
        self.groups = self.inner.generate(prompts, n, sampling)
        for g in self.groups:
            for c in g.completions:
                if not c.token_ids:
                    c.token_ids = list(c.text.encode("utf-8"))
        return self.groups


def open_engine(backend: str, model: str, cfg: RunConfig, batch_size: int) -> tuple[Any, contextlib.ExitStack]:
    """A rollout backend on `model`, prompting as the recipe trains (its system prompt), and the stack
    that closes it. openai: the model is served on localhost by `foveal serve`'s app and sampled
    through the OpenAI-compatible client (a remote server could not follow each round's new weights)."""
    from foveal.rollout import get_backend

    stack = contextlib.ExitStack()
    stack.callback(free_accelerator_memory)
    if backend == "vllm":
        return get_backend("vllm", model_path=model, system_prompt=cfg.model.system_prompt), stack
    from foveal.models import load_policy

    policy = load_policy(model, dtype=cfg.model.dtype, system_prompt=cfg.model.system_prompt, seed=cfg.init_seed)
    if backend == "hf":
        return get_backend("hf", policy=policy, batch_size=batch_size), stack
    from foveal.serve.app import create_app, running

    url = stack.enter_context(running(create_app(policy, model_name="improve")))
    return get_backend("openai", base_url=url, model="improve", system_prompt=cfg.model.system_prompt), stack


def free_accelerator_memory() -> None:
    """Let training have the GPU memory a rollout engine held (on CPU there is nothing to hand back)."""
    import torch

    if torch.cuda.is_available():
        gc.collect()
        torch.cuda.empty_cache()


def settings(cfg: RunConfig, model: str, problems: Problems, k: int, backend: str, pseudo_label: str | None,
             min_agreement: float, batch_size: int, sft_epochs: float | None,
             preference: str | None = None, pref_steps: int | None = None) -> dict[str, Any]:
    """What improve.json records and a resumed run must repeat (the number of rounds may grow)."""
    return {"model": model, "recipe": cfg.model_dump(mode="json"), "problems": problems.describe(), "k": k,
            "backend": backend, "pseudo_label": pseudo_label, "min_agreement": min_agreement,
            "batch_size": batch_size, "sft_epochs": sft_epochs,
            **({"preference": preference, "pref_steps": pref_steps} if preference else {})}


def check_resumable(out: Path, config: dict[str, Any]) -> None:
    """FovealError naming each setting that differs from the run already in `out` (if any)."""
    path = out / "improve.json"
    if not path.exists():
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FovealError(f"{path}: not valid JSON ({e}); use another --out") from None
    diff = [key for key in config if old.get(key) != config[key]]
    if diff:
        raise FovealError(f"--out {out} holds an improve run with other settings ({', '.join(diff)} differ); "
                          f"use the same settings to resume it, or another --out")


def improve(cfg: RunConfig, model: str, problems: Problems, out: str | Path, rounds: int, k: int,
            backend: str = "hf", pseudo_label: str | None = None, min_agreement: float = 0.5,
            batch_size: int = 8, sft_epochs: float | None = None, preference: str | None = None,
            pref_steps: int | None = None, console: Console | None = None) -> dict[str, Any]:
    """Run (or resume) `rounds` improve rounds into `out`; returns the summary (also out/summary.json).

    Everything (settings, recipe, model, problems, val problems) is checked before `out` is written."""
    from foveal.improve.report import write_report
    from foveal.train import algos

    out = Path(out)
    console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 120)  # logs keep every column
    if not isinstance(rounds, int) or rounds < 1:
        raise FovealError(f"--rounds must be an integer >= 1, got {rounds!r}")
    if not isinstance(k, int) or k < 1:
        raise FovealError(f"--k must be an integer >= 1, got {k!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise FovealError(f"--batch-size must be an integer >= 1, got {batch_size!r}")
    if backend not in BACKENDS:
        raise FovealError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if pseudo_label is not None and pseudo_label not in PSEUDO_LABELS:
        raise FovealError(f"--pseudo-label {pseudo_label!r}: expected one of {', '.join(PSEUDO_LABELS)}")
    if not 0.0 <= min_agreement <= 1.0:
        raise FovealError(f"--min-agreement must be in [0, 1], got {min_agreement}")
    if sft_epochs is not None and not (math.isfinite(sft_epochs) and sft_epochs > 0):
        raise FovealError(f"--sft-epochs must be a number > 0, got {sft_epochs}")
    if cfg.sft.steps < 1 and sft_epochs is None:
        raise FovealError(f"--config: sft.steps is {cfg.sft.steps}; improve trains on the kept traces by SFT, "
                          f"so the recipe needs sft.steps >= 1 (or give --sft-epochs)")
    pref_steps = check_preference(cfg, preference, pref_steps)
    check_model(model)
    algos.check_rl_config(cfg.rl)
    if out.exists() and not out.is_dir():
        raise FovealError(f"--out {out}: exists and is not a directory")
    config = settings(cfg, model, problems, k, backend, pseudo_label, min_agreement, batch_size, sft_epochs,
                      preference, pref_steps)
    check_resumable(out, config)
    problems.round(1)  # the training problems load (a bad dataset or task fails now)
    val = problems.val()
    if not val:
        raise FovealError("the val set holds no problems")

    out.mkdir(parents=True, exist_ok=True)
    old = json.loads((out / "improve.json").read_text()) if (out / "improve.json").exists() else {}
    atomic_write_json(out / "improve.json", {**config, "rounds": max(rounds, old.get("rounds", 0)), **provenance(),
                                             "started": old.get("started") or time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    atomic_write_text(out / "recipe.yaml", dump_config(cfg))
    ctx = Context(cfg, problems, out, k, backend, min_agreement, batch_size, sft_epochs, val, console,
                  preference, pref_steps)
    try:
        results = [ctx.round_zero(model)]
        for r in range(1, rounds + 1):
            results.append(ctx.run_round(r, results[-1]["model"], rounds))
    finally:
        ctx.release()
    return write_report(out, results, console)


def check_preference(cfg: RunConfig, preference: str | None, pref_steps: int | None) -> int | None:
    """The preference stage's steps (`pref_steps`, else the recipe's pref.steps); FovealError for an
    unregistered loss or no steps. None without `preference` (a recipe's pref.steps > 0 then is an
    error: improve trains pref only when asked, on each round's pairs)."""
    if preference is None:
        if pref_steps is not None:
            raise FovealError("--pref-steps goes with --preference dpo|redi")
        if cfg.pref.steps:
            raise FovealError(f"--config: pref.steps is {cfg.pref.steps}, but improve trains a preference stage only "
                              f"with --preference {cfg.pref.loss.name} (its pairs come from each round's samples); "
                              f"give it, or set pref.steps 0")
        return None
    from foveal.train.preference import PREFERENCE_LOSSES

    if preference not in PREFERENCE_LOSSES:
        raise FovealError(f"--preference {preference!r}: {PREFERENCE_LOSSES.unknown(preference)}")
    steps = pref_steps if pref_steps is not None else cfg.pref.steps
    if not isinstance(steps, int) or steps < 1:
        raise FovealError(f"--preference {preference}: give --pref-steps N >= 1 (the recipe's pref.steps is "
                          f"{cfg.pref.steps})")
    if cfg.pref.loss.name == preference:
        from foveal.options import about
        from foveal.train.preference import check_pref_loss

        with about("--config"):
            check_pref_loss(preference, cfg.pref.loss.args)
    return steps


def check_model(model: str) -> None:
    """FovealError unless `model` is a model directory or a name `load_policy` builds."""
    from foveal.models.load import NAMES, SMOLLM2_NAME

    if model in ("tiny", SMOLLM2_NAME):
        return
    p = Path(model)
    if not p.is_dir():
        raise FovealError(f"--model {model}: not a model directory (nor one of {NAMES})")
    if not (p / "config.json").is_file():
        raise FovealError(f"--model {model}: no config.json there (expected a saved transformers model)")


class Context:
    """One run's fixed parts, and the steps of a round."""

    def __init__(self, cfg: RunConfig, problems: Problems, out: Path, k: int, backend: str, min_agreement: float,
                 batch_size: int, sft_epochs: float | None, val: list[Sample], console: Console,
                 preference: str | None = None, pref_steps: int | None = None) -> None:
        self.cfg, self.problems, self.out, self.k, self.backend = cfg, problems, out, k, backend
        self.min_agreement, self.batch_size, self.val, self.console = min_agreement, batch_size, val, console
        self.sft_epochs = sft_epochs
        self.preference, self.pref_steps = preference, pref_steps  # a preference loss trained after SFT and RL
        self.sampling = Sampling(temperature=cfg.sampling.temperature, top_p=cfg.sampling.top_p,
                                 max_new_tokens=cfg.sampling.max_new_tokens, stop=STOP, seed=cfg.seed)
        self._engine: tuple[str, Any, contextlib.ExitStack] | None = None  # (model, backend, its closer)

    def engine(self, model: str):
        """The rollout backend on `model`: the one already open when it is on `model` (a round's val
        eval and the next round's generation share one load), else a new one."""
        if self._engine is not None and self._engine[0] == model:
            return self._engine[1]
        self.release()
        eng, stack = open_engine(self.backend, model, self.cfg, self.batch_size * self.k)
        self._engine = (model, eng, stack)
        return eng

    def release(self) -> None:
        """Close the open rollout backend (before training, which needs its memory; at the end)."""
        if self._engine is not None:
            stack = self._engine[2]
            self._engine = None
            stack.close()

    def round_zero(self, model: str) -> dict[str, Any]:
        d = self.out / "round-0"
        if (d / "round.json").exists():
            return json.loads((d / "round.json").read_text())
        self.console.rule(f"[bold]round 0[/]: evaluate {model} on {len(self.val)} val problems")
        t = time.perf_counter()
        val = self.evaluate(model, d / "eval")
        info = {"round": 0, "model": model, "val": val, "seconds": {"eval": time.perf_counter() - t}}
        atomic_write_json(d / "round.json", info)
        return info

    def run_round(self, r: int, model: str, rounds: int) -> dict[str, Any]:
        """Round `r` from `model`: generate, verify, keep, SFT, (RL), evaluate; skipped when finished."""
        d = self.out / f"round-{r}"
        if (d / "round.json").exists():
            return json.loads((d / "round.json").read_text())
        d.mkdir(parents=True, exist_ok=True)
        samples = self.problems.round(r)
        seconds: dict[str, float] = {}
        t = time.perf_counter()
        self.console.rule(f"[bold]round {r}/{rounds}[/]: {len(samples)} problems × K={self.k} from {model}")
        rows = self.generate(r, model, samples, d / "gen.jsonl")
        seconds["generate"] = time.perf_counter() - t
        kept = sft_samples(samples, rows, self.cfg.answer_format, r)
        labelled = [replace(s, answer=rows[s.id]["label"]) for s in samples if rows[s.id]["label"] is not None]
        self.console.print(f"kept {len(kept)} traces of {sum(bool(rows[s.id]['kept']) for s in samples)} problems; "
                           f"{len(labelled)} of {len(samples)} problems labelled")
        new_model, sft_steps, rl_steps = model, 0, 0
        t = time.perf_counter()
        if kept:
            sft_steps = self.sft_steps(len(kept))
            new_model = self.train("sft", new_model, kept, d, r, sft_steps)
        else:
            self.console.print(f"[yellow]round {r} kept no verified trace: no SFT this round[/]")
        seconds["sft"] = time.perf_counter() - t
        t = time.perf_counter()
        if self.cfg.rl.steps and labelled:
            rl_steps = self.cfg.rl.steps
            new_model = self.train("rl", new_model, labelled, d, r, rl_steps)
        seconds["rl"] = time.perf_counter() - t
        pairs, pref_steps = 0, 0
        if self.preference:
            t = time.perf_counter()
            pairs = self.write_pairs(samples, rows, d, r)
            if pairs:
                pref_steps = self.pref_steps
                new_model = self.train("pref", new_model, labelled, d, r, pref_steps)
            else:
                self.console.print(f"[yellow]round {r} has no (right, wrong) pair: no preference stage this round[/]")
            seconds["pref"] = time.perf_counter() - t
        t = time.perf_counter()
        val = self.evaluate(new_model, d / "eval")
        seconds["eval"] = time.perf_counter() - t
        info = round_info(r, model, new_model, samples, rows, self.k, len(kept), sft_steps, rl_steps, self.cfg, val)
        if self.preference:
            info.update(preference=self.preference, pairs=pairs, pref_steps=pref_steps)
        info["seconds"] = seconds
        atomic_write_json(d / "round.json", info)
        return info

    def generate(self, r: int, model: str, samples: list[Sample], jsonl: Path) -> dict[str, dict[str, Any]]:
        """{problem id: gen.jsonl row}, generating the batches gen.jsonl does not hold yet."""
        from foveal.train.sft import rejection_sample

        repair_tail(jsonl)
        wanted = {s.id for s in samples}
        done = {row["id"]: row for row in read_jsonl(jsonl) if row["id"] in wanted}
        batches = [samples[i:i + self.batch_size] for i in range(0, len(samples), self.batch_size)]
        if all(s.id in done for s in samples):
            return done
        verifier = Verifier(self.cfg.answer_format, self.min_agreement)
        eng = self.engine(model)
        with progress_bar("pass rate {task.fields[rate]}", "kept {task.fields[kept]}",
                             enabled=self.cfg.log.progress) as bar:
            task = bar.add_task(f"round {r}", total=len(samples), completed=len(done), rate="-", kept=0)
            for b, batch in enumerate(batches):
                if all(s.id in done for s in batch):
                    continue
                rec = Recorder(eng)
                sampling = replace(self.sampling, seed=self.cfg.seed * 1_000_003 + r * 10_007 + b)
                kept = rejection_sample(rec, batch, self.k, sampling, verifier)
                new = [problem_row(s, g, verifier.verdicts[s.id], kept) for s, g in zip(batch, rec.groups, strict=True)]
                append_jsonl(jsonl, new)
                done.update((row["id"], row) for row in new)
                rates = [row["pass_rate"] for row in done.values() if row["pass_rate"] is not None]
                bar.update(task, advance=len(new), rate=f"{sum(rates) / len(rates):.2f}" if rates else "-",
                           kept=sum(len(row["kept"]) for row in done.values()))
        return done

    def write_pairs(self, samples: list[Sample], rows: dict[str, dict[str, Any]], d: Path, r: int) -> int:
        """The round's (right, wrong) pairs of the same prompt, from its verified samples, to
        d/data/pairs.jsonl (`foveal.train.preference`'s format); returns how many."""
        from foveal.train.preference import build_pairs, write_pairs

        per_prompt = self.cfg.pref.generate.pairs_per_prompt if self.cfg.pref.generate is not None else 1
        pairs = [p for s in samples if rows[s.id]["label"] is not None
                 for p in build_pairs(replace(s, answer=rows[s.id]["label"]), rows[s.id]["completions"],
                                      rows[s.id]["scores"], pairs_per_prompt=per_prompt,
                                      meta={"round": r, "label": rows[s.id]["label_source"]})]
        if pairs:
            write_pairs(d / "data" / "pairs.jsonl", pairs)
        self.console.print(f"round {r}: {len(pairs)} (right, wrong) pairs for {self.preference}")
        return len(pairs)

    def sft_steps(self, kept: int) -> int:
        """The round's SFT steps: the recipe's sft.steps, or with `sft_epochs` E,
        max(1, round(E · kept / sft.batch_size)) (the same passes over however many traces were kept)."""
        if self.sft_epochs is None:
            return self.cfg.sft.steps
        return max(1, round(self.sft_epochs * kept / self.cfg.sft.batch_size))

    def train(self, stage: str, model: str, samples: list[Sample], d: Path, r: int, steps: int) -> str:
        """Write the stage's dataset and train `stage` (sft, rl or pref) from `model` for `steps` steps;
        returns the new model's path. pref trains on d/data/pairs.jsonl (its dataset is the labelled problems)."""
        from foveal.tasks.export import write_dataset

        data = d / "data" / ("sft" if stage == "sft" else "rl")
        write_dataset(samples, data, "jsonl", {"improve": {"round": r, "stage": stage, "from_model": model}},
                      overwrite=True)
        run_dir = d / ("model" if stage == "sft" else f"model-{stage}")
        what = {"sft": f"SFT {steps} steps on {len(samples)} kept traces",
                "rl": f"RL {steps} steps on {len(samples)} labelled problems",
                "pref": f"{self.preference} {steps} steps on {d / 'data' / 'pairs.jsonl'}"}[stage]
        self.console.print(f"round {r}: {what} -> {run_dir}")
        self.release()
        run_train(stage_config(self.cfg, model, data, stage, steps, self.preference), run_dir)
        return str(run_dir / stage)

    def evaluate(self, model: str, out: Path) -> dict[str, Any]:
        """Greedy accuracy of `model` on the val problems (a resumable `foveal eval` run in `out`)."""
        from foveal.eval import evaluate

        sampling = Sampling(temperature=0.0, max_new_tokens=self.cfg.sampling.max_new_tokens, stop=STOP,
                            seed=self.cfg.seed)
        twin = "text" if self.problems.form == "text" else "image"
        res = evaluate(self.engine(model), self.val, k=1, sampling=sampling, twin=twin, out=out, batch_size=self.batch_size,
                       answer_format=self.cfg.answer_format, progress=self.cfg.log.progress,
                       meta={"model": model, "data": "improve val problems", "backend": self.backend})
        o = res.metrics["overall"]
        self.console.print(f"val accuracy of {model}: {o['accuracy']:.1%} on {o['n']} problems")
        return {"n": o["n"], "accuracy": o["accuracy"], "ci95": list(o["accuracy_ci95"]),
                "format_rate": o["format_rate"]}


def problem_row(sample: Sample, group: Group, verdict: dict[str, Any], kept: list[tuple[Sample, list[int]]]) -> dict[str, Any]:
    """One gen.jsonl row: the problem, its K completions and verdicts, and the traces kept."""
    kept_ids = {tuple(ids) for s, ids in kept if s.id == sample.id}
    texts, seen = [], set()
    for c in group.completions:
        key = tuple(c.token_ids)
        if key in kept_ids and key not in seen:
            seen.add(key)
            texts.append(c.text)
    scores = verdict["scores"]
    return {"id": sample.id, "task": sample.task, "level": sample.level, "problem_key": sample.problem_key,
            "gold": sample.answer or None, "label": verdict["label"], "label_source": verdict["source"],
            "agreement": verdict["agreement"], "answers": verdict["answers"], "scores": scores,
            "pass_rate": sum(scores) / len(scores) if verdict["label"] is not None else None,
            "completions": [c.text for c in group.completions], "kept": texts}


def sft_samples(samples: list[Sample], rows: dict[str, dict[str, Any]], answer_format: str, r: int) -> list[Sample]:
    """The SFT examples of a round: one per kept trace, its reasoning (the `<think>` block) as the
    solution and the verified label as the answer, so the recipe's `sft.target` rebuilds the trace."""
    from foveal.rewards import extract_think

    out = []
    for s in samples:
        row = rows[s.id]
        for j, text in enumerate(row["kept"]):
            reasoning = extract_think(text) if answer_format == "r1" else s.solution
            out.append(replace(s, id=f"{s.id}#r{r}t{j}", solution=(reasoning or "").strip(), answer=row["label"],
                               meta={**s.meta, "improve": {"round": r, "problem": s.id}}))
    return out


def stage_config(cfg: RunConfig, model: str, data: Path, stage: str, steps: int,
                 preference: str | None = None) -> RunConfig:
    """The recipe for one stage of a round: its model, the round's dataset, `steps` of this stage only
    (pref: loss `preference`, the recipe's options for it, on the round's pairs file)."""
    tree = cfg.model_dump(mode="json")
    tree["model"]["path"] = model
    tree["data"] = {"dataset": str(data)}
    for name in ("sft", "rl", "pref"):
        tree[name]["steps"] = steps if name == stage else 0
    if stage != "sft":
        tree["sft"]["align"] = None  # a term of the SFT loss: no SFT here
    if stage == "pref":
        args = cfg.pref.loss.args if cfg.pref.loss.name == preference else {}
        tree["pref"].update(pairs=str(data.parent / "pairs.jsonl"), generate=None,
                            loss={"name": preference, "args": args})
    return config_from_dict(tree, f"improve {stage} stage", [])


def run_train(cfg: RunConfig, run_dir: Path) -> Path:
    """`foveal train` into `run_dir`: skipped when finished (meta.json), resumed when started."""
    from foveal.train.run import train

    if (run_dir / "meta.json").is_file():
        return run_dir
    if (run_dir / "config.yaml").is_file():
        return train(None, resume=run_dir)
    if run_dir.exists():  # killed before its config was written: nothing in it to keep
        shutil.rmtree(run_dir)
    return train(cfg, out=run_dir)


def round_info(r: int, model: str, new_model: str, samples: list[Sample], rows: dict[str, dict[str, Any]], k: int,
               kept: int, sft_steps: int, rl_steps: int, cfg: RunConfig, val: dict[str, Any]) -> dict[str, Any]:
    """The numbers round.json records."""
    labelled = [rows[s.id] for s in samples if rows[s.id]["label"] is not None]
    return {"round": r, "from_model": model, "model": new_model, "problems": len(samples), "k": k,
            "samples": len(samples) * k, "labelled": len(labelled),
            "pseudo_labelled": sum(row["label_source"] == "majority" for row in labelled),
            "pass_rate": sum(row["pass_rate"] for row in labelled) / len(labelled) if labelled else None,
            "solved": sum(bool(rows[s.id]["kept"]) for s in samples), "kept": kept,
            "sft_steps": sft_steps, "rl_steps": rl_steps,
            "rl_samples": rl_steps * cfg.rl.prompts_per_step * cfg.rl.group_size, "val": val}
