"""Mixture search in the spirit of MoDoMoDo: which task/domain mixture trains the best model?

    python scripts/mixture_search.py --recipe recipes/quickstart.yaml --components count,fraction_shaded,block_count \
        --k 6 --set data.gym.query=null --set rl.steps=0 --set sft.steps=100 --eval-levels 1 --eval-n 50 \
        --out runs/mixsearch

1. Draw K mixtures over the components (tasks or domains, see `foveal.tasks.domains`) from a
   Dirichlet(α), plus the uniform mixture (the reference arm).
2. Train the recipe once per mixture and seed (`data.gym.mixture` set) and score each run on `val`
   problems of every task the components hold (one `foveal experiment`: resumable, `--workers`).
3. Fit a Scheffé polynomial ŷ(w) of the mean val accuracy from the weights (linear or quadratic,
   whichever predicts left-out runs better; `foveal.experiment.mixture`) and report its
   leave-one-out error next to that of predicting the mean. If ŷ beats the mean, choose the mixture
   that maximises it within the range of the trained mixtures (`--extrapolate`: the whole simplex);
   else choose the best observed mixture.
4. With --confirm, train the chosen mixture and the uniform one again with fresh seeds (1000, ...)
   and compare them on `test` problems (paired interval), so the choice is judged on problems and
   training runs it was not chosen on.

Writes OUT/search.yaml and OUT/exp/ (the experiment), OUT/search.json (mixtures, scores, fit, choice),
and with --confirm OUT/confirm.yaml and OUT/confirm/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import yaml

from foveal.errors import FovealError
from foveal.experiment import run_experiment
from foveal.experiment.mixture import (
    best_mixture,
    choose_degree,
    fit,
    loo_rmse,
    n_params,
    sample_mixtures,
    search_experiment,
    weights_matrix,
)
from foveal.io import atomic_write_json, atomic_write_text
from foveal.tasks.domains import resolve_mixture, resolve_name

CONFIRM_SEED_OFFSET = 1000  # the confirmation trains with seeds 1000, 1001, ...; the search with 0, 1, ...


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", required=True, help="base recipe (its data.gym.tasks is replaced by each mixture)")
    p.add_argument("--components", required=True, help="comma-separated tasks or domains to mix (>= 2)")
    p.add_argument("--k", type=int, default=8, help="sampled mixtures (besides the uniform one)")
    p.add_argument("--alpha", type=float, default=1.0, help="Dirichlet concentration (1: uniform on the simplex)")
    p.add_argument("--seeds", type=int, default=1, help="training seeds per mixture")
    p.add_argument("--set", action="append", default=[], dest="overrides", help="override for every run (repeatable)")
    p.add_argument("--eval-levels", default="1", help="levels of the val problems, e.g. 1 or 1,2")
    p.add_argument("--eval-n", type=int, default=50, help="distinct val problems per task")
    p.add_argument("--degree", choices=("auto", "1", "2"), default="auto", help="predictor: linear, quadratic or auto")
    p.add_argument("--seed", type=int, default=0, help="seed of the mixture draws and the simplex search")
    p.add_argument("--workers", type=int, default=1, help="runs at once (one process and torch thread each)")
    p.add_argument("--extrapolate", action="store_true",
                   help="maximise the predictor over the whole simplex (default: within the trained mixtures' range)")
    p.add_argument("--confirm", action="store_true", help="then train chosen vs uniform and compare them on test")
    p.add_argument("--out", required=True, type=Path)
    return p.parse_args(argv)


def experiment_file(path: Path, spec: dict) -> Path:
    atomic_write_text(path, yaml.safe_dump(spec, sort_keys=False))
    return path


def main(argv=None) -> dict:
    a = parse_args(argv)
    components = [c.strip() for c in a.components.split(",") if c.strip()]
    for c in components:
        resolve_name(c)
    uniform = {c: 1.0 for c in components}
    tasks = sorted(resolve_mixture(uniform))
    mixtures = {"uniform": uniform, **{f"mix{i}": m for i, m in enumerate(sample_mixtures(components, a.k, a.alpha, a.seed))}}
    recipe = str(Path(a.recipe).resolve())
    levels = [int(x) for x in a.eval_levels.split(",")]
    ev = {"split": "val", "tasks": tasks, "levels": levels, "n": a.eval_n, "forms": ["image"]}
    a.out.mkdir(parents=True, exist_ok=True)
    spec = search_experiment(recipe, mixtures, ev, a.seeds, a.overrides, reference="uniform")
    results = run_experiment(experiment_file(a.out / "search.yaml", spec), a.out / "exp", a.workers)

    y = np.array([next(r for r in results["rows"] if r["arm"] == name)["accuracy"]["overall"]["mean"]
                  for name in mixtures])
    w = weights_matrix(list(mixtures.values()), components)
    degree = choose_degree(w, y, components) if a.degree == "auto" else int(a.degree)
    if len(y) < n_params(len(components), degree) + 1:
        raise FovealError(f"{len(y)} runs cannot fit and check a degree-{degree} predictor of "
                          f"{n_params(len(components), degree)} parameters: raise --k")
    model = fit(w, y, components, degree)
    loo, loo_mean = loo_rmse(w, y, components, degree), float(np.sqrt(np.mean(((y - y.mean()) * len(y) / (len(y) - 1)) ** 2)))
    observed = max(mixtures, key=lambda name: y[list(mixtures).index(name)])
    if loo < loo_mean:  # the predictor predicts held-out runs better than their mean does: trust it, inside the data
        chosen, predicted = best_mixture(model, a.seed, within=None if a.extrapolate else w)
        rule = "argmax of the predictor" + ("" if a.extrapolate else " within the trained range")
    else:
        total = sum(mixtures[observed].values())
        chosen = {c: round(v / total, 3) for c, v in mixtures[observed].items()}
        predicted = float(model.predict(weights_matrix([chosen], components))[0])
        rule = "best observed (the predictor's leave-one-out error is no better than the mean's)"
    report = {
        "components": components, "tasks": tasks, "recipe": recipe, "overrides": a.overrides, "seeds": a.seeds,
        "eval": ev, "mixtures": mixtures, "val_accuracy": dict(zip(mixtures, map(float, y), strict=True)),
        "predictor": {"degree": degree, "coef": model.coef.tolist(), "loo_rmse": loo, "loo_rmse_of_the_mean": loo_mean,
                      "in_sample_r2": r_squared(model.predict(w), y)},
        "chosen": chosen, "chosen_predicted": predicted, "choice": rule,
        "best_observed": {"arm": observed, "mixture": mixtures[observed], "val_accuracy": float(y.max())},
        "command": "python scripts/mixture_search.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    if a.confirm:
        # the arm is named by its mixture, so a rerun that chooses another one adds an arm (uniform is reused)
        arm = "chosen-" + hashlib.sha1(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:8]
        # fresh training seeds: the confirmation retrains both mixtures, it does not reuse the search's models
        seeds = [CONFIRM_SEED_OFFSET + s for s in range(a.seeds)]
        spec = search_experiment(recipe, {"uniform": uniform, arm: chosen}, {**ev, "split": "test"}, seeds,
                                 a.overrides, reference="uniform")
        confirm = run_experiment(experiment_file(a.out / "confirm.yaml", spec), a.out / "confirm", a.workers)
        row = next(r for r in confirm["rows"] if r["arm"] == arm)["accuracy"]["overall"]
        base = next(r for r in confirm["rows"] if r["arm"] == "uniform")["accuracy"]["overall"]
        report["confirm_test"] = {"seeds": seeds, "chosen": row["mean"], "uniform": base["mean"],
                                  "chosen_minus_uniform": row.get("minus_reference")}
    atomic_write_json(a.out / "search.json", report)
    print_report(report)
    return report


def r_squared(pred: np.ndarray, y: np.ndarray) -> float | None:
    """1 − SS_res / SS_tot; None when every score is the same (nothing to explain)."""
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return None if ss_tot == 0 else 1 - float(np.sum((pred - y) ** 2)) / ss_tot


def print_report(r: dict) -> None:
    comps = r["components"]
    print(f"{'arm':>8}  " + "  ".join(f"{c:>14}" for c in comps) + "  val acc")
    for name, m in r["mixtures"].items():
        total = sum(m.values())
        print(f"{name:>8}  " + "  ".join(f"{m[c] / total:14.3f}" for c in comps) + f"  {r['val_accuracy'][name]:.3f}")
    p = r["predictor"]
    print(f"predictor: degree {p['degree']}, leave-one-out RMSE {p['loo_rmse']:.4f} "
          f"(predicting the mean: {p['loo_rmse_of_the_mean']:.4f}), in-sample R² "
          + ("undefined (all scores equal)" if p["in_sample_r2"] is None else f"{p['in_sample_r2']:.3f}"))
    print(f"chosen mixture {r['chosen']} by {r['choice']} (predicted val accuracy {r['chosen_predicted']:.3f}); "
          f"best observed {r['best_observed']['arm']} {r['best_observed']['val_accuracy']:.3f}")
    if "confirm_test" in r:
        c = r["confirm_test"]
        d = c["chosen_minus_uniform"] or {}
        lo, hi = d.get("ci95", [float("nan")] * 2)
        print(f"test: chosen {c['chosen']:.3f} vs uniform {c['uniform']:.3f}; difference "
              f"{d.get('delta', float('nan')):+.3f} [95% CI {lo:+.3f}, {hi:+.3f}]")


if __name__ == "__main__":
    try:
        main()
    except FovealError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
