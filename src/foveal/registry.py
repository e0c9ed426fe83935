"""Named registries: the one place a recipe's strings turn into functions, tasks or backends.

    ADVANTAGES = Registry("advantage", reserved=("ctx",))

    @ADVANTAGES.register("grpo", needs_groups=True)
    def grpo(rewards, group_ids, scale="group", eps=1e-4): ...

    ADVANTAGES["grpo"]                      # the function
    ADVANTAGES.entry("grpo").options        # {"scale": "group", "eps": 0.0001}: name -> default
    ADVANTAGES.entry("grpo").flags          # {"needs_groups": True}
    ADVANTAGES.build("grpo", {"scale": "batch"})   # the function with its options bound, checked

An entry is a callable (a function, or a class whose instances are callables: a stateful entry,
with `state_dict()`/`load_state_dict()`), its options (the keyword parameters with defaults that
the caller does not supply itself: `reserved` names such as `ctx` are the loop's), its one-line
doc (the docstring's first line) and free-form flags (`needs_groups`, a reward's `role`, ...).
Names are unique: registering a taken name is a ValueError. An unknown name is a FovealError that
suggests close matches and lists the known names. A registry reads like the dict it replaces
(`name in R`, `R[name]`, `del R[name]`, iteration over names), so older code keeps working.

Lazy entries (`register_lazy(name, "module:attr", doc)`) import their target on first use; the
rollout backends are registered that way so an optional dependency costs nothing until asked for.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from foveal.errors import FovealError

NO_DEFAULT = "(required)"


@dataclass
class Entry:
    """One registered name: its target, doc and flags (options are read from the signature)."""

    name: str
    target: Any  # the callable, or "module:attr" for a lazy entry until it is loaded
    doc: str = ""
    flags: dict[str, Any] = field(default_factory=dict)
    reserved: tuple[str, ...] = ()

    def load(self) -> Any:
        """The callable (importing a lazy target the first time)."""
        if isinstance(self.target, str):
            module, _, attr = self.target.partition(":")
            self.target = getattr(importlib.import_module(module), attr)
            self.doc = self.doc or first_line(self.target)
        return self.target

    @property
    def options(self) -> dict[str, Any]:
        """{option name: default} from the signature: parameters with defaults or keyword-only ones,
        minus the registry's reserved names; a required keyword option shows `NO_DEFAULT`."""
        return options_of(self.load(), self.reserved)


def first_line(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def options_of(fn: Any, reserved: tuple[str, ...] = ()) -> dict[str, Any]:
    """{name: default} of `fn`'s options (a class: its `__init__`'s)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return {}
    out = {}
    for p in sig.parameters.values():
        if p.name in reserved or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is not p.empty:
            out[p.name] = p.default
        elif p.kind is p.KEYWORD_ONLY:
            out[p.name] = NO_DEFAULT
    return out


class Registry:
    """name -> Entry, for one kind of thing (`kind` names it in errors: "advantage", "reward", ...)."""

    def __init__(self, kind: str, reserved: tuple[str, ...] = ("ctx",), loader: Callable[[], None] | None = None) -> None:
        self.kind = kind
        self.reserved = tuple(reserved)
        self._entries: dict[str, Entry] = {}
        self._loader = loader  # fills the registry on first use (e.g. the gym's module discovery)

    # -- registering ----------------------------------------------------------------------------
    def add(self, name: str, target: Any, doc: str | None = None, **flags: Any) -> Any:
        """Register `target` under `name` (ValueError if the name is taken by another target)."""
        old = self._entries.get(name)
        if old is not None and old.target is not target:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        if old is not None:  # the same target again (a module imported twice): keep the entry
            return target
        text = doc if doc is not None else ("" if isinstance(target, str) else first_line(target))
        self._entries[name] = Entry(name, target, text, dict(flags), self.reserved)
        return target

    def register(self, name: str, doc: str | None = None, **flags: Any) -> Callable[[Any], Any]:
        """Decorator form of `add`: `@R.register("name", flag=value)`."""
        return lambda target: self.add(name, target, doc, **flags)

    def register_lazy(self, name: str, dotted: str, doc: str, **flags: Any) -> None:
        """Register "module:attr", imported when the entry is first used."""
        self.add(name, dotted, doc, **flags)

    # -- looking up -----------------------------------------------------------------------------
    def _ensure(self) -> None:
        if self._loader is not None:
            loader, self._loader = self._loader, None
            loader()

    def entry(self, name: str) -> Entry:
        """The entry called `name`; FovealError with close matches and the known names if none."""
        self._ensure()
        if name not in self._entries:
            raise FovealError(self.unknown(name))
        return self._entries[name]

    def unknown(self, name: Any) -> str:
        """The one-line message for an unknown name."""
        names = sorted(self._entries)
        close = difflib.get_close_matches(str(name), names, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        return f"unknown {self.kind} {name!r} ({hint}known: {', '.join(names)})"

    def get(self, name: str, *default: Any) -> Any:
        """The callable registered as `name`: FovealError if none, or `default` when one is given."""
        if default and name not in self:
            return default[0]
        return self.entry(name).load()

    def flag(self, name: str, key: str, default: Any = None) -> Any:
        return self.entry(name).flags.get(key, default)

    def check_options(self, name: str, args: dict[str, Any], where: str) -> None:
        """FovealError naming `where`, the function and its options when `args` holds an unknown option."""
        entry = self.entry(name)
        opts = entry.options
        target = entry.load()
        try:
            params = inspect.signature(target).parameters.values()
            takes_any = any(p.kind is p.VAR_KEYWORD for p in params)
        except (TypeError, ValueError):
            takes_any = True
        bad = [k for k in args if k not in opts and not takes_any]
        if bad:
            known = ", ".join(f"{k}={v!r}" for k, v in opts.items()) or "none"
            raise FovealError(f"{where}: {self.kind} {name!r} has no option(s) {bad} (its options: {known})")
        missing = [k for k, v in opts.items() if v == NO_DEFAULT and k not in args]
        if missing:
            raise FovealError(f"{where}: {self.kind} {name!r} needs option(s) {missing}")

    def build(self, name: str, args: dict[str, Any] | None = None, where: str | None = None) -> Any:
        """The entry with its options applied: a class is instantiated with them (a stateful entry),
        a function gets them bound by keyword (`functools.partial`). Options are checked first."""
        args = dict(args or {})
        self.check_options(name, args, where or self.kind)
        target = self.get(name)
        if inspect.isclass(target):
            return target(**args)
        return functools.partial(target, **args) if args else target

    def describe(self) -> list[dict[str, Any]]:
        """[{name, doc, options: {name: default}, flags}] for every entry, sorted by name (`foveal algos`)."""
        self._ensure()
        out = []
        for name in sorted(self._entries):
            e = self._entries[name]
            try:
                opts = {k: _jsonable(v) for k, v in e.options.items()}
                doc = e.doc or first_line(e.load())
            except ImportError as err:  # an optional dependency of a lazy entry
                opts, doc = {}, f"{e.doc} (unavailable: {err})"
            out.append({"name": name, "doc": doc, "options": opts, "flags": {k: _jsonable(v) for k, v in e.flags.items() if v is not None and not callable(v)}})
        return out

    # -- the dict interface older code uses -------------------------------------------------------
    def __contains__(self, name: object) -> bool:
        self._ensure()
        return name in self._entries

    def __getitem__(self, name: str) -> Any:
        self._ensure()
        try:
            return self._entries[name].load()
        except KeyError:
            raise KeyError(name) from None

    def __setitem__(self, name: str, target: Any) -> None:
        self.add(name, target)

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def pop(self, name: str, *default: Any) -> Any:
        e = self._entries.pop(name, None)
        if e is None:
            if default:
                return default[0]
            raise KeyError(name)
        return e.target

    def __iter__(self) -> Iterator[str]:
        self._ensure()
        return iter(list(self._entries))

    def __len__(self) -> int:
        self._ensure()
        return len(self._entries)

    def keys(self) -> list[str]:
        return list(self)

    def items(self) -> list[tuple[str, Any]]:
        return [(n, self[n]) for n in self]

    def values(self) -> list[Any]:
        return [self[n] for n in self]

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {sorted(self._entries)})"


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return repr(v)
