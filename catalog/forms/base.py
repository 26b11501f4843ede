"""Pieces every catalog form uses: list fields, the classification picker, service errors put back on a form."""

from __future__ import annotations

import re

from django import forms

_SPLIT = re.compile(r"[\s,，、;；]+")


def split_list(text: str) -> list[str]:
    """A typed list (commas, 、, semicolons or white space between) as its non-empty parts."""
    return [p for p in _SPLIT.split(text or "") if p]


class ClassificationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {'　' * (obj.level - 2)}{obj.name}"


def textarea(rows=2):
    """A textarea `rows` lines high."""
    return forms.Textarea(attrs={"rows": rows})



def apply_errors(form, formset, errors: dict, where: list[int]) -> None:
    """Put a service's `errors` (entry_problems keys) back onto the form and the formset rows."""
    for key, messages in errors.items():
        match = re.fullmatch(r"items\.(\d+)\.(\w+)", key)
        if match and formset is not None:
            index, field = int(match.group(1)), match.group(2)
            target = formset.forms[where[index]] if index < len(where) else None
            if target is not None:
                for message in messages:
                    target.add_error(field if field in target.fields else None, message)
                continue
        field = key if key in form.fields else None
        for message in messages:
            if key == "items" and formset is not None:
                formset._non_form_errors = formset.error_class([*formset.non_form_errors(), message])
            else:
                form.add_error(field, message)

