"""The methods by name: cptbench's own (one line each below) and other packages' through the
``cptbench.methods`` entry-point group (``[project.entry-points."cptbench.methods"] NAME =
"package.module:Class"``). Modules are imported only when their method is asked for."""

from __future__ import annotations

import importlib
from functools import lru_cache

from pydantic import ValidationError

from cptbench.core.errors import ConfigError
from cptbench.core.records import MethodRef
from cptbench.methods.base import Method

ENTRY_POINT_GROUP = "cptbench.methods"
BUILTIN = {
    "naive": "cptbench.methods.naive:Naive",
    "joint": "cptbench.methods.joint:Joint",
    "dapt": "cptbench.methods.dapt:Dapt",
    "replay": "cptbench.methods.replay:Replay",
    "l2": "cptbench.methods.l2:L2",
    "ewc": "cptbench.methods.ewc:Ewc",
    "distill": "cptbench.methods.distill:Distill",
    "merge": "cptbench.methods.merge:Merge",
}


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, object]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN}


def method_names() -> tuple[str, ...]:
    return (*BUILTIN, *sorted(_entry_points()))


def method_class(name: str, flag: str = "--method") -> type[Method]:
    """The registered class of ``name``; an unknown name is one ConfigError line."""
    if name in BUILTIN:
        module, _, attr = BUILTIN[name].partition(":")
        cls = getattr(importlib.import_module(module), attr)
    elif name in _entry_points():
        try:
            cls = _entry_points()[name].load()
        except Exception as exc:  # a broken plug-in package: say which, in one line
            raise ConfigError(f"{flag} {name}: its package fails to load ({type(exc).__name__}: {exc})") from None
    else:
        raise ConfigError(f"{flag} {name}: not a registered method ({', '.join(method_names())}; "
                          "`cptbench methods` lists them)")
    if not (isinstance(cls, type) and issubclass(cls, Method)) or getattr(cls, "name", None) != name:
        raise ConfigError(f"{flag} {name}: its entry point is not a cptbench Method subclass named {name!r}")
    return cls


def build_method(name: str, params: dict[str, object], flag: str = "--method") -> Method:
    """The method ``name`` with ``params`` validated by its own schema (types, ranges, defaults)."""
    cls = method_class(name, flag)
    try:
        return cls(cls.Params.model_validate(params))
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"]) or "params"
        raise ConfigError(f"{flag} {name}: {key}: {error['msg']}") from None


def method_of(ref: MethodRef) -> Method:
    """The method a record or a run names, its parameters validated."""
    return build_method(ref.name, dict(ref.params))


def describe_parameters(cls: type[Method]) -> list[tuple[str, str, str, str]]:
    """(name, type, default, range) of each parameter, for ``cptbench methods``."""
    rows = []
    for key, field in cls.Params.model_fields.items():
        bounds = [f"{op} {getattr(m, attr):g}" for m in field.metadata for attr, op in _OPS.items() if hasattr(m, attr)]
        kind = getattr(field.annotation, "__name__", str(field.annotation))
        default = str(field.default).lower() if isinstance(field.default, bool) else f"{field.default}"
        rows.append((field.alias or key, kind, default, ", ".join(bounds)))
    return rows


_OPS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
