"""The training loop reads in one screen: no function in core/training/ over 60 lines, the one that calls
backward() at most 45 (the cross-cutting concerns are callbacks, `core/training/callbacks.py`)."""

from __future__ import annotations

import ast
from pathlib import Path

import stilt_cli

TRAINING = Path(stilt_cli.__file__).parent / "core" / "training"


def _functions():
    for path in sorted(TRAINING.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.name, node, node.end_lineno - node.lineno + 1


def test_no_function_in_training_is_over_60_lines():
    long = [f"{name}:{node.name} ({size} lines)" for name, node, size in _functions() if size > 60]
    assert not long, long


def test_the_function_that_calls_backward_is_at_most_45_lines():
    callers = [(name, node, size) for name, node, size in _functions()
               if any(isinstance(n, ast.Attribute) and n.attr == "backward" for n in ast.walk(node))]
    assert callers, "no function in core/training/ calls backward()"
    assert all(size <= 45 for _, _, size in callers), [(n, f.name, s) for n, f, s in callers]
