"""One grammar for a method everywhere: ``NAME[:key=value,...]`` (``ewc:lambda=1000,gamma=0.9``),
and ``NAME:VALUE`` for a method's primary parameter (``replay:0.25``). Values are read as JSON
scalars where they parse (numbers, true/false) and as text otherwise; the method's own schema
then checks them."""

from __future__ import annotations

import json
import re

from cptbench.core.errors import ConfigError
from cptbench.core.records import MethodRef
from cptbench.methods.base import Method, param_values
from cptbench.methods.registry import build_method, method_class

SPEC_HELP = "NAME[:key=value,...], e.g. naive, replay:fraction=0.25, ewc:lambda=1000 (`cptbench methods` lists them)"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def parse_method(spec: str, flag: str = "--method") -> tuple[str, dict[str, object]]:
    """``spec`` as (name, raw parameters); the schema check is ``build_method``'s."""
    name, sep, rest = spec.strip().partition(":")
    if not _NAME.fullmatch(name):
        raise ConfigError(f"{flag} {spec}: expected {SPEC_HELP}")
    if not sep:
        return name, {}
    params: dict[str, object] = {}
    for item in rest.split(","):
        key, eq, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not eq:  # NAME:VALUE sets the primary parameter
            primary = method_class(name, flag).primary
            if primary is None or len(rest.split(",")) != 1 or not key:
                raise ConfigError(f"{flag} {spec}: expected key=value pairs after '{name}:', e.g. {name}:key=value")
            key, value = primary, item.strip()
        if not key or not value or key in params:
            raise ConfigError(f"{flag} {spec}: {item!r}: expected key=value, each key once")
        params[key] = _scalar(value)
    return name, params


def split_methods(text: str, flag: str = "--methods") -> list[str]:
    """``naive,ewc:lambda=1000,gamma=0.9,replay:0.25`` -> three specs: a piece with '=' and no ':'
    continues the previous method's parameters."""
    specs: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        if "=" in piece and ":" not in piece and specs:
            specs[-1] += "," + piece
        else:
            specs.append(piece)
    if not specs:
        raise ConfigError(f"{flag} {text!r}: expected methods separated by commas, e.g. naive,replay:0.25")
    return specs


def method_from_spec(spec: str, flag: str = "--method") -> Method:
    name, params = parse_method(spec, flag)
    return build_method(name, params, flag)


def canonical_spec(method: Method) -> str:
    """The spec that names ``method`` with every parameter, e.g. ``ewc:lambda=1000,gamma=1,fisher_batches=16``
    (a later change of a default cannot change what a stored spec means)."""
    values = param_values(method.params)
    if not values:
        return method.name
    return method.name + ":" + ",".join(f"{k}={_text(v)}" for k, v in values.items())


def method_ref(method: Method, order_spec: str, order: tuple[str, ...]) -> MethodRef:
    return MethodRef(name=method.name, params=param_values(method.params), order_spec=order_spec, order=list(order))


def _scalar(value: str) -> object:
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if isinstance(parsed, bool | int | float) else value


def _text(value: object) -> str:
    return "true" if value is True else "false" if value is False else f"{value:g}" if isinstance(value, float) else str(value)
