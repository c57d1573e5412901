"""Compare JsonLogic libraries for Castflow: conformance, speed, extensibility.

Run from the project root:

    .venv/bin/python bench/jsonlogic_compare.py [--n 100000] [--show-failures]

Candidates (each used through its fastest documented path):

* datalogic-py (``datalogic_py``): Rust core; ``Engine().compile(rule)`` once, then
  ``rule.evaluate(data)`` (and, for reference, a ``Session`` and a pre-parsed ``DataHandle``).
* python-jsonlogic (``jsonlogic``):
  ``JSONLogicExpression.from_json(rule).as_operator_tree(registry)`` once, then
  ``operator.evaluate(EvaluationContext(data, None, settings))`` with the JsonLogic dot-notation
  reference parser (its default is JSON Pointer).
* panzi-json-logic (``json_logic``): no compile step; ``jsonLogic(rule, data)`` walks the rule dict.

The result comparison is JSON-strict: ``True`` does not equal ``1`` (Python's ``==`` would say it
does), ints and floats compare numerically.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "data" / "jsonlogic-tests.json"

MARKETING_RULE: dict[str, Any] = {
    "and": [
        {"==": [{"var": "contact.attributes.country"}, "IT"]},
        {">=": [{"var": "contact.attributes.orders"}, 3]},
    ]
}

MARKETING_DATA: dict[str, Any] = {
    "contact": {
        "id": "c_01HZX3K9QW8E7R6T5Y4U3I2O1P",
        "email": "giulia.rossi@example.it",
        "phone": "+39 347 123 4567",
        "first_name": "Giulia",
        "last_name": "Rossi",
        "created_at": "2023-04-12T09:31:00Z",
        "subscribed": True,
        "tags": ["newsletter", "vip", "summer-2024"],
        "lists": ["l_main", "l_promo"],
        "attributes": {
            "country": "IT",
            "city": "Milano",
            "language": "it",
            "orders": 5,
            "lifetime_value": 742.5,
            "last_order_at": "2024-06-30T18:02:11Z",
            "favourite_category": "shoes",
            "loyalty_tier": "gold",
            "birthday": "1990-03-14",
            "consents": {"email": True, "sms": False, "push": True},
        },
    },
    "event": None,
    "vars": {},
}

Evaluator = Callable[[Any], Any]
Compiler = Callable[[Any], Evaluator]


# --------------------------------------------------------------------------- comparison


def json_equal(a: Any, b: Any) -> bool:
    """Equality under JSON semantics (bool is not a number; 1 == 1.0)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


# --------------------------------------------------------------------------- candidates


def datalogic_compiler() -> Compiler:
    import datalogic_py

    engine = datalogic_py.Engine()

    def compile_(rule: Any) -> Evaluator:
        return engine.compile(rule).evaluate

    return compile_


def python_jsonlogic_compiler() -> Compiler:
    from jsonlogic import JSONLogicExpression, Operator
    from jsonlogic.evaluation import EvaluationContext
    from jsonlogic.evaluation.evaluation_settings import EvaluationSettingsDict
    from jsonlogic.operators import operator_registry
    from jsonlogic.resolving import DotReferenceParser

    settings: EvaluationSettingsDict = {"reference_parser": DotReferenceParser()}

    def compile_(rule: Any) -> Evaluator:
        # from_json only accepts a dict at the root (a literal rule raises ValueError).
        root = JSONLogicExpression.from_json(rule).as_operator_tree(operator_registry)
        if not isinstance(root, Operator):
            return lambda data: root

        def evaluate(data: Any) -> Any:
            return root.evaluate(EvaluationContext(data, None, settings))

        return evaluate

    return compile_


def panzi_compiler() -> Compiler:
    from json_logic import jsonLogic

    def compile_(rule: Any) -> Evaluator:
        return lambda data: jsonLogic(rule, data)

    return compile_


CANDIDATES: dict[str, Callable[[], Compiler]] = {
    "datalogic-py": datalogic_compiler,
    "python-jsonlogic": python_jsonlogic_compiler,
    "panzi-json-logic": panzi_compiler,
}


# --------------------------------------------------------------------------- conformance


def load_suite() -> list[tuple[str, Any, Any, Any]]:
    cases: list[tuple[str, Any, Any, Any]] = []
    section = "(start)"
    for entry in json.loads(SUITE.read_text()):
        if isinstance(entry, str):
            section = entry
        else:
            rule, data, expected = entry
            cases.append((section, rule, data, expected))
    return cases


def conformance(compiler: Compiler, cases: list[tuple[str, Any, Any, Any]]) -> list[str]:
    failures: list[str] = []
    for section, rule, data, expected in cases:
        case = f"[{section}] {json.dumps(rule)} data={json.dumps(data)}"
        try:
            got = compiler(rule)(data)
        except Exception as exc:
            failures.append(f"{case}: raised {type(exc).__name__}: {exc}")
            continue
        if not json_equal(got, expected):
            failures.append(f"{case}: got {got!r}, want {expected!r}")
    return failures


# --------------------------------------------------------------------------- speed


def per_call_us(fn: Callable[[], Any], n: int) -> float:
    fn()
    best = min(timeit.repeat(fn, number=n, repeat=3))
    return best / n * 1e6


def bench_all(n: int) -> dict[str, float | str]:
    out: dict[str, float | str] = {}
    data = MARKETING_DATA

    import datalogic_py

    engine = datalogic_py.Engine()
    rule = engine.compile(MARKETING_RULE)
    assert rule.evaluate(data) is True
    out["datalogic-py: Rule.evaluate(dict)"] = per_call_us(lambda: rule.evaluate(data), n)
    with engine.session() as sess:
        out["datalogic-py: Session.evaluate(dict)"] = per_call_us(
            lambda: sess.evaluate(rule, data), n
        )
        handle = datalogic_py.DataHandle(data)
        out["datalogic-py: Session.evaluate_data(handle) [data pre-parsed, not our use]"] = (
            per_call_us(lambda: sess.evaluate_data(rule, handle), n)
        )
    small = {"contact": {"attributes": {"country": "IT", "orders": 5}}, "event": None, "vars": {}}
    out["datalogic-py: Rule.evaluate(minimal dict) [shows conversion cost]"] = per_call_us(
        lambda: rule.evaluate(small), n
    )

    # python-jsonlogic: the core registry has no "and" (nor "or", "!", ...), so the marketing rule
    # does not compile. Time it with a minimal "and" registered, and also the ">=" half alone.
    from jsonlogic import JSONLogicExpression, Operator
    from jsonlogic.evaluation import EvaluationContext, get_value
    from jsonlogic.evaluation.evaluation_settings import EvaluationSettingsDict
    from jsonlogic.operators import operator_registry
    from jsonlogic.registry import UnknownOperator
    from jsonlogic.resolving import DotReferenceParser

    try:
        JSONLogicExpression.from_json(MARKETING_RULE).as_operator_tree(operator_registry)
        out["python-jsonlogic: marketing rule compiles"] = "yes"
    except UnknownOperator as exc:
        out["python-jsonlogic: marketing rule compiles"] = (
            f"no, UnknownOperator({exc.operator_id!r})"
        )

    from dataclasses import dataclass

    @dataclass
    class And(Operator):
        args: list[Any]

        @classmethod
        def from_expression(cls, operator: str, arguments: list[Any]) -> And:
            return cls(operator=operator, args=arguments)

        def evaluate(self, context: EvaluationContext) -> Any:
            value: Any = None
            for arg in self.args:
                value = get_value(arg, context)
                if (not value and value != "0") or value == []:
                    return value
            return value

    registry = operator_registry.copy(extend={"and": And})
    settings: EvaluationSettingsDict = {"reference_parser": DotReferenceParser()}
    pjl_root = JSONLogicExpression.from_json(MARKETING_RULE).as_operator_tree(registry)
    assert pjl_root.evaluate(EvaluationContext(data, None, settings)) is True
    out["python-jsonlogic: operator.evaluate(EvaluationContext) [custom 'and' added]"] = (
        per_call_us(lambda: pjl_root.evaluate(EvaluationContext(data, None, settings)), n)
    )

    from json_logic import jsonLogic

    assert jsonLogic(MARKETING_RULE, data) is True
    out["panzi-json-logic: jsonLogic(rule, data)"] = per_call_us(
        lambda: jsonLogic(MARKETING_RULE, data), n
    )

    # The project's wrapper on the chosen library (validation, literal handling, data pruning).
    sys.path.insert(0, str(ROOT))
    from flows.jsonlogic import compile_rule

    castflow_rule = compile_rule(MARKETING_RULE)
    assert castflow_rule.evaluate(data) is True
    out["Castflow flows.jsonlogic: Rule.evaluate(dict) [datalogic-py + pruning]"] = per_call_us(
        lambda: castflow_rule.evaluate(data), n
    )
    out["Castflow flows.jsonlogic: Rule.test(dict)"] = per_call_us(
        lambda: castflow_rule.test(data), n
    )
    return out


# --------------------------------------------------------------------------- extensibility


def extensibility() -> dict[str, str]:
    notes: dict[str, str] = {}
    bad = {"and": [{"foo": 1}, {"or": [{"bar": [2]}, True]}]}

    import datalogic_py

    engine = datalogic_py.Engine()
    diags = engine.check(bad)
    notes["datalogic-py unknown operators"] = (
        f"Engine.check lists {len(diags)} diagnostics: "
        + "; ".join(f"{d['pointer']}: {d['message']}" for d in diags)
        + f" | Engine.operators() lists {len(engine.operators())} built-ins"
    )
    custom = datalogic_py.Engine(
        custom_operators={"double": lambda args: json.dumps(json.loads(args)[0] * 2)}
    )
    doubled = custom.eval({"double": [21]}, {})
    notes["datalogic-py custom operator"] = (
        f"Engine(custom_operators={{'double': f}}): {{'double': [21]}} -> {doubled!r}"
        " (f gets the evaluated arguments as JSON text and returns JSON text; no access to data)"
    )

    from jsonlogic import JSONLogicExpression
    from jsonlogic.operators import operator_registry
    from jsonlogic.registry import UnknownOperator

    try:
        JSONLogicExpression.from_json(bad).as_operator_tree(operator_registry)
        msg = "accepted"
    except UnknownOperator as exc:
        msg = f"raises UnknownOperator({exc.operator_id!r}) (first unknown only)"
    notes["python-jsonlogic unknown operators"] = (
        f"as_operator_tree {msg}; registry has {len(operator_registry._registry)} operators: "
        + " ".join(sorted(operator_registry._registry))
    )
    notes["python-jsonlogic custom operator"] = (
        "yes: subclass Operator, OperatorRegistry.register/copy(extend=...)"
    )

    from json_logic import jsonLogic
    from json_logic.builtins import BUILTINS

    try:
        jsonLogic(bad, {})
        msg = "accepted"
    except ReferenceError as exc:
        msg = f"ReferenceError at evaluation time only ({exc})"
    notes["panzi-json-logic unknown operators"] = (
        f"no compile step; {msg}; BUILTINS dict has {len(BUILTINS)} entries"
    )
    result = jsonLogic({"double": [21]}, None, {**BUILTINS, "double": lambda data, a: a * 2})
    notes["panzi-json-logic custom operator"] = (
        f"yes: pass {{**BUILTINS, name: fn}} per call -> {result!r}"
    )
    return notes


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n", type=int, default=100_000, help="evaluations per timing run (best of 3)"
    )
    parser.add_argument(
        "--show-failures", action="store_true", help="print every failing conformance case"
    )
    args = parser.parse_args()

    cases = load_suite()
    print(f"Conformance suite: {len(cases)} cases from {SUITE.relative_to(ROOT)}")
    for name, make in CANDIDATES.items():
        failures = conformance(make(), cases)
        print(f"  {name:18s} {len(cases) - len(failures):3d}/{len(cases)} pass")
        shown = failures if args.show_failures else failures[:5]
        for line in shown:
            print(f"      {line}")
        if len(failures) > len(shown):
            print(f"      ... {len(failures) - len(shown)} more (use --show-failures)")

    print(f"\nSpeed: marketing rule, {args.n} evaluations, best of 3, microseconds per evaluation")
    for label, value in bench_all(args.n).items():
        print(f"  {label}: {value:.2f}" if isinstance(value, float) else f"  {label}: {value}")

    print("\nOperator listing / validation and custom operators")
    for label, note in extensibility().items():
        print(f"  {label}: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
