"""Grid and FLOP expressions, parsed and walked here, never ``eval``'d.

``--grid 'cdiv(M, BLOCK_M) * cdiv(N, BLOCK_N)'``, ``--flops '2*M*N*K'`` (or ``2*a.shape[0]*N*K``)
and the grids kept in a workspace's ``tried.json`` are arithmetic over a kernel's arguments and
meta-parameters. A workspace may come from someone else and its grids are evaluated on every
open, and ``eval`` with no builtins is no sandbox (``cdiv.__globals__`` reaches them), so an
expression may hold only: int and float literals, ``+ - * / // % **`` (no number past
2**1024), unary minus and plus, parentheses, tuples and lists (a grid), names of the arguments
and meta-parameters, ``NAME.shape`` and ``NAME.shape[i]`` (a tensor argument's shape), and
calls to ``cdiv``, ``min`` and ``max``. Anything else is refused when it is parsed, before
anything is evaluated.
"""

from __future__ import annotations

import ast
import math
import numbers
import operator
from dataclasses import dataclass, field
from typing import Any, Mapping

from workbench.model.diagnostics import WorkbenchError

MAX_CHARS = 1000
MAX_BITS = 1024
ALLOWED = "arithmetic over numbers, the kernel's arguments and meta-parameters, NAME.shape[i], cdiv, min and max"

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_CALLS = {"cdiv": lambda a, b: -(-a // b), "min": min, "max": max}
_NAMED = {ast.Lambda: "a lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
          ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension", ast.IfExp: "a conditional expression",
          ast.Compare: "a comparison", ast.BoolOp: "and/or", ast.Dict: "a dict", ast.Set: "a set",
          ast.JoinedStr: "a string", ast.NamedExpr: "an assignment (:=)", ast.Await: "await",
          ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "a slice", ast.Starred: "a starred argument"}


class _Refused(Exception):
    """What is wrong with an expression, in a few words."""


@dataclass(frozen=True)
class Expr:
    """An expression that passed :func:`parse`: only what :func:`evaluate` walks is in it."""

    text: str
    where: str   # the flag or the file it came from, for the one line that refuses it
    tree: ast.expr = field(repr=False, compare=False)


def parse(text: Any, where: str) -> Expr:
    """``text`` checked node by node; refused (one line naming ``where``) if it holds anything
    but what the module's docstring lists."""
    if not isinstance(text, str):
        raise WorkbenchError.at(where, f"expected an expression as text, got {text!r}")
    try:
        if len(text) > MAX_CHARS:
            raise _Refused(f"longer than {MAX_CHARS} characters")
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except (SyntaxError, ValueError, MemoryError) as e:
            raise _Refused(f"not an expression ({getattr(e, 'msg', None) or e})") from None
        _check(tree)
    except RecursionError:
        raise _refusal(where, text, "nested too deeply") from None
    except _Refused as e:
        raise _refusal(where, text, str(e)) from None
    return Expr(text, where, tree)


def evaluate(expr: Expr, names: Mapping[str, Any]) -> int | float | tuple:
    """The value of ``expr`` with ``names`` (arguments by value, tensors for their shape): a
    number, or a tuple of numbers."""
    try:
        return _value(expr.tree, names)
    except RecursionError:
        raise _refusal(expr.where, expr.text, "nested too deeply") from None
    except _Refused as e:
        raise _refusal(expr.where, expr.text, str(e)) from None


def _refusal(where: str, text: str, why: str) -> WorkbenchError:
    return WorkbenchError.at(where, f"cannot evaluate {text!r}: {why}")


def _not_allowed(what: str) -> _Refused:
    return _Refused(f"{what} is not allowed (only {ALLOWED})")


def _check(node: ast.AST) -> None:
    """Refuse the first thing, left to right, that is not allowed."""
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise _not_allowed("a string" if isinstance(node.value, (str, bytes)) else repr(node.value))
    elif isinstance(node, ast.Name):
        pass
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left)
        _check(node.right)
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _check(node.operand)
    elif isinstance(node, (ast.Tuple, ast.List)):
        for elt in node.elts:
            _check(elt)
    elif isinstance(node, ast.Attribute):
        _check(node.value)
        if node.attr != "shape" or not isinstance(node.value, ast.Name):
            raise _not_allowed(f"attribute access (.{node.attr})")
    elif isinstance(node, ast.Subscript):
        _check(node.value)
        if not (_is_shape(node.value) and _is_index(node.slice)):
            raise _not_allowed("indexing other than NAME.shape[i]")
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            _check(node.func)
            raise _not_allowed(f"a call to {ast.unparse(node.func)}")
        if node.func.id not in _CALLS:
            raise _not_allowed(f"a call to {node.func.id}")
        if node.keywords:
            raise _not_allowed("a keyword argument")
        for arg in node.args:
            _check(arg)
    else:
        raise _not_allowed(_NAMED.get(type(node), type(node).__name__))


def _is_shape(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "shape" and isinstance(node.value, ast.Name)


def _is_index(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def _value(node: ast.AST, names: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise _Refused(f"unknown name {node.id!r} (the kernel's arguments and meta-parameters are "
                           f"{', '.join(sorted(names)) or 'none'})")
        return names[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _number(node.left, names), _number(node.right, names)
        if isinstance(node.op, ast.Pow) and isinstance(left, int) and isinstance(right, int) \
                and right > 0 and max(abs(left).bit_length() - 1, 0) * right > MAX_BITS:
            raise _Refused(f"{ast.unparse(node)} is past 2**{MAX_BITS}")
        return _checked(node, lambda: _BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp):
        operand = _number(node.operand, names)
        return _UNARY[type(node.op)](operand)
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_number(elt, names) for elt in node.elts)
    if isinstance(node, ast.Attribute):   # NAME.shape
        value = _value(node.value, names)
        try:
            return tuple(int(d) for d in value.shape)
        except (AttributeError, TypeError, ValueError):
            raise _Refused(f"{node.value.id} has no shape") from None
    if isinstance(node, ast.Subscript):   # NAME.shape[i]
        shape = _value(node.value, names)
        index = _value(node.slice, names)
        if not -len(shape) <= index < len(shape):
            raise _Refused(f"{ast.unparse(node.value)} has {len(shape)} dimensions")
        return shape[index]
    if isinstance(node, ast.Call):
        args = [_number(arg, names) for arg in node.args]
        cdiv = node.func.id == "cdiv"
        if len(args) != 2 if cdiv else len(args) < 2:
            raise _Refused(f"{node.func.id} takes {'two' if cdiv else 'two or more'} numbers")
        return _checked(node, lambda: _CALLS[node.func.id](*args))
    raise _not_allowed(type(node).__name__)   # (parse let nothing else through)


def _number(node: ast.AST, names: Mapping[str, Any]) -> int | float:
    value = _value(node, names)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, numbers.Integral):   # numpy's
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, tuple):
        raise _not_allowed("arithmetic on a tuple")
    if isinstance(node, ast.Name) and hasattr(value, "shape"):
        raise _Refused(f"{node.id} is a tensor: use {node.id}.shape[i]")
    raise _Refused(f"{ast.unparse(node)} is {type(value).__name__}, not a number")


def _checked(node: ast.AST, compute) -> int | float:
    """``compute()``, refused where Python would fail or go past the bounds."""
    try:
        value = compute()
    except ZeroDivisionError:
        raise _Refused(f"division by zero in {ast.unparse(node)}") from None
    except OverflowError:
        raise _Refused(f"{ast.unparse(node)} is too large") from None
    if isinstance(value, complex):
        raise _Refused(f"{ast.unparse(node)} is not a real number")
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise _Refused(f"{ast.unparse(node)} is past 2**{MAX_BITS}")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Refused(f"{ast.unparse(node)} is too large")
    return value
