"""Mixture search in the spirit of MoDoMoDo: sample K mixtures, train briefly on each, fit a predictor
of the validation score from the weights, and choose the mixture it predicts best.

    mixes = sample_mixtures(["counting", "spatial"], k=8, seed=0)      # Dirichlet draws on the simplex
    spec = search_experiment("recipes/quickstart.yaml", mixes, eval={...})   # an experiment file's content
    ... run it with `foveal.experiment.run_experiment`, read each arm's val score y ...
    model = fit(W, y)                                                   # Scheffé polynomial, least squares
    best, predicted = best_mixture(model, seed=0)

The predictor is a Scheffé mixture polynomial (no intercept: on the simplex Σ w_i = 1 it is implied):

    degree 1:  ŷ(w) = Σ_i β_i w_i
    degree 2:  ŷ(w) = Σ_i β_i w_i + Σ_{i<j} β_ij w_i w_j            (MoDoMoDo fits a quadratic)

fitted by ridge-regularised least squares, β = (XᵀX + λI)⁻¹ Xᵀy, and judged by its leave-one-out
error (honest with K of 5-20 runs: an in-sample fit of p ≤ K parameters can be perfect and mean
nothing); `choose_degree` takes the degree with the lower leave-one-out error. `best_mixture`
maximises ŷ over the simplex by scoring many Dirichlet(1) points plus the vertices and the centre,
optionally only inside the range of the mixtures that were trained (no extrapolation).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from foveal.errors import FovealError


def sample_mixtures(components: Sequence[str], k: int, alpha: float = 1.0, seed: int = 0,
                    digits: int = 3) -> list[dict[str, float]]:
    """K mixtures w ~ Dirichlet(α, ..., α) over `components` (tasks or domains), each weight rounded to
    `digits` decimals and kept ≥ 10^-digits so every component stays in the mix."""
    if len(components) < 2 or len(set(components)) != len(components):
        raise FovealError(f"a mixture search needs >= 2 distinct components, got {list(components)}")
    if k < 1 or not alpha > 0:
        raise FovealError(f"need k >= 1 and alpha > 0, got k={k}, alpha={alpha}")
    draws = np.random.default_rng(seed).dirichlet([alpha] * len(components), size=k)
    floor = 10.0 ** -digits
    return [{c: max(round(float(w), digits), floor) for c, w in zip(components, row, strict=True)} for row in draws]


def weights_matrix(mixtures: Sequence[Mapping[str, float]], components: Sequence[str]) -> np.ndarray:
    """[K, n] weights, each row normalised to sum to 1 (the simplex the predictor lives on)."""
    w = np.array([[float(m.get(c, 0.0)) for c in components] for m in mixtures], dtype=float)
    return w / w.sum(axis=1, keepdims=True)


def features(w: np.ndarray, degree: int) -> np.ndarray:
    """Scheffé terms of [K, n] weights: degree 1 -> w_i; degree 2 -> w_i then w_i w_j (i < j)."""
    if degree not in (1, 2):
        raise FovealError(f"degree must be 1 (linear) or 2 (quadratic), got {degree}")
    if degree == 1:
        return w
    pairs = [w[:, i] * w[:, j] for i, j in combinations(range(w.shape[1]), 2)]
    return np.column_stack([w, *pairs]) if pairs else w


def n_params(n: int, degree: int) -> int:
    return n if degree == 1 else n + n * (n - 1) // 2


@dataclass
class Predictor:
    """A fitted Scheffé polynomial: `predict(w)` for [M, n] weights on the simplex."""

    components: list[str]
    degree: int
    coef: np.ndarray

    def predict(self, w: np.ndarray) -> np.ndarray:
        return features(np.atleast_2d(w), self.degree) @ self.coef


def fit(w: np.ndarray, y: Sequence[float], components: Sequence[str], degree: int = 2,
        ridge: float = 1e-4) -> Predictor:
    """β = (XᵀX + λI)⁻¹ Xᵀ y with X = features(w, degree)."""
    x = features(w, degree)
    y = np.asarray(y, dtype=float)
    beta = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
    return Predictor(list(components), degree, beta)


def loo_rmse(w: np.ndarray, y: Sequence[float], components: Sequence[str], degree: int,
             ridge: float = 1e-4) -> float:
    """Leave-one-out root-mean-square error: each run predicted by a fit on the others."""
    y = np.asarray(y, dtype=float)
    errs = []
    for i in range(len(y)):
        rest = np.arange(len(y)) != i
        errs.append(fit(w[rest], y[rest], components, degree, ridge).predict(w[i])[0] - y[i])
    return float(np.sqrt(np.mean(np.square(errs))))


def feasible_degrees(k: int, n: int) -> list[int]:
    """The degrees K runs can fit and check: linear from n + 1 runs, quadratic from its parameters + 2."""
    return [d for d, need in ((1, n + 1), (2, n_params(n, 2) + 2)) if k >= need]


def choose_degree(w: np.ndarray, y: Sequence[float], components: Sequence[str]) -> int:
    """The feasible degree with the lower leave-one-out error (ties: the simpler)."""
    degrees = feasible_degrees(len(y), len(components))
    if not degrees:
        raise FovealError(f"{len(y)} runs cannot fit and check even a linear predictor of {len(components)} "
                          f"components: need at least {len(components) + 1}")
    return min(degrees, key=lambda d: (loo_rmse(w, y, components, d), d))


def best_mixture(model: Predictor, seed: int = 0, m: int = 20_000, digits: int = 3,
                 within: np.ndarray | None = None) -> tuple[dict[str, float], float]:
    """argmax of the predictor over the simplex: m Dirichlet(1) points, the vertices and the centre.

    within: [K, n] observed weights; then only points inside their per-component ranges
    (min_k w_ki ≤ w_i ≤ max_k w_ki), and the observed points themselves, are candidates, so the
    choice never rests on extrapolation beyond what was trained."""
    n = len(model.components)
    cand = np.vstack([np.random.default_rng(seed).dirichlet([1.0] * n, size=m), np.eye(n), np.full((1, n), 1 / n)])
    if within is not None:
        lo, hi = within.min(axis=0) - 1e-12, within.max(axis=0) + 1e-12
        cand = np.vstack([cand[np.all((cand >= lo) & (cand <= hi), axis=1)], within])
    scores = model.predict(cand)
    i = int(np.argmax(scores))
    return {c: round(float(v), digits) for c, v in zip(model.components, cand[i], strict=True)}, float(scores[i])


def search_experiment(recipe: str, mixtures: Mapping[str, Mapping[str, float]], eval: Mapping[str, Any],
                      seeds: int | list[int] = 1, common: Sequence[str] = (), reference: str | None = None) -> dict:
    """The content of an experiment file with one arm per mixture (`data.gym.mixture` set, `tasks` cleared)."""
    arms = {name: {"recipe": recipe, "set": ["data.gym.tasks=null", f"data.gym.mixture={json.dumps(dict(m))}"]}
            for name, m in mixtures.items()}
    return {"arms": arms, "seeds": seeds, "reference": reference or next(iter(mixtures)), "set": list(common),
            "eval": dict(eval)}
