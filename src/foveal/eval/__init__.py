"""foveal.eval: measure a model on verifiable problems and show what changed.

    from foveal.eval import evaluate, load_data, build_report
    result = evaluate(backend, load_data("runs/data"), k=4, twin="both", out="runs/eval")
    build_report(["runs/eval"], "report.html")

Modules, one idea each: `metrics` (pure functions: Wilson interval, pass@k, maj@k,
agreement, think–answer consistency, modality gap, blind and perturbed pairs, breakdowns),
`bestof` (best-of-K by a gold-free reranker: mean logprob or an OpenAI-compatible judge),
`shuffle` (option-shuffled copies of choice problems), `perturb` (one-knob twins of gym
problems), `harness` (resumable K-sample evaluation through any rollout backend),
`benchmarks` (MathVista / MathVerse / generic files on disk -> Samples), `report`
(the self-contained HTML report), `commands` (`foveal eval`, `foveal report`).
"""

from foveal.eval.benchmarks import load_benchmark, load_data
from foveal.eval.harness import EvalResult, evaluate
from foveal.eval.metrics import pass_at_k, summarize, wilson_interval
from foveal.eval.report import build_report

__all__ = ["EvalResult", "build_report", "evaluate", "load_benchmark", "load_data", "pass_at_k", "summarize",
           "wilson_interval"]
