"""`foveal eval` and `foveal report`."""

from __future__ import annotations

from pathlib import Path

import typer

from foveal.errors import FovealError
from foveal.options import about, check_out_dir, check_out_file, check_sampling
from foveal.prompts import R1_SYSTEM_PROMPT, RUN_FORMATS, SYSTEM_PROMPTS

BACKENDS = ("hf", "vllm", "openai")


def eval_command(
    model: str = typer.Option(..., "--model", help="Model directory, 'tiny', 'smollm2-135m', or (openai) the served model name."),
    data: Path = typer.Option(..., "--data", help="A `foveal gen` dataset, or a benchmark file/directory (MathVista, MathVerse, generic JSONL/parquet)."),
    out: Path = typer.Option(..., "--out", help="Run directory; rerunning into it resumes where it stopped."),
    backend: str = typer.Option("hf", "--backend", help="Rollout backend: hf, vllm or openai."),
    k: int = typer.Option(1, "--k", min=1, help="Completions per problem (pass@k, maj@k, agreement need K > 1, and --temperature > 0)."),
    temperature: float = typer.Option(0.0, "--temperature", help="Sampling temperature; 0 is greedy."),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus sampling threshold, in (0, 1]."),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", min=1, help="Longest completion, in tokens."),
    twin: str = typer.Option("image", "--twin", help="image, text (the text twin) or both (measures the modality gap)."),
    shuffles: int = typer.Option(0, "--shuffles", min=0, help="Option-shuffled copies of each choice problem (option consistency)."),
    blind: bool = typer.Option(False, "--blind", help="Also ask each image problem with its images blanked (blind accuracy, the 'needs the image' gap)."),
    perturb: bool = typer.Option(False, "--perturb", help="Also ask each gym problem's twin with one generator knob changed (accuracy on originals vs twins)."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Problems per generation batch (and per append to samples.jsonl)."),
    limit: int = typer.Option(None, "--limit", min=1, help="Evaluate only the first N problems of the data."),
    seed: int = typer.Option(0, "--seed", min=0, help="Sampling seed."),
    stop: list[str] = typer.Option(["</answer>"], "--stop", help="Stop string (repeatable); --stop '' for none."),
    base_url: str = typer.Option(None, "--base-url", help="openai backend: the API root, e.g. http://127.0.0.1:8000/v1."),
    layout: str = typer.Option("auto", "--layout", help="Benchmark layout: auto, foveal, mathvista, mathverse or generic."),
    answer_format: str = typer.Option("auto", "--answer-format", help="r1: prompt for and score <think>…</think><answer>…</answer>; answer: <answer>…</answer> alone (an answer-only / no-thinking model); auto: as the foveal run that trained --model was (its config.yaml), else r1."),
    judge_url: str = typer.Option(None, "--judge-url", help="Best-of-K judge: an OpenAI-compatible API root (e.g. a `foveal serve`) whose model rates each completion 0-10 without the gold answer."),
    judge_model: str = typer.Option(None, "--judge-model", help="The judge's served model name (with --judge-url)."),
) -> None:
    """Sample K completions per problem, score them, and write RUN/samples.jsonl, metrics.json, config.json.

    K > 1 needs --temperature > 0: greedy decoding would only repeat one completion K times.
    --answer-format picks the system prompt (`foveal.prompts.SYSTEM_PROMPTS`) and where the answer is read,
    so an answer-only model is prompted and scored as it was trained (`answer_format: answer` in its recipe).
    With `auto` (the default) a model saved by `foveal train` (RUN/sft, RUN/rl) is prompted with its run's own
    system prompt and answer format, e.g. none for the quickstart's models, which learned the format by SFT.
    """
    from rich.console import Console

    from foveal.eval.benchmarks import load_data
    from foveal.eval.harness import TWINS, check_resumable, evaluate, run_config
    from foveal.rollout import Sampling

    # Everything is checked before the run directory is created (or the slow model load starts).
    if twin not in TWINS:
        raise FovealError(f"--twin {twin!r}: twin must be one of {', '.join(TWINS)}")
    if backend not in BACKENDS:
        raise FovealError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if answer_format != "auto" and answer_format not in RUN_FORMATS:
        raise FovealError(f"--answer-format {answer_format!r}: expected auto or one of {', '.join(RUN_FORMATS)}")
    answer_format, system_prompt, prompt_source = eval_prompt(model, answer_format, backend)
    check_sampling(k, temperature, top_p)
    if backend == "openai" and not base_url:
        raise FovealError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
    if backend != "openai" and base_url:
        raise FovealError(f"--base-url is only used with --backend openai, not {backend}")
    if base_url and not base_url.startswith(("http://", "https://")):
        raise FovealError(f"--base-url {base_url!r}: expected an http:// or https:// URL, e.g. http://127.0.0.1:8000/v1")
    if judge_url is not None and not judge_url.startswith(("http://", "https://")):
        raise FovealError(f"--judge-url {judge_url!r}: expected an http:// or https:// URL, e.g. http://127.0.0.1:8001/v1")
    if (judge_url is None) != (judge_model is None):
        raise FovealError("--judge-url and --judge-model go together: the judge's API root and its served model name")
    if judge_url and k < 2:
        raise FovealError(f"--judge-url: best-of-K judging needs --k > 1 completions to choose from, got --k {k}")
    check_out_dir(out, overwrite=True)  # an existing run directory is resumed
    console = Console()
    with about("--data"):
        samples = load_data(data, layout=layout, limit=limit)
    sampling = Sampling(temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                        stop=tuple(s for s in stop if s), seed=seed)
    judge_meta = {"url": judge_url, "model": judge_model} if judge_url else None
    meta = {"model": model, "data": str(data), "backend": backend, "limit": limit, "judge": judge_meta,
            "system_prompt": system_prompt}
    check_resumable(out, run_config(k, sampling, twin, shuffles, meta, blind, perturb, answer_format))  # before the slow model load
    with console.status(f"loading {model} ({backend})"), about("--model"):
        engine = make_backend(backend, model, batch_size * k, base_url, out, system_prompt)
    judge = make_backend("openai", judge_model, batch_size * k, judge_url, out, None) if judge_url else None
    console.print(f"evaluating [bold]{model}[/] on {len(samples)} problems from {data} "
                  f"(K={k}, T={temperature}, twin={twin}, answer format {answer_format}, {prompt_source}) -> {out}")
    result = evaluate(engine, samples, k=k, sampling=sampling, twin=twin, out=out, batch_size=batch_size,
                      shuffles=shuffles, meta=meta, blind=blind, perturb=perturb, answer_format=answer_format,
                      judge=judge)
    print_summary(console, result.metrics)
    console.print(f"wrote {out / 'samples.jsonl'}, {out / 'metrics.json'}; "
                  f"view with: foveal report {out} --out {out / 'report.html'}")


def eval_prompt(model: str, answer_format: str, backend: str) -> tuple[str, str | None, str]:
    """(answer format, system prompt, where they came from) for `foveal eval --answer-format`.

    An explicit format uses its standard system prompt (`SYSTEM_PROMPTS`). `auto` reads the run that
    trained `model` when `model` is a directory saved by `foveal train` (its parent holds the run's
    config.yaml): that run's `answer_format` and `model.system_prompt`, so a model is asked the way it
    learned; any other model (a hub model, `tiny`, a served name) gets r1 and the R1 system prompt.
    """
    if answer_format != "auto":
        return answer_format, SYSTEM_PROMPTS[answer_format], f"{answer_format} system prompt"
    run_config = Path(model).parent / "config.yaml"
    if backend == "openai" or not Path(model).is_dir() or not run_config.is_file():
        return "r1", SYSTEM_PROMPTS["r1"], "r1 system prompt"
    from foveal.config import load_config

    try:
        cfg = load_config(run_config)
    except FovealError as e:
        raise FovealError(f"--answer-format auto: cannot read the training run's {run_config} ({e}); "
                          "give --answer-format r1 or answer") from None
    source = "no system prompt" if cfg.model.system_prompt is None else "its run's system prompt"
    return cfg.answer_format, cfg.model.system_prompt, f"{source}, as trained ({run_config})"


def make_backend(name: str, model: str, batch_size: int, base_url: str | None, out: Path,
                 system_prompt: str | None = R1_SYSTEM_PROMPT):
    """The rollout backend for `foveal eval` (hf/vllm load the model in-process), prompting with `system_prompt`."""
    from foveal.rollout import get_backend

    if name == "openai":
        return get_backend("openai", base_url=base_url, model=model, cache_dir=out / "openai-cache",
                           system_prompt=system_prompt)
    if name == "vllm":
        return get_backend("vllm", model_path=model, system_prompt=system_prompt)
    from foveal.models import load_policy

    return get_backend("hf", policy=load_policy(model, system_prompt=system_prompt), batch_size=batch_size)


def print_summary(console, metrics: dict) -> None:
    """The headline numbers and a per-task table."""
    from rich.table import Table

    from foveal.eval.report import pct

    o = metrics["overall"]
    if not o.get("n"):
        console.print("no problems evaluated")
        return
    k = o["k"]
    line = (f"accuracy {pct(o['accuracy'])} [95% CI {pct(o['accuracy_ci95'][0])}, {pct(o['accuracy_ci95'][1])}]"
            f"  format {pct(o['format_rate'])}")
    if k > 1:
        line += f"  pass@{k} {pct(o['pass@k'][str(k)])}  maj@{k} {pct(o['maj@k'])}  agreement {pct(o['agreement'])}"
        line += "".join(f"  best-of-{k} ({name}) {pct(v)}" for name, v in (o.get("best_of@k") or {}).items())
    if o.get("mean_tokens") is not None:
        line += f"  mean length {o['mean_tokens']:.1f} tokens"
    console.print(line)
    if o.get("think_answer_determined"):
        console.print(f"think–answer consistency {pct(o['think_answer_consistency'])} "
                      f"(of the {pct(o['think_answer_determined'])} of completions whose reasoning states an answer)")
    blind = (metrics.get("blind") or {}).get("overall")
    if blind:
        lo, hi = blind["needs_image_ci95"]
        console.print(f"blind accuracy {pct(blind['blind'])} vs image {pct(blind['image'])} on {blind['n_distinct']} "
                      f"problems: needs the image {blind['needs_image'] * 100:+.1f} pt [{lo * 100:+.1f}, {hi * 100:+.1f}]")
    pert = (metrics.get("perturbed") or {}).get("overall")
    if pert:
        lo, hi = pert["drop_ci95"]
        console.print(f"perturbed twins for {pert['n']} of {o['n']} problems: original {pct(pert['original'])}, "
                      f"perturbed {pct(pert['perturbed'])} (drop {pert['drop'] * 100:+.1f} pt [{lo * 100:+.1f}, "
                      f"{hi * 100:+.1f}]), right on both {pct(pert['right_on_both'])}")
    gap = metrics.get("modality_gap") or {}
    blind_t = (metrics.get("blind") or {}).get("by_task", {})
    pert_t = (metrics.get("perturbed") or {}).get("by_task", {})
    table = Table(box=None, header_style="bold")
    cols = ["task", "n", "accuracy", *(("image", "text", "gap") if gap else ()), *(("blind", "needs image") if blind
            else ()), *(("perturbed",) if pert else ()), *(("think=answer",) if o.get("think_answer_determined") else ())]
    for col in cols:
        table.add_column(col, justify="left" if col == "task" else "right")
    for task, m in metrics["by_task"].items():
        g, b, q = gap.get("by_task", {}).get(task), blind_t.get(task), pert_t.get(task)
        cells = [task, str(m["n"]), pct(m["accuracy"])]
        if gap:
            cells += [pct(g["image"]), pct(g["text"]), f"{g['gap'] * 100:+.1f} pt"] if g else ["–"] * 3
        if blind:
            cells += [pct(b["blind"]), f"{b['needs_image'] * 100:+.1f} pt"] if b else ["–"] * 2
        if pert:
            cells += [f"{pct(q['perturbed'])} ({q['n']})" if q else "–"]
        if o.get("think_answer_determined"):
            cells += [pct(m.get("think_answer_consistency"))]
        table.add_row(*cells)
    console.print(table)


def report_command(
    runs: list[Path] = typer.Argument(..., help="Eval run directories (from `foveal eval`) and/or training runs."),
    out: Path = typer.Option(Path("report.html"), "--out", help="The HTML file to write."),
    names: str = typer.Option(None, "--names", help="Comma-separated labels for the runs, e.g. base,sft,grpo."),
    train: list[Path] = typer.Option(None, "--train", help="A training run directory (or train.jsonl) whose curves to add; repeatable."),
    examples: int = typer.Option(4, "--examples", min=0, help="Right and wrong examples shown per run."),
) -> None:
    """Write one self-contained HTML report (plots embedded) for one or more runs."""
    from rich.console import Console

    from foveal.eval.report import build_report

    labels = [n.strip() for n in names.split(",")] if names else None
    check_out_file(out)
    path = build_report(runs, out, names=labels, train=train or None, examples=examples)
    Console().print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): open it in a browser")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.command("report")(report_command)
