"""JsonLogic rules: validate once, evaluate many times.

Built on datalogic-py (Rust core; see ``bench/jsonlogic_choice.md`` for why). This module adds
what Castflow needs on top of it:

* validation up front: every unknown operator and every non-JSON value is reported in one
  :class:`RuleError`, in plain words, with its place in the rule;
* JsonLogic's reading of objects: only a dict with exactly one key is an operation; any other
  dict is a literal value, returned as is (datalogic-py would refuse it or treat it as a template);
* a bare string rule is a string literal (datalogic-py would parse it as JSON text);
* engine failures (datalogic-py exceptions, data it cannot convert) become :class:`RuleError`;
* speed: only the parts of the data a rule reads are handed to the engine, so a large contact
  is not converted to the engine's representation on every evaluation.

Semantics are datalogic-py's "JsonLogic core" with one setting changed: ``==`` and ``!=``
between values that cannot be compared (``"abc" == 1``) give ``false``/``true`` as in the
JavaScript reference instead of an error. Known differences from the JavaScript reference that
remain (none is covered by the official suite): an empty object ``{}`` is falsy; ``<``, ``>``,
``<=``, ``>=`` and arithmetic on a non-numeric string (``"abc" > 3``) raise :class:`RuleError`
where JavaScript would give ``false``/``NaN``; division by zero raises.

This module is pure: no I/O.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

import datalogic_py

__all__ = ["KNOWN_OPERATORS", "Rule", "RuleError", "compile_rule", "truthy"]


class RuleError(ValueError):
    """A JsonLogic rule is invalid, or failed while being evaluated.

    The message is plain words naming the bad part, e.g. ``unknown operator 'foo' at /and/0``.
    """


KNOWN_OPERATORS: Final[frozenset[str]] = frozenset(
    {
        # accessing data
        "var", "missing", "missing_some",
        # logic and boolean
        "if", "?:", "==", "===", "!=", "!==", "!", "!!", "or", "and",
        # numeric
        ">", ">=", "<", "<=", "max", "min", "+", "-", "*", "/", "%",
        # arrays
        "map", "reduce", "filter", "all", "none", "some", "merge", "in",
        # strings
        "cat", "substr",
    }
)  # fmt: skip
"""The standard JsonLogic operators (jsonlogic.com/operations.html), without ``log``."""

# Only the JsonLogic core: the engine's extension families (dates, strings, tensors, ...) are
# left out so that their names are free for Castflow's own operators later.
_ENGINE: Final = datalogic_py.Engine(
    templating=True,  # lets a literal object through (keys escaped, see _escape_literal)
    template_key_escape="$",
    families=[],
    config={"loose_equality_errors": False},
)

_Pruner: TypeAlias = Callable[[Any], Any]
_PruneTree: TypeAlias = dict[str, "_PruneTree | None"]  # None: keep the whole value


class Rule:
    """A validated JsonLogic rule, compiled for fast repeated evaluation.

    Thread-safe: one instance may be evaluated from several threads at once.
    """

    __slots__ = ("_compiled", "_prune", "source")

    source: Any
    """The original JSON rule, unchanged."""

    def __init__(self, source: Any, compiled: datalogic_py.Rule, prune: _Pruner | None) -> None:
        self.source = source
        self._compiled = compiled
        self._prune = prune

    def evaluate(self, data: Mapping[str, Any]) -> Any:
        """The raw JsonLogic result of the rule on ``data``; :class:`RuleError` if it fails."""
        try:
            if self._prune is not None:
                data = self._prune(data)
            return self._compiled.evaluate(data)
        except Exception as exc:  # the engine's errors, or data it cannot convert
            raise RuleError(_runtime_message(exc)) from exc

    def test(self, data: Mapping[str, Any]) -> bool:
        """Whether the rule's result on ``data`` is truthy (see :func:`truthy`)."""
        return truthy(self.evaluate(data))

    def __repr__(self) -> str:
        return f"Rule({json.dumps(self.source, default=repr)})"


def compile_rule(rule: Any) -> Rule:
    """Validate ``rule`` and prepare it for fast repeated evaluation.

    Raises :class:`RuleError` listing every unknown operator and every value that is not JSON.
    """
    problems: list[str] = []
    try:
        engine_rule = _check(rule, "", problems)
    except RecursionError:
        raise RuleError("the rule is nested too deeply") from None
    if problems:
        raise RuleError("; ".join(problems))
    if isinstance(engine_rule, str):
        engine_rule = json.dumps(engine_rule)  # the engine reads a str as JSON text
    try:
        compiled = _ENGINE.compile(engine_rule)
        facts = compiled.facts()
    except Exception as exc:
        raise RuleError(f"the rule cannot be compiled: {_engine_text(exc)}") from exc
    prune = None
    if facts["reads_complete"] and not facts["computed_reads"] and not facts["custom_operators"]:
        prune = _make_pruner(facts["reads"])
    return Rule(rule, compiled, prune)


def truthy(value: Any) -> bool:
    """JsonLogic truthiness, as the engine applies it in ``if``, ``and``, ``!``, ...

    False: ``false``, ``null``, ``0``, ``""``, ``[]``, ``{}`` (and NaN); everything else is true,
    including ``"0"`` and ``[0]``. (The JavaScript reference treats ``{}`` as true; the engine,
    and so this function, does not, so that ``rule.test(d)`` always equals the result of
    ``{"!!": [rule]}``.)
    """
    if value is True:
        return True
    if value is False or value is None:
        return False
    if isinstance(value, float):
        return value != 0.0 and not math.isnan(value)
    return bool(value)


# --------------------------------------------------------------------------- validation


def _check(node: Any, where: str, problems: list[str]) -> Any:
    """Collect problems under ``node``; return the node as the engine must see it."""
    if isinstance(node, dict):
        if len(node) != 1:
            return _escape_literal(node, where, problems)
        ((op, args),) = node.items()
        if not isinstance(op, str):
            problems.append(f"object key {op!r} {_at(where)} is not a string")
            return node
        if op not in KNOWN_OPERATORS:
            problems.append(f"unknown operator {op!r} {_at(where)}")
        new_args = _check(args, f"{where}/{_pointer_token(op)}", problems)
        return node if new_args is args else {op: new_args}
    if isinstance(node, list):
        changed = False
        out = []
        for i, item in enumerate(node):
            new = _check(item, f"{where}/{i}", problems)
            changed = changed or new is not item
            out.append(new)
        return out if changed else node
    _check_scalar(node, where, problems)
    return node


def _escape_literal(node: dict[Any, Any], where: str, problems: list[str]) -> dict[str, Any]:
    """A literal object (not exactly one key): every key escaped, so the engine keeps it as is."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        inner = f"{where}/{_pointer_token(key)}"
        if not isinstance(key, str):
            problems.append(f"object key {key!r} {_at(where)} is not a string")
            continue
        out["$" + key] = _literal(value, inner, problems)
    return out


def _literal(node: Any, where: str, problems: list[str]) -> Any:
    if isinstance(node, dict):
        return _escape_literal(node, where, problems)
    if isinstance(node, list):
        return [_literal(item, f"{where}/{i}", problems) for i, item in enumerate(node)]
    _check_scalar(node, where, problems)
    return node


def _check_scalar(node: Any, where: str, problems: list[str]) -> None:
    if node is None or isinstance(node, (str, bool, int)):
        return
    if isinstance(node, float):
        if not math.isfinite(node):
            problems.append(f"the number {node!r} {_at(where)} is not allowed in JSON")
        return
    problems.append(
        f"a value of type {type(node).__name__} {_at(where)} is not JSON "
        "(use null, true/false, numbers, strings, arrays or objects)"
    )


def _pointer_token(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _at(where: str) -> str:
    return f"at {where}" if where else "at the top of the rule"


# --------------------------------------------------------------------------- evaluation


_MAX_PRUNE_DEPTH: Final = 6  # deeper than this, a value is kept whole (keeps the code small)


def _make_pruner(reads: list[list[str]]) -> _Pruner | None:
    """A function keeping only the data paths the rule reads (None: the rule reads everything).

    The engine converts the whole data dict on every call; a contact with many attributes
    costs far more to convert than the two fields a typical rule looks at. Keeping more than
    the rule reads is always correct, so the pruning stops at ``_MAX_PRUNE_DEPTH``.
    """
    tree: _PruneTree = {}
    for path in reads:
        if not path:
            return None  # {"var": ""}: the rule reads the whole data
        path = path[:_MAX_PRUNE_DEPTH]
        node = tree
        for seg in path[:-1]:
            child = node.setdefault(seg, {})
            if child is None:
                break  # an ancestor is already kept whole
            node = child
        else:
            node[path[-1]] = None
    return _pruner(tree)


def _pruner(tree: _PruneTree) -> _Pruner:
    """Straight-line Python for ``tree``: about twice as fast as walking the tree per call.

    For the tree {"contact": {"attributes": {"country": None}}} the function is::

        def prune(d0):
            if type(d0) is not dict:
                return d0
            o0 = {}
            if 'contact' in d0:
                d1 = d0['contact']
                if type(d1) is dict:
                    o1 = {}
                    if 'attributes' in d1:
                        ...
                    o0['contact'] = o1
                else:
                    o0['contact'] = d1
            return o0

    Keys are written with ``repr``, so any string is a safe literal.
    """
    lines = ["def prune(d0):", "    if type(d0) is not dict:", "        return d0", "    o0 = {}"]
    _emit_pruner(tree, 0, lines)
    lines.append("    return o0")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)
    prune: _Pruner = namespace["prune"]
    return prune


def _emit_pruner(tree: _PruneTree, depth: int, lines: list[str]) -> None:
    pad = "    " * (2 * depth + 1)
    d, o, d_next, o_next = f"d{depth}", f"o{depth}", f"d{depth + 1}", f"o{depth + 1}"
    for key, sub in tree.items():
        k = repr(key)
        lines.append(f"{pad}if {k} in {d}:")
        if sub is None:
            lines.append(f"{pad}    {o}[{k}] = {d}[{k}]")
            continue
        lines.append(f"{pad}    {d_next} = {d}[{k}]")
        lines.append(f"{pad}    if type({d_next}) is dict:")
        lines.append(f"{pad}        {o_next} = {{}}")
        _emit_pruner(sub, depth + 1, lines)
        lines.append(f"{pad}        {o}[{k}] = {o_next}")
        lines.append(f"{pad}    else:")
        lines.append(f"{pad}        {o}[{k}] = {d_next}")


_PLAIN_ERRORS: Final = {
    "Thrown": "a value is not a number",
    "NaN": "a value is not a number",
    "InvalidArguments": "the operator's arguments are not valid",
    "ParseError": "the data holds a value JsonLogic cannot use",
    "InvalidOperator": "unknown operator",
    "VariableNotFound": "a variable is missing",
    "ArithmeticError": "arithmetic error",
    "TypeError": "a value has the wrong type",
}


def _engine_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def _runtime_message(exc: BaseException) -> str:
    if isinstance(exc, datalogic_py.DataLogicError):
        error_type = getattr(exc, "error_type", None)
        operator = getattr(exc, "operator", None)
        plain = _PLAIN_ERRORS.get(error_type or "")
        if error_type == "Thrown" and operator in ("/", "%"):
            plain = "division by zero, or a value that is not a number"
        elif plain is None:
            plain = _engine_text(exc)
        elif error_type == "ParseError":
            plain = f"{plain} ({_engine_text(exc)})"
        where = f" in operator {operator!r}" if operator else ""
        return f"the rule failed{where}: {plain}"
    if isinstance(exc, RecursionError):
        return "the rule failed: the data is nested too deeply"
    return f"the rule failed: {type(exc).__name__}: {_engine_text(exc)}"
