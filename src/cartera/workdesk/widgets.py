"""Form widgets rendered in Python rather than through Django's widget templates.

The account page carries about a hundred widgets (six action forms, their selects and
checkboxes); through the template renderer they cost more than the rest of the page together
(around 1 ms each, most of it in one `{% include %}` per option). These produce the same markup
as Django's default widget templates, from the same `get_context()`, in a few microseconds.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe


def _attrs(attrs: dict[str, Any]) -> str:
    # Django's attrs.html: True is a bare attribute, False and None are left out.
    return flatatt({k: v for k, v in attrs.items() if v is not False and v is not None})


class FastRenderMixin:
    """Renders `<input>`, `<textarea>`, `<select>` and lists of checkboxes or radios."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]  # type: ignore[attr-defined]
        if isinstance(self, forms.CheckboxSelectMultiple | forms.RadioSelect):
            return self._choices_html(widget)
        if isinstance(self, forms.Select):
            return self._select_html(widget)
        if isinstance(self, forms.Textarea):
            return format_html(
                '<textarea name="{}"{}>\n{}</textarea>',
                widget["name"],
                mark_safe(_attrs(widget["attrs"])),
                widget["value"] or "",
            )
        value = widget.get("value")
        value_attr = format_html(' value="{}"', value) if value is not None else ""
        return format_html(
            '<input type="{}" name="{}"{}{}>',
            widget["type"],
            widget["name"],
            value_attr,
            mark_safe(_attrs(widget["attrs"])),
        )

    @staticmethod
    def _select_html(widget: dict[str, Any]) -> SafeString:
        parts = [
            format_html('<select name="{}"{}>', widget["name"], mark_safe(_attrs(widget["attrs"])))
        ]
        for group, options, _index in widget["optgroups"]:
            if group:
                parts.append(format_html('<optgroup label="{}">', group))
            for option in options:
                parts.append(
                    format_html(
                        '<option value="{}"{}>{}</option>',
                        option["value"],
                        mark_safe(_attrs(option["attrs"])),
                        option["label"],
                    )
                )
            if group:
                parts.append(mark_safe("</optgroup>"))
        parts.append(mark_safe("</select>"))
        return mark_safe("".join(conditional_escape(p) for p in parts))

    @staticmethod
    def _choices_html(widget: dict[str, Any]) -> SafeString:
        wrapper_id = widget["attrs"].get("id")
        parts = [format_html("<div{}>", format_html(' id="{}"', wrapper_id) if wrapper_id else "")]
        for _group, options, _index in widget["optgroups"]:
            for option in options:
                attrs = dict(option["attrs"])
                label_for = format_html(' for="{}"', attrs["id"]) if attrs.get("id") else ""
                parts.append(
                    format_html(
                        '<div><label{}><input type="{}" name="{}" value="{}"{}> {}</label></div>',
                        label_for,
                        option["type"],
                        option["name"],
                        option["value"],
                        mark_safe(_attrs(attrs)),
                        option["label"],
                    )
                )
        parts.append(mark_safe("</div>"))
        return mark_safe("".join(conditional_escape(p) for p in parts))


@cache
def _fast(widget_class: type) -> type:
    # Same class name: templates tell widgets apart by it (`BoundField.widget_type`).
    return type(widget_class.__name__, (FastRenderMixin, widget_class), {})


def fast_widgets(form: forms.BaseForm) -> None:
    """Give every field of the form its widget's fast twin (same markup, no templates)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, FastRenderMixin | forms.MultiWidget):
            continue
        if isinstance(widget, forms.widgets.Input | forms.Textarea | forms.widgets.ChoiceWidget):
            widget.__class__ = _fast(type(widget))
