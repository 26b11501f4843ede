"""Web form of a theme database's definition: name, key kind, join mode, the chosen items of each source."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin

from ..choices import JoinMode, KeyKind


class ThemeForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    key_kind = forms.ChoiceField(label=_("关联主体标识"), choices=KeyKind.choices)
    join_mode = forms.ChoiceField(label=_("关联方式"), choices=JoinMode.choices, initial=JoinMode.ANY)
    columns = forms.MultipleChoiceField(label=_("选用的信息项"), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, datasets=(), **kwargs):
        super().__init__(*args, **kwargs)
        groups = []
        for dataset in datasets:
            label = f"{dataset.entry.name}（{dataset.department.short_name or dataset.department.name}，"
            label += f"{dataset.get_key_kind_display()}）"
            names = [n for n in dataset.entry.items.order_by("position").values_list("name", flat=True)
                     if n != dataset.key_item_name]
            groups.append((label, [(f"{dataset.pk}:{n}", n) for n in names]))
        self.fields["columns"].choices = groups
        self.fields["columns"].widget.attrs.pop("class", None)

    def sources(self) -> list[dict]:
        by_dataset: dict[str, list[str]] = {}
        for value in self.cleaned_data.get("columns", []):
            dataset_id, _sep, item = value.partition(":")
            by_dataset.setdefault(dataset_id, []).append(item)
        return [{"dataset": d, "items": items} for d, items in by_dataset.items()]
