"""One pydantic config for a whole training run: YAML in, validated objects out.

    cfg = load_config("recipes/grpo.yaml", overrides=["rl.steps=50", "rl.group_size=8"])
    cfg = RunConfig(model={"path": "tiny"}, data={"gym": {"tasks": ["count"]}}, rl={"steps": 10})

A run has up to three stages, run in order: `sft` (supervised fine-tuning on the samples' R1
targets, skipped when `sft.steps` is 0), `rl` (the GRPO family, skipped when `rl.steps` is 0), then
`pref` (DPO / REDI on verified right-wrong pairs, skipped when `pref.steps` is 0).
`answer_format: answer` makes the whole run answer-only (`<answer>4</answer>`, no `<think>`): the
default system prompt, the SFT target and the rewards' `answer_format` option follow it.
Every model forbids unknown fields, so a typo in a recipe is an error naming the file and the field,
not a silently ignored setting. `--set a.b=c` overrides are parsed as YAML scalars (`rl.beta=0.04`,
`data.gym.tasks=[count,spatial]`, `model.lora=null`) and validated like the file.
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from foveal.errors import FovealError
from foveal.prompts import R1_SYSTEM_PROMPT, SYSTEM_PROMPTS

# Training draws gym seeds from here upwards. Held-out-ness comes from the content split
# (`foveal.split`: training only sees train-split problems), not from the seeds.
TRAIN_SEED_START = 1_000_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(Strict):
    """The policy: what `foveal.models.load_policy` loads, and how it is trained."""

    path: str = Field("tiny", description='a model directory, an embedded VLM name ("tiny", "tiny-llava", ...) or "smollm2-135m"')
    tiny_seed: int | None = Field(None, description='init seed of an embedded VLM ("tiny", ...); null = the run\'s seed')
    lora: dict[str, Any] | None = Field(None, description="peft LoraConfig fields (r, lora_alpha, target_modules, ...); null = full fine-tuning")
    dtype: str | None = Field(None, description="float32 / bfloat16; default float32 on CPU, bfloat16 on GPU")
    gradient_checkpointing: bool = False
    system_prompt: str | None = R1_SYSTEM_PROMPT


class GymConfig(Strict):
    """Live prompts from the gym: a task mix and levels, fresh seeds every step."""

    tasks: dict[str, float] = Field(..., description="task name -> sampling weight (a list means equal weights)")
    mixture: dict[str, float] | None = Field(
        None, description="task or domain (skill:TAG, kind:KIND, or a bare unambiguous name) -> weight; resolved "
                          "into `tasks` by `foveal.tasks.domains.resolve_mixture` (give it instead of tasks)")
    levels: list[int] = Field([1], min_length=1)
    form: Literal["image", "text", "mixed"] = "image"
    seed_start: int = Field(TRAIN_SEED_START, ge=0, description="first gym seed of the training stream")
    query: str | None = Field(None, description="ask only this query (default: drawn per seed)")
    phrasing: str | None = Field(None, description="word questions only this way (default: drawn per seed)")
    style: str | None = Field(None, description="draw only in this style (default: drawn per seed)")
    hold_out: list[str] = Field([], description="parts never trained on, e.g. [style=noisy, query=sum]")

    def variant(self):
        """The `foveal.tasks.variant.VariantSpec` these fields describe."""
        from foveal.tasks.variant import VariantSpec

        return VariantSpec.parse(self.query, self.phrasing, self.style, self.hold_out)

    @model_validator(mode="before")
    @classmethod
    def _mixture_gives_tasks(cls, data):
        """A mixture resolves to `tasks`; both may be given only if they agree (a recorded config has both)."""
        if not isinstance(data, dict) or data.get("mixture") is None:
            return data
        from foveal.tasks.domains import resolve_mixture

        resolved = resolve_mixture(data["mixture"])
        given = data.get("tasks")
        if given is not None:
            given = cls._list_is_uniform(given)
            total = sum(given.values()) if isinstance(given, dict) else 0
            if not (isinstance(given, dict) and total > 0 and set(given) == set(resolved)
                    and all(abs(given[t] / total - w) < 1e-9 for t, w in resolved.items())):
                raise ValueError("give data.gym.tasks or data.gym.mixture, not both (with --set, add "
                                 f"data.gym.tasks=null); the mixture resolves to {resolved}")
        return {**data, "tasks": resolved}

    @field_validator("tasks", mode="before")
    @classmethod
    def _list_is_uniform(cls, v):
        if isinstance(v, (list, tuple)):
            return {name: 1.0 for name in v}
        if isinstance(v, str):
            return {name.strip(): 1.0 for name in v.split(",") if name.strip()}
        return v

    @field_validator("tasks")
    @classmethod
    def _known_tasks(cls, v):
        import foveal.tasks as gym

        if not v:
            raise ValueError("at least one task is needed")
        unknown = [n for n in v if n not in gym.names()]
        if unknown:
            raise ValueError(f"unknown task(s) {unknown}; known: {gym.names()}")
        if any(w <= 0 for w in v.values()):
            raise ValueError("task weights must be > 0")
        return v

    @model_validator(mode="after")
    def _levels_exist(self):
        import foveal.tasks as gym

        for name in self.tasks:
            missing = [lv for lv in self.levels if lv not in gym.get(name).levels]
            if missing:
                raise ValueError(f"task {name!r} has no level(s) {missing} (levels: {sorted(gym.get(name).levels)})")
            if self.form not in gym.get(name).forms:
                raise ValueError(f"task {name!r} has no {self.form!r} form (forms: {list(gym.get(name).forms)})")
        try:
            spec = self.variant()
            for name in self.tasks:
                spec.check_task(gym.get(name), self.levels, "train")
        except FovealError as e:
            raise ValueError(str(e).replace("--", "")) from None
        return self


class FnSpec(Strict):
    """A registered function and its options: `{name: grpo, args: {scale: group}}`."""

    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class DataConfig(Strict):
    """Where prompts come from: a dataset directory written by `foveal gen`, or the gym live."""

    dataset: str | None = Field(None, description="a dataset directory (foveal gen --out DIR)")
    gym: GymConfig | None = None
    sampler: FnSpec | None = Field(
        None, description="which (task, level[, form]) each gym draw takes: {name: staged|band|sec|..., args: {...}} "
                          "from `foveal.train.samplers` (see `foveal algos`); null = uniform (the task mix's weights)")

    @field_validator("sampler", mode="before")
    @classmethod
    def _sampler_name(cls, v):
        return {"name": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _one_source(self):
        if (self.dataset is None) == (self.gym is None):
            raise ValueError("give exactly one of data.dataset (a directory) or data.gym (tasks and levels)")
        if self.dataset is not None and self.sampler is not None:
            raise ValueError("data.sampler draws from data.gym; a data.dataset is read in its own shuffled order")
        if self.dataset is not None and not Path(self.dataset).is_dir():
            raise ValueError(f"data.dataset: {self.dataset} is not a directory")
        return self


class OptimConfig(Strict):
    """AdamW with a warm-up then a cosine, linear or constant schedule, and gradient clipping."""

    lr: float = Field(1e-5, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: Literal["cosine", "linear", "constant"] = "constant"
    warmup_steps: int = Field(0, ge=0)
    max_grad_norm: float | None = Field(1.0, gt=0, description="null = no clipping")


class AlignConfig(Strict):
    """Math-PUMA's cross-form term in SFT (`foveal.train.align`): each sample showing a picture is
    paired with its text twin and the loss gains weight * T^2 * KL between the two forms' next-token
    distributions over the same target, the text side detached (the target)."""

    weight: float = Field(1.0, ge=0, allow_inf_nan=False, description="lambda: loss = NLL + lambda * KL, both summed over target tokens and divided by their count")
    direction: Literal["forward", "reverse", "symmetric"] = Field(
        "forward", description="forward: KL(text || image), mode-covering; reverse: KL(image || text); "
                               "symmetric: their mean, as Math-PUMA's released code (alpha_kl = 0.5)")
    temperature: float = Field(1.0, gt=0, allow_inf_nan=False, description="T: both distributions are softmax(z / T)")


class SFTConfig(Strict):
    """Supervised fine-tuning on targets (prompt tokens masked out of the loss)."""

    steps: int = Field(0, ge=0, description="optimizer steps; 0 skips the stage")
    batch_size: int = Field(8, ge=1, description="samples per optimizer step")
    micro_batch_size: int = Field(8, ge=1, description="samples per forward pass (gradient accumulation)")
    target: Literal["r1", "answer"] = Field(
        "r1", description="r1: <think>solution</think><answer>answer</answer>; answer: <answer>answer</answer> "
                          "(default: the run's answer_format, which it must match)")
    optim: OptimConfig = OptimConfig(lr=1e-3, schedule="cosine", warmup_steps=10)
    align: AlignConfig | None = Field(
        None, description="Math-PUMA cross-form KL against each pictured sample's text twin; null = plain SFT")


class RewardSpec(Strict):
    """One reward function from `foveal.rewards`' registry, its weight, its options and its role
    (default: the role it was registered with, e.g. accuracy's `correctness`; see `foveal algos`)."""

    name: str
    weight: float = 1.0
    args: dict[str, Any] = Field(default_factory=dict)
    role: str | None = Field(None, description="correctness | format | ...; null = the reward's registered role")


class SamplingConfig(Strict):
    """Rollout generation settings."""

    backend: str = "hf"
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    max_new_tokens: int = Field(64, ge=1)


class FovealDeprecationWarning(DeprecationWarning):
    """An old recipe spelling that still works; the message gives the new one."""


warnings.filterwarnings("default", category=FovealDeprecationWarning)  # shown (once per place), not hidden


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"recipe field {old} is deprecated; write {new}", FovealDeprecationWarning, stacklevel=2)


def _fn_spec(v: Any, field: str, args_key: str | None = None) -> Any:
    """A plain name (`advantage: grpo`), or for beta a number, mapped onto {name, args}."""
    if isinstance(v, str):
        _deprecated(f"rl.{field}: {v}", f"rl.{field}: {{name: {v}}}")
        return {"name": v}
    if args_key is not None and isinstance(v, (int, float)) and not isinstance(v, bool):
        _deprecated(f"rl.{field}: {v}", f"rl.{field}: {{name: constant, args: {{{args_key}: {v}}}}}")
        return {"name": "constant", "args": {args_key: v}}
    return v


class RLConfig(Strict):
    """The GRPO family. `advantage`, `loss`, `aggregation`, `kl`, `beta` and `ref_update` each name a
    function registered in `foveal.train.algos` (or `foveal.train.reference`) with its options,
    `{name: ..., args: {...}}`; `algos.check_rl_config` checks names and options (and G >= 2 for a
    group advantage) where training starts, before anything is written, since this module sits
    below `train/`. The old flat spellings (`advantage: grpo`, `scale_rewards`, `clip_low`,
    `clip_high`, `beta: 0.04`) still load, with a deprecation warning that gives the new one."""

    steps: int = Field(0, ge=0, description="optimizer steps (each on a fresh batch of rollouts); 0 skips the stage")
    prompts_per_step: int = Field(8, ge=1)
    group_size: int = Field(4, ge=1, description="G: completions sampled per prompt")
    micro_batch_size: int = Field(8, ge=1, description="completions per forward/backward pass")
    mu: int = Field(1, ge=1, description="optimisation passes over each batch of rollouts (GRPO's mu)")
    advantage: FnSpec = Field(FnSpec(name="grpo"), description="advantage estimator, e.g. {name: grpo, args: {scale: group}}")
    loss: FnSpec = Field(FnSpec(name="ppo_clip"), description="policy loss, e.g. {name: ppo_clip, args: {clip_low: 0.2, clip_high: 0.28}}")
    aggregation: FnSpec = Field(FnSpec(name="seq-mean-token-mean"), description="per-token loss -> scalar")
    kl: FnSpec = Field(FnSpec(name="k3"), description="KL estimator")
    beta: FnSpec = Field(FnSpec(name="constant", args={"value": 0.0}),
                         description="KL coefficient schedule, per sample; constant 0 loads no reference model")
    ref_update: FnSpec | None = Field(None, description="move the reference model during RL, e.g. {name: ema, args: {alpha: 0.01}}; null = frozen")
    kl_mode: Literal["loss", "reward"] = "loss"
    kl_ratio_correction: bool = Field(
        True, description="multiply the KL loss term by the importance ratio (unbiased KL gradient; TRL's default)"
    )
    entropy_coef: float = Field(0.0, ge=0, description="subtracts coef * mean token entropy from the loss")
    top_entropy_quantile: float = Field(
        1.0, ge=0, le=1, description="train only the tokens in this top fraction of entropy per micro-batch "
        "(TRL's option; 0.2 in 'Beyond the 80/20 Rule'); 1 = every token")
    dynamic_sampling: bool = Field(False, description="DAPO: drop groups whose correctness scores are all equal, refill with new prompts")
    max_refill_rounds: int = Field(4, ge=0, description="extra generation rounds dynamic sampling may spend per step")
    mask_truncated: bool = Field(False, description="exclude completions that hit max_new_tokens from the loss")
    old_logprobs: Literal["auto", "recompute", "backend"] = Field(
        "auto", description="auto: logp.detach() when mu = 1, recomputed before the update when mu > 1"
    )
    share_prompt: Literal["auto"] | bool = Field(
        "auto", description="run each prompt once per micro-batch for its completions' log-probs, through its KV cache "
        "(the same numbers up to float rounding; micro_batch_size a multiple of group_size shares most); "
        "auto: where the model's cache allows it, true: required, false: every row whole")
    optim: OptimConfig = OptimConfig(lr=1e-5)

    @model_validator(mode="before")
    @classmethod
    def _flat_fields(cls, v):
        """The old flat options (`scale_rewards`, `clip_low`, `clip_high`) moved into their function's args."""
        if not isinstance(v, dict):
            return v
        v = dict(v)
        for key in ("advantage", "loss", "aggregation", "kl"):
            if key in v:
                v[key] = _fn_spec(v[key], key)
        if "beta" in v:
            v["beta"] = _fn_spec(v["beta"], "beta", "value")
        for key in ("advantage", "loss", "aggregation", "kl", "beta"):  # `--set rl.loss.args.x=1`: the default's name
            if isinstance(v.get(key), dict) and "name" not in v[key]:
                v[key] = {"name": cls.model_fields[key].default.name, **v[key]}
        if "ref_update" in v and isinstance(v["ref_update"], str):
            v["ref_update"] = _fn_spec(v["ref_update"], "ref_update")
        if "scale_rewards" in v:
            scale = v.pop("scale_rewards")
            adv = _spec_dict(v.get("advantage"), "grpo")
            if adv["name"] == "grpo":  # the old field applied to the grpo advantage only
                adv["args"] = {**adv.get("args", {}), "scale": scale}
                v["advantage"] = adv
            _deprecated(f"rl.scale_rewards: {scale}", f"rl.advantage: {{name: grpo, args: {{scale: {scale}}}}}")
        moved = {k: v.pop(k) for k in ("clip_low", "clip_high") if k in v}
        if moved:
            loss = _spec_dict(v.get("loss"), "ppo_clip")
            loss["args"] = {**moved, **loss.get("args", {})}
            v["loss"] = loss
            args = ", ".join(f"{k}: {x}" for k, x in loss["args"].items())
            _deprecated(", ".join(f"rl.{k}" for k in moved), f"rl.loss: {{name: {loss['name']}, args: {{{args}}}}}")
        return v

class PrefGenerateConfig(Strict):
    """Pairs made on the fly from the policy: k samples per drawn prompt (the run's `data` and
    `sampling`), verified by the correctness reward, paired by `foveal.train.preference.build_pairs`."""

    k: int = Field(4, ge=2, description="completions sampled per prompt")
    prompts: int = Field(8, ge=1, description="prompts drawn per generation round")
    pairs_per_prompt: int = Field(1, ge=1, description="at most this many disjoint (right, wrong) pairs per prompt")
    max_rounds: int = Field(4, ge=1, description="generation rounds a step may spend to fill its batch of pairs")
    threshold: float = Field(1.0, description="a completion is right when its correctness score is >= this")
    gold_chosen: bool = Field(False, description="a prompt with wrong samples but no right one gets the sample's own "
                                                 "target (the SFT trace, right by construction) as chosen")


class PrefConfig(Strict):
    """Preference training on verified (right, wrong) pairs of the same prompt: DPO or REDI
    (`foveal algos`' preference_losses), from a pairs file or generated from the policy."""

    steps: int = Field(0, ge=0, description="optimizer steps; 0 skips the stage")
    batch_size: int = Field(8, ge=1, description="pairs per optimizer step")
    micro_batch_size: int = Field(8, ge=1, description="pairs per forward pass (gradient accumulation)")
    loss: FnSpec = Field(FnSpec(name="dpo"), description="preference loss, e.g. {name: dpo, args: {beta: 0.1}} or {name: redi, args: {alpha: 0.8}}")
    pairs: str | None = Field(None, description="a pairs JSONL file (foveal.train.preference: one {prompt, chosen, rejected} per line)")
    generate: PrefGenerateConfig | None = Field(None, description="make pairs from the policy's own samples instead of a file")
    optim: OptimConfig = OptimConfig(lr=1e-5)

    @model_validator(mode="before")
    @classmethod
    def _loss_name(cls, v):
        """`--set pref.loss.args.beta=0.2` keeps the default loss name; `loss: redi` means {name: redi}."""
        if isinstance(v, dict) and "loss" in v:
            loss = v["loss"]
            if isinstance(loss, str):
                v = {**v, "loss": {"name": loss}}
            elif isinstance(loss, dict) and "name" not in loss:
                v = {**v, "loss": {"name": cls.model_fields["loss"].default.name, **loss}}
        return v

    @model_validator(mode="after")
    def _one_pair_source(self):
        if self.steps and (self.pairs is None) == (self.generate is None):
            raise ValueError("give exactly one of pref.pairs (a pairs JSONL file) or pref.generate (k samples per prompt)")
        if self.steps and self.pairs is not None and not Path(self.pairs).is_file():
            raise ValueError(f"pref.pairs: {self.pairs} is not a file")
        return self


class CheckpointConfig(Strict):
    every: int = Field(0, ge=0, description="save a resumable checkpoint every N steps of a stage; 0 = only at the end")
    keep: int = Field(2, ge=1, description="checkpoints kept (oldest deleted)")


class LogConfig(Strict):
    """train.jsonl is always written; TensorBoard events on request; a progress bar on the terminal."""

    tensorboard: bool = False
    progress: bool = True


class RunConfig(Strict):
    """A whole run: model, data, the SFT, RL and preference stages, rewards, sampling, checkpoints, logging, seed."""

    model: ModelConfig = ModelConfig()
    data: DataConfig
    sft: SFTConfig = SFTConfig()
    rl: RLConfig = RLConfig()
    pref: PrefConfig = PrefConfig()
    rewards: list[RewardSpec] = Field(
        default_factory=lambda: [RewardSpec(name="accuracy"), RewardSpec(name="format", weight=0.5)]
    )
    sampling: SamplingConfig = SamplingConfig()
    checkpoint: CheckpointConfig = CheckpointConfig()
    log: LogConfig = LogConfig()
    seed: int = Field(0, ge=0, description="one seed for the model init (tiny), the training problem stream and sampling")
    answer_format: Literal["r1", "answer"] = Field(
        "r1", description="r1: <think>…</think><answer>…</answer>; answer: <answer>…</answer> alone (no-thinking); "
                          "sets the default system prompt, sft.target and the rewards' answer_format")

    @property
    def init_seed(self) -> int:
        """The tiny model's init seed: `model.tiny_seed` if given, else the run's `seed`."""
        return self.model.tiny_seed if self.model.tiny_seed is not None else self.seed

    @model_validator(mode="after")
    def _something_to_do(self):
        if self.sft.steps == 0 and self.rl.steps == 0 and self.pref.steps == 0:
            raise ValueError("nothing to train: set sft.steps, rl.steps and/or pref.steps > 0")
        if self.rl.steps and not self.rewards:
            raise ValueError("rewards: the rl stage needs at least one reward function")
        if self.pref.steps and self.pref.generate is not None and not self.rewards:
            raise ValueError("rewards: pref.generate verifies samples with the correctness reward; give one (e.g. accuracy)")
        gym = self.data.gym
        if self.sft.align is not None and not self.sft.steps:
            raise ValueError("sft.align is a term of the SFT loss, but sft.steps is 0: set sft.steps > 0 or drop sft.align")
        if self.sft.align is not None and gym is not None and gym.form == "text" and self.data.sampler is None:
            raise ValueError("sft.align pairs each picture with its text twin, but data.gym.form text draws no "
                             "pictures: use form image or mixed (or a data.sampler that draws them during sft)")
        if self.rl.old_logprobs == "backend" and self.sampling.temperature != 1.0:
            raise ValueError("rl.old_logprobs 'backend' needs sampling.temperature 1 (backends report temperature-1 logprobs)")
        return self

    @model_validator(mode="after")
    def _follow_answer_format(self):
        """Fill what `answer_format` decides and the recipe left unset: the system prompt, the SFT
        target, and `answer_format` of every reward that takes one (only for `answer`, so r1 recipes
        dump as before). An SFT target in another format is an error: it would score 0."""
        fmt = self.answer_format
        if "system_prompt" not in self.model.model_fields_set and self.model.system_prompt != SYSTEM_PROMPTS[fmt]:
            self.model.system_prompt = SYSTEM_PROMPTS[fmt]
        if "target" not in self.sft.model_fields_set:
            if self.sft.target != fmt:
                self.sft.target = fmt
        elif self.sft.steps and self.sft.target != fmt:
            raise ValueError(f"sft.target {self.sft.target!r} does not match answer_format {fmt!r}: the model would be "
                             f"trained in one format and prompted and scored in another; set answer_format: "
                             f"{self.sft.target} (or leave sft.target out)")
        if fmt != "r1":
            for spec in self.rewards:
                if "answer_format" not in spec.args and takes_answer_format(spec.name):
                    spec.args = {**spec.args, "answer_format": fmt}
        return self


def takes_answer_format(reward: str) -> bool:
    """Does the registered reward `reward` take an `answer_format` option? (False for an unknown name:
    loading the rewards reports it.)"""
    import inspect

    from foveal.rewards import get_reward

    try:
        return "answer_format" in inspect.signature(get_reward(reward)).parameters
    except (FovealError, TypeError, ValueError):
        return False


def _spec_dict(v: Any, default: str) -> dict:
    """A spec given as a dict, FnSpec or nothing, as a mutable dict."""
    if v is None:
        return {"name": default}
    if isinstance(v, FnSpec):
        return v.model_dump()
    return dict(v) if isinstance(v, dict) else {"name": v}


# -- loading -------------------------------------------------------------------------------


def format_errors(e: ValidationError, where: str) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(msg if msg.startswith(loc + ".") else f"{loc}: {msg}")
    return f"{where}: " + "; ".join(parts)


def set_path(tree: dict, dotted: str, value: Any) -> None:
    """tree["a"]["b"]["c"] = value for dotted "a.b.c", creating dicts on the way."""
    keys = dotted.split(".")
    node = tree
    for k in keys[:-1]:
        if isinstance(node.get(k), str):  # a plain function name is short for {name: ...}
            node[k] = {"name": node[k]}
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    node[keys[-1]] = value


def parse_override(item: str) -> tuple[str, Any]:
    """"a.b=c" -> ("a.b", yaml-parsed c)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise FovealError(f"--set {item!r}: expected key=value, e.g. rl.steps=20")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as e:
        raise FovealError(f"--set {item!r}: cannot parse the value: {e}") from None
    return key.strip(), value


def config_from_dict(tree: dict, where: str = "config", overrides: list[str] = ()) -> RunConfig:
    """Validate a dict (plus `key=value` overrides) into a RunConfig; FovealError names the fields."""
    tree = copy.deepcopy(dict(tree or {}))  # overrides must not edit the caller's (nested) dicts
    for item in overrides:
        key, value = parse_override(item)
        set_path(tree, key, value)
    try:
        return RunConfig.model_validate(tree)
    except ValidationError as e:
        suffix = f" (with --set {' '.join(overrides)})" if overrides else ""
        raise FovealError(format_errors(e, where + suffix)) from None


def read_yaml(p: Path) -> Any:
    """The YAML document in file `p`; FovealError naming the line and column where it is not valid YAML."""
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise FovealError(f"{p}: not valid YAML{where}: {getattr(e, 'problem', None) or e}") from None


def load_config(path: str | os.PathLike, overrides: list[str] = ()) -> RunConfig:
    """Read a YAML recipe and validate it; errors name the file and the field."""
    p = Path(path)
    if not p.is_file():
        raise FovealError(f"recipe {p} does not exist")
    tree = read_yaml(p)
    if tree is not None and not isinstance(tree, dict):
        raise FovealError(f"{p}: expected a mapping of sections (model, data, sft, rl, ...), got {type(tree).__name__}")
    return config_from_dict(tree or {}, str(p), overrides)


def dump_config(cfg: RunConfig) -> str:
    """The config as YAML (every field, defaults included): what a run records beside its outputs.
    A run without a preference stage leaves `pref` out (the default), one without a curriculum
    leaves `data.sampler` out (null: uniform), one without the alignment term `sft.align` (null), and
    `rl.share_prompt: auto` is left out, so its config.yaml, and an experiment's plan made from it,
    read as they did before the stage, the samplers, the term and prompt sharing existed (sharing
    changes RL results only by float rounding)."""
    tree = cfg.model_dump(mode="json")
    if cfg.pref == PrefConfig():
        del tree["pref"]
    if cfg.data.sampler is None:
        del tree["data"]["sampler"]
    if cfg.rl.share_prompt == "auto":
        del tree["rl"]["share_prompt"]
    if cfg.sft.align is None:
        del tree["sft"]["align"]
    return yaml.safe_dump(tree, sort_keys=False)
