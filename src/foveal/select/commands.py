"""`foveal select`: measure a dataset's problems with a model and keep those a rule picks."""

from __future__ import annotations

from pathlib import Path

import typer

from foveal.errors import FovealError
from foveal.options import about, check_out_dir, check_sampling

KEEP_HELP = ("Rule over the statistics, e.g. '0.1 <= pass_rate <= 0.7 and not blind_solvable' (comparisons, "
             "and/or/not, parentheses). Statistics: pass_rate, n_correct, first_correct, reward_mean, reward_var, "
             "blind_pass_rate, blind_solvable, level. Without it only the statistics are written.")


def parse_rewards(text: str) -> dict[str, float]:
    """'accuracy=1,format=0.5' -> {"accuracy": 1.0, "format": 0.5}; FovealError naming a bad part."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        name, sep, weight = part.partition("=")
        try:
            out[name.strip()] = float(weight) if sep else 1.0
        except ValueError:
            raise FovealError(f"--rewards {text!r}: weight of {name.strip()!r} is not a number ({weight!r})") from None
        if not name.strip():
            raise FovealError(f"--rewards {text!r}: expected name=weight pairs, e.g. accuracy=1,format=0.5")
    from foveal.rewards import get_reward

    with about("--rewards"):
        for name in out:
            get_reward(name)
    return out


def select_command(
    model: str = typer.Option(..., "--model", help="Model directory, 'tiny', 'smollm2-135m', or (openai) the served model name."),
    out: Path = typer.Option(..., "--out", help="Run directory: stats.jsonl, summary.json, data/ (the kept problems); rerunning resumes."),
    data: Path = typer.Option(None, "--data", help="A `foveal gen` dataset (or a benchmark file/directory `foveal eval` reads)."),
    tasks_: str = typer.Option(None, "--tasks", help="Or draw the problems from the gym: comma-separated task names."),
    n: int = typer.Option(None, "--n", min=1, help="With --tasks: problems per task (per form); default 100."),
    levels: str = typer.Option(None, "--levels", help="With --tasks: levels to cycle through, '1-5' or '1,3'; default 1."),
    gym_seed: int = typer.Option(None, "--gym-seed", min=0, help="With --tasks: problem i of each task has gym seed GYM_SEED+i; default 0."),
    split: str = typer.Option(None, "--split", help="With --tasks: content split (train, val, test); default train."),
    forms: str = typer.Option(None, "--forms", help="With --tasks: comma-separated forms (image, text, mixed); default image."),
    keep: str = typer.Option(None, "--keep", help=KEEP_HELP),
    k: int = typer.Option(8, "--k", min=1, help="Completions per problem."),
    temperature: float = typer.Option(1.0, "--temperature", help="Sampling temperature (> 0 when K > 1)."),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus sampling threshold, in (0, 1]."),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", min=1, help="Longest completion, in tokens."),
    blind: bool = typer.Option(False, "--blind", help="Also answer each problem with its images blanked (blind_pass_rate, blind_solvable); implied by a --keep that reads them."),
    rewards: str = typer.Option("accuracy=1,format=0.5", "--rewards", help="Reward mix whose mean and variance are recorded (registered names)."),
    backend: str = typer.Option("hf", "--backend", help="Rollout backend: hf, vllm or openai."),
    base_url: str = typer.Option(None, "--base-url", help="openai backend: the API root, e.g. http://127.0.0.1:8000/v1."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Problems per generation batch (and per append to stats.jsonl)."),
    limit: int = typer.Option(None, "--limit", min=1, help="Only the first N problems of --data."),
    seed: int = typer.Option(0, "--seed", min=0, help="Sampling seed."),
    stop: list[str] = typer.Option(["</answer>"], "--stop", help="Stop string (repeatable); --stop '' for none."),
    fmt: str = typer.Option(None, "--format", help="Format of data/: hf, jsonl, verl or trl (default: the input's, hf for --tasks)."),
) -> None:
    """Answer every problem K times, record per-problem difficulty (stats.jsonl), and write the problems
    --keep accepts to OUT/data.

    Rerunning into OUT skips the problems already measured: a killed run continues, and a finished
    run re-filtered with another --keep generates nothing."""
    from rich.console import Console

    from foveal.eval.commands import BACKENDS, make_backend
    from foveal.rollout import Sampling
    from foveal.select.keep import Keep
    from foveal.select.run import check_resumable, select, settings
    from foveal.select.stats import BLIND_STATS, STAT_NAMES
    from foveal.tasks.export import FORMATS

    # Everything is checked before OUT is created (or the slow model load starts).
    if (data is None) == (tasks_ is None):
        raise FovealError("give exactly one of --data (a dataset) or --tasks (problems drawn from the gym)")
    rule = Keep.parse(keep, STAT_NAMES) if keep is not None else None
    blind = blind or bool(rule and any(s in BLIND_STATS for s in rule.stats))
    if backend not in BACKENDS:
        raise FovealError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if (backend == "openai") != bool(base_url):
        raise FovealError("--base-url goes with --backend openai (and it needs one, e.g. http://127.0.0.1:8000/v1)")
    check_sampling(k, temperature, top_p)
    if fmt is not None and fmt not in FORMATS:
        raise FovealError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    reward_mix = parse_rewards(rewards)
    check_out_dir(out, overwrite=True)  # an existing run directory is resumed
    samples, source, manifest, in_fmt = load_input(data, tasks_, n, levels, gym_seed, split, forms, limit)
    sampling = Sampling(temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                        stop=tuple(s for s in stop if s), seed=seed)
    from foveal.eval.commands import eval_prompt

    _, system_prompt, prompt_source = eval_prompt(model, "auto", backend)  # as `foveal eval`: the way it trained
    meta = {"model": model, "data": source, "backend": backend, "system_prompt": system_prompt}
    old = check_resumable(out, settings(k, sampling, blind, reward_mix, batch_size, len(samples), meta))
    blind = blind or bool(old and old.get("blind"))  # a run that measured blind statistics keeps doing so
    console = Console(highlight=False)
    with console.status(f"loading {model} ({backend})"), about("--model"):
        engine = make_backend(backend, model, batch_size * k * (2 if blind else 1), base_url, out, system_prompt)
    console.print(f"measuring {len(samples)} problems from {source} with {model} (K={k}, T={temperature}"
                  f"{', blind too' if blind else ''}; {prompt_source}) -> {out}")
    res = select(engine, samples, out, k=k, sampling=sampling, keep=rule, blind=blind, rewards=reward_mix,
                 batch_size=batch_size, meta=meta, fmt=fmt or in_fmt, manifest=manifest)
    s = res.summary
    console.print(f"pass_rate mean {s['pass_rate']['mean']:.3f}, histogram {s['pass_rate_histogram']}; "
                  f"reward_var mean {s['reward_var']['mean']:.3f}"
                  + (f"; blind-solvable {sum(bool(r.get('blind_solvable')) for r in res.rows)}" if blind else ""))
    if rule is None:
        console.print(f"wrote {out / 'stats.jsonl'} and {out / 'summary.json'}; add --keep RULE to write the kept problems")
    else:
        console.print(f"kept {len(res.kept)} of {len(res.rows)} problems ({rule.text}) -> {out / 'data'}")


def load_input(data, tasks_, n, levels, gym_seed, split, forms, limit):
    """(samples, a source string for config.json, the output manifest, the input's format)."""
    if data is not None:
        given = [opt for opt, v in (("--n", n), ("--levels", levels), ("--gym-seed", gym_seed), ("--split", split),
                                    ("--forms", forms)) if v is not None]
        if given:
            raise FovealError(f"{', '.join(given)} go(es) with --tasks (drawing from the gym), not with --data")
        from foveal.eval.benchmarks import is_foveal_dataset, load_data
        from foveal.tasks.export import read_manifest

        with about("--data"):
            samples = load_data(data, limit=limit)
            manifest = read_manifest(data) if is_foveal_dataset(data) else {"source": str(data)}
        manifest = {k: v for k, v in manifest.items() if k not in ("format", "version", "count")}
        return samples, str(data) + (f"[:{limit}]" if limit else ""), manifest, \
            read_manifest(data)["format"] if is_foveal_dataset(data) else "jsonl"
    if limit is not None:
        raise FovealError("--limit goes with --data; with --tasks, --n sets how many problems")
    from foveal.tasks.generate import iter_plan, plan

    p = plan(tasks_, n or 100, levels or "1", gym_seed or 0, forms or "image", None, split or "train")
    samples = list(iter_plan(p))
    manifest = {"tasks": list(p.tasks), "n": p.n, "levels": list(p.levels), "seed": p.seed, "forms": list(p.forms),
                "shard": None, "split": p.split, "variant": p.variant.as_dict()}
    source = f"gym:{','.join(p.tasks)};n={p.n};levels={','.join(map(str, p.levels))};seed={p.seed};" \
             f"split={p.split};forms={','.join(p.forms)}"
    return samples, source, manifest, "hf"


def register(app: typer.Typer) -> None:
    app.command("select")(select_command)
