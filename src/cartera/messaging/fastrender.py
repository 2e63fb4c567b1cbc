"""Message templates rendered without Django's per-node machinery, with Django's output.

Deciding 100,000 reminders renders about 300,000 template parts, and Django's renderer spends
most of that time in its generic machinery: a method call and an annotation wrapper per node,
a `Context` search and four lookup strategies per variable, localisation checks per value.
The message templates are small and regular (text, `{{ variables }}` over plain dicts,
`{% if %}`), so each compiled template is turned once into a list of small functions:

- text is a constant;
- a variable whose path walks plain dicts (and `documents.0`) is read directly; anything
  else (a missing name, a callable, an unusual type, a literal) is resolved by Django's own
  `FilterExpression`, so its meaning never differs;
- filters run as Django runs them (`FilterExpression.resolve`'s loop);
- `{% if %}` conditions use the same operators with the same "an error is False" rule;
- every other tag (`for`, `with`, `cycle`, …) is rendered by Django's node itself, with the
  same `Context`.

Django still parses the template, so what compiles, which tags and filters exist and what a
name means stay Django's. tests/test_fastrender.py renders every shipped template and a set
of awkward ones both ways and compares the text.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from html import escape
from typing import Any

from django.template import Context
from django.template import Template as DjangoTemplate
from django.template.base import (
    NodeList,
    TextNode,
    VariableDoesNotExist,
    VariableNode,
    render_value_in_context,
)
from django.template.defaulttags import IfNode, TemplateLiteral
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]

Part = Callable[[Context, dict[str, Any]], str]
Test = Callable[[Context, dict[str, Any]], Any]


class _Slow(Exception):
    """The direct lookup cannot vouch for Django's answer: ask Django."""


# Values the direct lookup passes on: none is callable, and each is found by `[key]` first in
# Django's lookup order, so reading them directly gives what Django would give.
_DIRECT = frozenset({str, SafeString, int, bool, type(None), Decimal, dict})


class FastTemplate:
    """A compiled message template; `render(context)` returns what Django's would."""

    def __init__(self, template: DjangoTemplate, direct_types: frozenset[type] = frozenset()):
        self.template = template
        self._direct = _DIRECT | direct_types
        self._parts = self._nodelist(template.nodelist)

    def render(self, context: Context) -> SafeString:
        data = context.dicts[-1]
        with context.render_context.push_state(self.template):
            if context.template is None:
                with context.bind_template(self.template):
                    context.template_name = self.template.name
                    return mark_safe("".join([part(context, data) for part in self._parts]))
            return mark_safe("".join([part(context, data) for part in self._parts]))

    # -- compiling --

    def _nodelist(self, nodelist: NodeList) -> list[Part]:
        return [self._node(node) for node in nodelist]

    def _node(self, node: Any) -> Part:
        kind = type(node)
        if kind is TextNode:
            text = node.s
            return lambda context, data: text
        if kind is VariableNode:
            return self._variable_node(node.filter_expression)
        if kind is IfNode:
            return self._if_node(node)
        render = node.render_annotated
        return lambda context, data: render(context)

    def _variable_node(self, expression: Any) -> Part:
        value = self._value(expression)
        direct = self._direct

        def part(context: Context, data: dict[str, Any]) -> Any:
            obj = value(context, data)
            kind = type(obj)
            if kind in direct and issubclass(kind, str):
                # `localize` and `template_localtime` leave text alone.
                if not context.autoescape:
                    return obj
                if isinstance(obj, SafeData):
                    return obj
                html = getattr(obj, "__html__", None)
                # Django's `escape` is the standard library's behind a lazy-string wrapper.
                return html() if html is not None else escape(obj)
            return render_value_in_context(obj, context)

        return part

    def _value(self, expression: Any) -> Test:
        """The expression's value as `FilterExpression.resolve` gives it."""
        lookups = expression.var.lookups if expression.is_var else None
        if lookups is None or expression.var.translate:
            return lambda context, data: expression.resolve(context)
        lookup = self._lookup(lookups)
        filters = expression.filters

        def value(context: Context, data: dict[str, Any]) -> Any:
            try:
                obj = lookup(data)
            except _Slow:
                return expression.resolve(context)
            return _filtered(obj, filters, context) if filters else obj

        return value

    def _lookup(self, lookups: tuple[str, ...]) -> Callable[[dict[str, Any]], Any]:
        first, rest = lookups[0], lookups[1:]
        direct = self._direct

        def lookup(data: dict[str, Any]) -> Any:
            current = data.get(first, _Slow)
            if current is _Slow or type(current) not in direct:
                raise _Slow
            for bit in rest:
                kind = type(current)
                if kind is dict:
                    current = current.get(bit, _Slow)
                    if current is _Slow:  # Django would try attributes (`items`…) next
                        raise _Slow
                elif issubclass(kind, list) and bit.isdigit():
                    index = int(bit)
                    if index >= len(current):
                        raise _Slow
                    current = current[index]
                else:
                    raise _Slow
                if type(current) not in direct:
                    raise _Slow
            return current

        return lookup

    def _if_node(self, node: IfNode) -> Part:
        branches = [
            (None if condition is None else self._test(condition), self._nodelist(nodelist))
            for condition, nodelist in node.conditions_nodelists
        ]

        def part(context: Context, data: dict[str, Any]) -> str:
            for test, parts in branches:
                if test is not None:
                    try:
                        match = test(context, data)
                    except VariableDoesNotExist:
                        match = None
                    if not match:
                        continue
                return "".join([p(context, data) for p in parts])
            return ""

        return part

    def _test(self, condition: Any) -> Test:
        """A `{% if %}` condition (django.template.smartif) as a function."""
        if isinstance(condition, TemplateLiteral):
            return self._literal(condition.value)  # a FilterExpression
        operator = _OPERATORS.get(getattr(condition, "id", None))
        if operator is None:
            return lambda context, data: condition.eval(context)
        first = self._test(condition.first)
        second = self._test(condition.second) if condition.second is not None else None

        def test(context: Context, data: dict[str, Any]) -> Any:
            # smartif: "Templates shouldn't throw exceptions when rendering".
            try:
                return operator(context, data, first, second)
            except Exception:
                return False

        return test

    def _literal(self, expression: Any) -> Test:
        lookups = expression.var.lookups if expression.is_var else None
        if lookups is None or expression.var.translate:
            return lambda context, data: expression.resolve(context, ignore_failures=True)
        lookup = self._lookup(lookups)
        filters = expression.filters

        def literal(context: Context, data: dict[str, Any]) -> Any:
            try:
                obj = lookup(data)
            except _Slow:
                return expression.resolve(context, ignore_failures=True)
            return _filtered(obj, filters, context) if filters else obj

        return literal


def _filtered(obj: Any, filters: list[tuple[Any, list[Any]]], context: Context) -> Any:
    # The loop of Django's `FilterExpression.resolve`, after the variable is found.
    for func, args in filters:
        arg_vals = [arg.resolve(context) if lookup else mark_safe(arg) for lookup, arg in args]
        if getattr(func, "expects_localtime", False):
            obj = template_localtime(obj, context.use_tz)
        if getattr(func, "needs_autoescape", False):
            new_obj = func(obj, *arg_vals, autoescape=context.autoescape)
        else:
            new_obj = func(obj, *arg_vals)
        if getattr(func, "is_safe", False) and isinstance(obj, SafeData):
            obj = mark_safe(new_obj)
        else:
            obj = new_obj
    return obj


Operator = Callable[[Context, dict[str, Any], Test, Test | None], Any]


def _binary(compare: Callable[[Any, Any], Any]) -> Operator:
    def operator(context: Context, data: dict[str, Any], x: Test, y: Test | None) -> Any:
        assert y is not None
        return compare(x(context, data), y(context, data))

    return operator


def _or(context: Context, data: dict[str, Any], x: Test, y: Test | None) -> Any:
    assert y is not None
    return x(context, data) or y(context, data)


def _and(context: Context, data: dict[str, Any], x: Test, y: Test | None) -> Any:
    assert y is not None
    return x(context, data) and y(context, data)


def _not(context: Context, data: dict[str, Any], x: Test, y: Test | None) -> Any:
    return not x(context, data)


# django.template.smartif.OPERATORS, evaluated the same way (`or`, `and` short-circuit).
_OPERATORS: dict[Any, Operator] = {
    "or": _or,
    "and": _and,
    "not": _not,
    "in": _binary(lambda a, b: a in b),
    "not in": _binary(lambda a, b: a not in b),
    "is": _binary(lambda a, b: a is b),
    "is not": _binary(lambda a, b: a is not b),
    "==": _binary(lambda a, b: a == b),
    "!=": _binary(lambda a, b: a != b),
    ">": _binary(lambda a, b: a > b),
    ">=": _binary(lambda a, b: a >= b),
    "<": _binary(lambda a, b: a < b),
    "<=": _binary(lambda a, b: a <= b),
}
