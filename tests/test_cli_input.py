"""Every command refuses bad input the same way: one line naming the option, exit 2, nothing written.

The cases are generated from the CLI's own command tree (`typer.main.get_command`), so a new command
or option is swept as soon as it is registered:

- every option taking a value gets an invalid value of its kind automatically: a non-number for a
  number, a value below/above a declared min/max, a path under a regular file (neither readable nor
  creatable) for a path, an unknown name for a string;
- `INVALID` adds each option's own out-of-range values, missing/malformed files and unknown names;
- `FREE` lists the options where any text is valid (no automatic unknown-name case);
- `BASE` gives each command with required parameters a valid invocation, so the option under test is
  the only thing wrong. A new command with required parameters needs a row there (the sweep says so).

Each case runs in-process (`foveal.cli.main`) in an empty working directory; it must exit 2 with no
traceback, print exactly one error line that names the option, and leave the working directory and
the fixtures unchanged. Usage mistakes (unknown commands and options, options missing their values)
are checked for every command too.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import typer

from foveal.cli import app, main

ROOT = typer.main.get_command(app)


def leaf_commands(cmd=ROOT, path=()):
    """(("tasks", "show"), command), ... for every runnable command of the tree."""
    subs = getattr(cmd, "commands", None)
    if subs:
        for name, sub in sorted(subs.items()):
            yield from leaf_commands(sub, (*path, name))
    else:
        yield path, cmd


def groups(cmd=ROOT, path=()):
    subs = getattr(cmd, "commands", None)
    if subs:
        yield path, cmd
        for name, sub in sorted(subs.items()):
            yield from groups(sub, (*path, name))


COMMANDS = {" ".join(p): c for p, c in leaf_commands()}


def key(param) -> str:
    """An option by its first long flag, an argument by its name."""
    if param.param_type_name == "argument":
        return param.name
    return next((o for o in param.opts if o.startswith("--")), param.opts[0])


def takes_value(param) -> bool:
    return param.param_type_name == "argument" or not getattr(param, "is_flag", False)


def kind(command, param) -> type:
    """The Python type a parameter was declared with (list[X] -> X; Optional[X] -> X)."""
    hint = typing.get_type_hints(command.callback).get(param.name, str)
    while typing.get_origin(hint) in (list, typing.Union, type(int | None)):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


# A valid invocation of each command with required parameters ({out}: the output path, which must
# not exist afterwards; other {names}: fixtures). Options tested against another baseline: BASE_FOR.
BASE = {
    "eval": {"--model": "tiny", "--data": "{data}", "--out": "{out}", "--max-new-tokens": "4"},
    "experiment": {"file": "{experiment}", "--out": "{out}"},
    "gen": {"--tasks": "count", "--n": "2", "--levels": "1", "--out": "{out}"},
    "improve": {"--model": "tiny", "--config": "{recipe}", "--rounds": "1", "--n": "2", "--n-val": "2", "--out": "{out}"},
    "merge add": {"--base": "{model}", "--plus": "{model}", "--minus": "{model}", "--out": "{out}"},
    "merge interpolate": {"--a": "{model}", "--b": "{model}", "--alpha": "0.5", "--out": "{out}"},
    "merge layers": {"--base": "{model}", "--donor": "{model}", "--layers": "0", "--out": "{out}"},
    "model tiny": {"--out": "{out}"},
    "quickstart": {"--out": "{out}"},
    "report": {"runs": "{evalrun}", "--out": "{out}"},
    "select": {"--model": "tiny", "--data": "{data}", "--out": "{out}", "--k": "1", "--max-new-tokens": "4"},
    "serve": {"model_dir": "tiny", "--port": "{port}"},
    "tasks gallery": {"--out": "{out}"},
    "tasks show": {"name": "count", "--out": "{out}"},
    "tasks stats": {"name": "clock", "--level": "1", "--n": "20"},
    "train": {"--config": "{recipe}", "--out": "{out}"},
}
BASE_FOR = {("train", "--resume"): {}}

# Invalid values beyond the automatic ones ({file}: a regular file; {dir}: an empty directory;
# {missing}: a path that does not exist; {badyaml}, {badjsonl}: malformed files).
INVALID = {
    ("eval", "--batch-size"): ["0"],
    ("eval", "--base-url"): ["http://127.0.0.1:9/v1"],  # with the hf backend
    ("eval", "--data"): ["{missing}", "{dir}", "{badjsonl}"],
    ("eval", "--judge-url"): ["ftp://127.0.0.1/v1", "http://127.0.0.1:9/v1"],  # the latter with --k 1
    ("eval", "--k"): ["0"],
    ("eval", "--limit"): ["0"],
    ("eval", "--max-new-tokens"): ["0"],
    ("eval", "--model"): ["{missing}", "{dir}"],
    ("eval", "--out"): ["{file}"],
    ("eval", "--seed"): ["-1"],
    ("eval", "--shuffles"): ["-1"],
    ("eval", "--temperature"): ["-1", "nan", "inf"],
    ("eval", "--top-p"): ["0", "1.5"],
    ("experiment", "--out"): ["{file}"],
    ("experiment", "file"): ["{missing}", "{dir}", "{badyaml}"],
    ("gen", "--levels"): ["0", "1-", "9-1"],
    ("gen", "--n"): ["0"],
    ("gen", "--out"): ["{file}"],
    ("gen", "--seed"): ["-1"],
    ("gen", "--shard"): ["2/2", "1"],
    ("gen", "--tasks"): ["count,nope"],
    ("gen", "--workers"): ["0"],
    ("improve", "--config"): ["{missing}", "{dir}", "{badyaml}"],
    ("improve", "--data"): ["{missing}", "{dir}", "{badjsonl}"],
    ("improve", "--levels"): ["0", "1-"],
    ("improve", "--min-agreement"): ["1.5", "-0.1", "nan"],
    ("improve", "--model"): ["{missing}", "{dir}"],
    ("improve", "--out"): ["{file}"],
    ("improve", "--sample-budget"): ["1"],  # with --n
    ("improve", "--set"): ["sft.steps=0", "nope.x=1"],
    ("improve", "--sft-epochs"): ["0", "nan"],
    ("improve", "--tasks"): ["count,nope"],
    ("merge add", "--alpha"): ["nan", "inf"],
    ("merge add", "--base"): ["{missing}", "{dir}", "{file}"],
    ("merge add", "--density"): ["0", "1.5", "nan"],
    ("merge add", "--out"): ["{file}", "{model}"],
    ("merge interpolate", "--alpha"): ["1.5", "-0.1", "linear:0:2", "0.1,0.2,0.3"],
    ("merge interpolate", "--b"): ["{missing}", "{dir}"],
    ("merge interpolate", "--rest"): ["2", "nan"],
    ("merge layers", "--layers"): ["2", "1-0", "0,"],
    ("merge layers", "--donor"): ["{missing}", "{dir}"],
    ("model tiny", "--out"): ["{file}"],
    ("model tiny", "--seed"): ["-1"],
    ("model tiny", "--arch"): ["tiny-nope"],
    ("quickstart", "--minutes"): ["0", "-1", "inf"],
    ("quickstart", "--n-eval"): ["0"],
    ("quickstart", "--out"): ["{file}"],
    ("quickstart", "--tasks"): ["count,nope"],
    ("report", "--examples"): ["-1"],
    ("report", "--names"): ["a,b"],  # two labels for one run
    ("report", "--out"): ["{dir}"],
    ("report", "--train"): ["{missing}", "{dir}"],
    ("report", "runs"): ["{missing}", "{dir}"],
    ("select", "--base-url"): ["http://127.0.0.1:9/v1"],  # with the hf backend
    ("select", "--data"): ["{missing}", "{dir}", "{badjsonl}"],
    ("select", "--keep"): ["pass_rat > 0", "pass_rate <", "0.1 <= pass_rate and", "__import__('os')"],
    ("select", "--model"): ["{missing}", "{dir}"],
    ("select", "--out"): ["{file}"],
    ("select", "--rewards"): ["accuracy=x", "nope=1"],
    ("select", "--temperature"): ["-1", "nan"],
    ("select", "--top-p"): ["0", "1.5"],
    ("serve", "--api-key"): [""],
    ("serve", "--host"): ["not a host"],  # (an unknown name would ask DNS)
    ("serve", "--port"): ["0", "70000"],
    ("serve", "model_dir"): ["{missing}", "{dir}"],
    ("tasks gallery", "--level"): ["0"],  # a higher level is capped at each family's highest
    ("tasks gallery", "--out"): ["{dir}"],
    ("tasks gallery", "--seed"): ["-1"],
    ("tasks show", "--level"): ["0", "99"],
    ("tasks show", "--out"): ["{file}"],
    ("tasks show", "--seed"): ["-1"],
    ("train", "--config"): ["{missing}", "{dir}", "{badyaml}"],
    ("train", "--out"): ["{file}"],
    ("train", "--resume"): ["{missing}", "{dir}"],
    ("train", "--set"): ["rl.steps", "nope.x=1", "rl.steps=abc"],
}
# Options where any text is valid: no automatic unknown-name case.
FREE = {("eval", "--stop"), ("select", "--stop"), ("report", "--names"), ("serve", "--api-key"), ("serve", "--host"), ("serve", "--name")}

NAME = "no-such-name"


def automatic(command, param) -> list[str]:
    """Invalid values every option of this kind gets."""
    t = kind(command, param)
    if t in (int, float):
        bounds = [str(b - 1) for b in [getattr(param, "min", None)] if b is not None]
        bounds += [str(b + 1) for b in [getattr(param, "max", None)] if b is not None]
        return ["abc", *bounds]
    if t is Path:
        return ["{file}/x"]
    return [] if t is bool else [NAME]


def cases():
    for cmd, command in COMMANDS.items():
        for param in command.params:
            if not takes_value(param) or param.name == "help":
                continue
            k = key(param)
            values = automatic(command, param) + INVALID.get((cmd, k), [])
            if (cmd, k) in FREE:
                values = [v for v in values if v != NAME]
            for v in dict.fromkeys(values):
                yield pytest.param(cmd, k, v, id=f"{cmd} {k}={v!r}")


def argv_for(cmd: str, values: dict[str, str]) -> list[str]:
    """The command with these parameters (arguments first, in their order; then options)."""
    params = {key(p): p for p in COMMANDS[cmd].params}
    args = [values[a] for a, p in params.items() if p.param_type_name == "argument" and a in values]
    opts = [x for o, v in values.items() if o.startswith("-") for x in (o, v)]
    return [*cmd.split(), *args, *opts]


def snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    """Every path under `roots`, files with their size and modification time (a directory's own
    time changes when a command probes it for write access with a temporary entry; its entries count)."""
    out = {}
    for root in roots:
        for p in [root, *root.rglob("*")]:
            st = p.lstat()
            out[str(p)] = (st.st_size, st.st_mtime_ns) if p.is_file() else (0, 0)
    return out


class Timeout(Exception):
    pass


def run(argv: list[str], capsys, seconds: int = 120) -> tuple[int, str, str]:
    """`foveal ARGV` in-process: (exit code, stdout, stderr); a command that hangs fails the test."""

    def expire(*_):
        raise Timeout(f"foveal {' '.join(argv)} still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        with pytest.raises(SystemExit) as e:
            main(argv)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


def error_lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith(("error:", "Error:"))]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    """Real inputs: a gen dataset, an eval run, a recipe, and broken files."""
    import yaml

    from foveal.models import build_tiny_vlm
    from foveal.quickstart import recipe_path

    fx = tmp_path_factory.mktemp("fixtures")
    (fx / "file").write_text("not a directory\n")
    (fx / "dir").mkdir()
    (fx / "bad.yaml").write_text("model: [unclosed\n")
    (fx / "bad.jsonl").write_text('{"id": "x", "question": \n')
    recipe = yaml.safe_load(recipe_path().read_text())
    recipe["sft"].update(steps=1, batch_size=2, micro_batch_size=2)
    recipe["rl"]["steps"] = 0
    (fx / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    names = {"file": fx / "file", "dir": fx / "dir", "missing": fx / "missing", "badyaml": fx / "bad.yaml",
             "badjsonl": fx / "bad.jsonl", "recipe": fx / "recipe.yaml", "data": fx / "data",
             "evalrun": fx / "evalrun", "model": fx / "model", "experiment": Path(__file__).resolve().parents[1] / "experiments" / "smoke.yaml"}
    names = {k: str(v) for k, v in names.items()}
    with socket.socket() as s:  # a port free now, so that serve's baseline is valid
        s.bind(("127.0.0.1", 0))
        names["port"] = str(s.getsockname()[1])
    build_tiny_vlm(names["model"], text_layers=2, vision_depth=1)  # for merge
    with pytest.raises(SystemExit) as e:
        main(["gen", "--tasks", "count", "--n", "2", "--levels", "1", "--format", "jsonl", "--out", names["data"]])
    assert e.value.code == 0
    with pytest.raises(SystemExit) as e:
        main(["eval", "--model", "tiny", "--data", names["data"], "--out", names["evalrun"],
              "--max-new-tokens", "4"])
    assert e.value.code == 0
    return fx, names


def test_every_command_with_required_parameters_has_a_baseline():
    missing = [c for c, cmd in COMMANDS.items() if c not in BASE and any(p.required for p in cmd.params)]
    assert not missing, f"add a valid invocation of {missing} to BASE in {__file__}"


@pytest.mark.parametrize("cmd,option,value", list(cases()))
def test_invalid_value_is_one_line_exit_2_nothing_written(cmd, option, value, fixtures, tmp_path, monkeypatch,
                                                          capsys):
    fx, names = fixtures
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    out = cwd / "out"
    fill = {**names, "out": str(out)}
    base = BASE_FOR.get((cmd, option), BASE.get(cmd, {}))
    argv = [a.format(**fill) for a in argv_for(cmd, {**base, option: value})]
    before = snapshot(fx, cwd)
    code, stdout, err = run(argv, capsys)
    shown = f"foveal {' '.join(argv)}\nstdout: {stdout}\nstderr: {err}"
    assert code == 2, shown
    assert "Traceback" not in stdout + err, shown
    lines = error_lines(err)
    assert len(lines) == 1, shown
    others = [ln for ln in err.splitlines() if ln.strip() and ln not in lines]
    assert all(ln.startswith(("Usage:", "Try '")) for ln in others), shown  # click's usage line only
    param = next(p for p in COMMANDS[cmd].params if key(p) == option)
    names_of = [*param.opts, param.name.upper()] if param.param_type_name == "option" else \
        [param.name.upper(), param.name.upper().rstrip("S"), value.format(**fill)]
    assert any(n and n in lines[0] for n in names_of), f"the error does not name {option}: {shown}"
    assert not out.exists(), shown
    assert snapshot(fx, cwd) == before, f"something was written: {shown}"


# Options that are each valid but not together: (command, changes to its baseline, text of the error).
COMBINATIONS = [
    ("eval", {"--k": "2"}, "--k 2 at --temperature 0"),  # greedy: refused, not K copies
    ("eval", {"--k": "2", "--temperature": "0"}, "--k 2 at --temperature 0"),
    ("eval", {"--backend": "openai"}, "--backend openai needs --base-url"),
    ("eval", {"--backend": "openai", "--base-url": "ftp://127.0.0.1/v1"}, "--base-url 'ftp://127.0.0.1/v1'"),
    ("train", {"--resume": "{dir}"}, "--resume RUN continues RUN with its own config.yaml"),
    ("report", {"--names": "a,b"}, "--names"),
]


@pytest.mark.parametrize("cmd,changes,needle", COMBINATIONS, ids=[f"{c} {ch}" for c, ch, _ in COMBINATIONS])
def test_conflicting_options_are_refused_before_writing(cmd, changes, needle, fixtures, tmp_path, monkeypatch,
                                                        capsys):
    fx, names = fixtures
    monkeypatch.chdir(tmp_path)
    fill = {**names, "out": str(tmp_path / "out")}
    argv = [a.format(**fill) for a in argv_for(cmd, {**BASE[cmd], **changes})]
    before = snapshot(fx, tmp_path)
    code, _, err = run(argv, capsys)
    assert code == 2 and error_lines(err) == [err.strip()] and needle in err, err
    assert snapshot(fx, tmp_path) == before


def test_serve_refuses_a_taken_port_before_loading_the_model(capsys):
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        t = time.perf_counter()
        code, _, err = run(["serve", "tiny", "--port", str(port)], capsys)
    assert code == 2 and error_lines(err) == [err.strip()] and f"--port {port}: cannot listen" in err, err
    assert time.perf_counter() - t < 5  # refused at once, not after loading a model


def test_evaluate_refuses_greedy_k_copies_before_writing(tmp_path):
    """The library call behaves like the command: K > 1 at temperature 0 is refused, nothing written."""
    from foveal.errors import FovealError
    from foveal.eval import evaluate
    from foveal.rollout import Sampling
    from foveal.tasks import get

    with pytest.raises(FovealError, match="k=2 completions at temperature 0"):
        evaluate(None, [get("count").generate(0, 1)], k=2, sampling=Sampling(temperature=0.0), out=tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


# -- usage mistakes: click's usage line and suggestion, exit 2, for every command ----------------------

@pytest.mark.parametrize("path", [" ".join(p) for p, _ in leaf_commands()])
def test_unknown_option_is_a_usage_error(path, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run([*path.split(), "--no-such-option"], capsys)
    assert code == 2 and "Traceback" not in err
    assert err.startswith("Usage: foveal " + path), err
    assert error_lines(err) == ["Error: No such option: --no-such-option"], err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", [" ".join(p) for p, _ in leaf_commands()])
def test_mistyped_command_gets_a_suggestion(path, capsys):
    *parent, name = path.split()
    typo = name + name[-1]
    code, _, err = run([*parent, typo], capsys)
    assert code == 2 and "Traceback" not in err
    assert f"No such command '{typo}'. Did you mean '{name}'" in err, err  # (or '{name}', 'other'?)


@pytest.mark.parametrize("path,option", [
    pytest.param(c, key(p), id=f"{c} {key(p)}") for c, cmd in COMMANDS.items() for p in cmd.params
    if p.param_type_name == "option" and takes_value(p)])
def test_option_without_value_is_a_usage_error(path, option, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run([*path.split(), option], capsys)
    assert code == 2 and "Traceback" not in err
    assert error_lines(err) == [f"Error: Option '{option}' requires an argument."], err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", [" ".join(p) for p, _ in groups() if p])
def test_unknown_subcommand_of_a_group(path, capsys):
    code, _, err = run([*path.split(), "nope"], capsys)
    assert code == 2 and error_lines(err) == ["Error: No such command 'nope'."], err


def test_installed_command_prints_usage_not_a_traceback(tmp_path):
    """The issue's examples, as a user runs them (a real process)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for argv, message in ((["tasks", "lst"], "No such command 'lst'. Did you mean 'list'?"),
                          (["train", "--cfg", "x"], "No such option: --cfg"),
                          (["eval", "--model"], "Option '--model' requires an argument.")):
        r = subprocess.run([sys.executable, "-m", "foveal.cli", *argv], capture_output=True, text=True,
                           cwd=tmp_path, env=env, timeout=120)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert re.search(re.escape(message), r.stderr), r.stderr
