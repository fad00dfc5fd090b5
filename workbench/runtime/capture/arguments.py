"""A launch's arguments: bound to the kernel's parameters by name, and described as data (kind,
dtype, shape, value) for the capture's record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ArgInfo:
    name: str
    kind: str  # tensor | tensordesc | int | float | bool | none | constexpr | other
    dtype: str | None = None
    shape: list[int] | None = None
    strides: list[int] | None = None
    device: str | None = None
    value: Any = None
    block_shape: list[int] | None = None

    def describe(self) -> str:
        if self.kind == "tensor":
            return f"{self.dtype}[{','.join(map(str, self.shape or []))}]"
        if self.kind == "tensordesc":
            return f"desc<{self.dtype}{self.block_shape}>[{','.join(map(str, self.shape or []))}]"
        return repr(self.value)


def bind_args(fn, args, kwargs) -> dict[str, Any]:
    names = fn.arg_names
    bound = dict(zip(names, args))
    for k, v in kwargs.items():
        if k in names:
            bound[k] = v
    for p in fn.params:
        if p.name not in bound and p.has_default:
            bound[p.name] = p.default
    return bound


def describe_args(fn, bound: dict[str, Any]) -> list[ArgInfo]:
    out = []
    constexpr_names = {p.name for p in fn.params if p.is_constexpr}
    for name in fn.arg_names:
        value = bound.get(name)
        out.append(describe_value(name, value, name in constexpr_names))
    return out


def describe_value(name: str, value: Any, constexpr: bool = False) -> ArgInfo:
    if constexpr:
        return ArgInfo(name, "constexpr", value=json_value(value))
    if value is None:
        return ArgInfo(name, "none")
    if hasattr(value, "data_ptr") and hasattr(value, "shape") and hasattr(value, "dtype"):
        return ArgInfo(name, "tensor", dtype=str(value.dtype).replace("torch.", ""), shape=list(value.shape),
                       strides=list(value.stride()), device=str(value.device))
    if hasattr(value, "base") and hasattr(value, "block_shape"):
        base = value.base
        return ArgInfo(name, "tensordesc", dtype=str(getattr(base, "dtype", "")).replace("torch.", ""),
                       shape=list(value.shape), strides=list(value.strides), device=str(getattr(base, "device", "")),
                       block_shape=list(value.block_shape))
    if isinstance(value, bool):
        return ArgInfo(name, "bool", value=value)
    if isinstance(value, int):
        return ArgInfo(name, "int", value=value)
    if isinstance(value, float):
        return ArgInfo(name, "float", value=value)
    return ArgInfo(name, "other", value=repr(value)[:80])


def path_name(names: list[str], key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, tuple) and key:
        head = names[key[0]] if key[0] < len(names) else str(key[0])
        return head + "".join(f"[{i}]" for i in key[1:])
    return str(key)


def json_value(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    inner = getattr(value, "value", None)  # tl.constexpr
    if inner is not None and type(value).__name__ == "constexpr":
        return json_value(inner)
    return str(value)
