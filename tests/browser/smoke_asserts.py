"""Run by the browser test's kernels at start (tests/browser/server.py), after the smoke profile
(tests/smoke) has cut every pass over a loader to two minibatches: the notebooks' asserts on what
training learnt (a perplexity, a recitation) cannot hold there. Each assert that does not hold
prints a note instead of raising, so Run All Cells goes on as it does after a full training; every
other error still stops the run and fails the test. Strict nbval checks the asserts themselves, on
the teacher's notebooks trained in full."""
import ast as _ast

from IPython import get_ipython as _get_ipython

_NOTE = "[tests.browser] not held with training cut to two minibatches:"


class _AssertsToNotes(_ast.NodeTransformer):
    """`assert test, msg` becomes `if not test: print(NOTE, msg)` (the test's source without msg)."""

    def visit_Assert(self, node):
        message = node.msg or _ast.Constant(_ast.unparse(node.test))
        note = _ast.Expr(_ast.Call(_ast.Name("print", _ast.Load()), [_ast.Constant(_NOTE), message], []))
        check = _ast.If(_ast.UnaryOp(_ast.Not(), node.test), [note], [])
        return _ast.fix_missing_locations(_ast.copy_location(check, node))


_get_ipython().ast_transformers.append(_AssertsToNotes())
