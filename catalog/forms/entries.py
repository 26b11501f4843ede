"""Entry forms: an entry with its data items (inline formset), review decisions, the list filters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin
from portal.models import Department

from ..choices import (
    FORMAT_TYPES,
    DataType,
    EntryState,
    ExchangeMethod,
    FormatClass,
    OpenType,
    Sensitivity,
    ShareType,
    UpdateCycle,
)
from ..models import ENTRY_FIELDS, Classification
from .base import ClassificationChoiceField, split_list, textarea


class EntryForm(BootstrapMixin, forms.Form):
    """The metadata of one entry (the 2017 guide's core elements); the service validates the rules."""

    classification = ClassificationChoiceField(
        label=_("信息资源分类"),
        queryset=Classification.objects.none(),
        help_text=_("类/项/目/细目；资源代码按分类、本部门代码和顺序号自动生成"),
    )
    name = forms.CharField(label=_("信息资源名称"), max_length=200)
    summary = forms.CharField(label=_("信息资源摘要"), widget=textarea(3))
    format_class = forms.ChoiceField(label=_("格式分类"), choices=FormatClass.choices)
    format_type = forms.CharField(
        label=_("格式类型"), max_length=100, widget=forms.TextInput(attrs={"list": "format-types"})
    )
    share_type = forms.ChoiceField(label=_("共享类型"), choices=ShareType.choices)
    share_condition = forms.CharField(
        label=_("共享条件"), required=False, widget=textarea(), help_text=_("有条件共享时必填：共享范围、条件和用途")
    )
    no_share_basis = forms.CharField(
        label=_("不予共享依据"),
        required=False,
        widget=textarea(),
        help_text=_("不予共享时必填：法律、行政法规或党中央、国务院政策依据"),
    )
    exchange_methods = forms.MultipleChoiceField(
        label=_("共享方式"), choices=ExchangeMethod.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    open_type = forms.ChoiceField(label=_("开放属性"), choices=OpenType.choices, initial=OpenType.CLOSED)
    open_condition = forms.CharField(label=_("开放条件"), required=False, widget=textarea())
    update_cycle = forms.ChoiceField(label=_("更新周期"), choices=UpdateCycle.choices)
    related_codes = forms.CharField(
        label=_("关联资源代码"), required=False, help_text=_("多个代码用逗号或换行分隔"), widget=textarea(1)
    )
    is_secret = forms.BooleanField(
        label=_("涉密"), required=False, help_text=_("涉密政务数据资源不得在大数据平台编目报送")
    )
    duplicate_note = forms.CharField(
        label=_("重复采集说明"),
        required=False,
        widget=textarea(),
        help_text=_("信息项与其他部门已提供的数据重复、仍需自行采集时，说明法律依据或理由"),
    )
    confirm_duplicates = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["classification"].queryset = Classification.objects.filter(is_active=True, level__gte=2).order_by(
            "code"
        )
        self.fields["exchange_methods"].widget.attrs.pop("class", None)

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["related_codes"] = split_list(data.get("related_codes", ""))
        for key in ("duplicate_note", "confirm_duplicates"):
            data.pop(key, None)
        return data

    @staticmethod
    def initial_from(entry) -> dict:
        return {
            "classification": entry.classification_id,
            "name": entry.name,
            "summary": entry.summary,
            "format_class": entry.format_class,
            "format_type": entry.format_type,
            "share_type": entry.share_type,
            "share_condition": entry.share_condition,
            "no_share_basis": entry.no_share_basis,
            "exchange_methods": entry.exchange_methods,
            "open_type": entry.open_type,
            "open_condition": entry.open_condition,
            "update_cycle": entry.update_cycle,
            "related_codes": "\n".join(entry.related_codes),
            "is_secret": entry.is_secret,
            "duplicate_note": entry.duplicate_note,
        }

    @staticmethod
    def initial_from_snapshot(values: dict) -> dict:
        data = {k: values.get(k) for k in ENTRY_FIELDS if k not in ("classification", "related_codes")}
        data["classification"] = (
            Classification.objects.filter(code=values.get("classification")).values_list("pk", flat=True).first()
        )
        data["related_codes"] = "\n".join(values.get("related_codes") or [])
        return data


FORMAT_TYPE_SUGGESTIONS = sorted({t for types in FORMAT_TYPES.values() for t in types}, key=str.lower)


class DataItemForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("信息项名称"), max_length=100)
    data_type = forms.ChoiceField(label=_("数据类型"), choices=DataType.choices, initial=DataType.C)
    length = forms.IntegerField(label=_("长度"), required=False, min_value=1)
    is_subject_key = forms.BooleanField(label=_("主体标识"), required=False)
    is_base_item = forms.BooleanField(label=_("基础项"), required=False)
    description = forms.CharField(label=_("说明"), max_length=500, required=False)
    sensitivity = forms.ChoiceField(label=_("敏感程度"), choices=[("", _("按名称建议")), *Sensitivity.choices],
                                    required=False)
    derived_from = forms.CharField(label=_("派生自"), max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The items table shows each label once, in its header: every cell's control carries it for screen readers.
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", field.label)


class _DataItemBaseFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs["aria-label"] = _("删除")


DataItemFormSet = forms.formset_factory(DataItemForm, formset=_DataItemBaseFormSet, extra=0, can_delete=True,
                                        max_num=500, validate_max=True)


def items_initial(items) -> list[dict]:
    return [
        {
            "name": i.name,
            "data_type": i.data_type,
            "length": i.length,
            "is_subject_key": i.is_subject_key,
            "is_base_item": i.is_base_item,
            "description": i.description,
            "sensitivity": i.sensitivity,
            "derived_from": i.derived_from,
        }
        for i in items
    ]


def formset_items(formset) -> tuple[list[dict], list[int]]:
    """The kept rows' values, and for each the index of its form (to put service errors back on it)."""
    items, where = [], []
    for index, form in enumerate(formset.forms):
        data = getattr(form, "cleaned_data", None) or {}
        if not data or data.get("DELETE") or not data.get("name"):
            continue  # an untouched added row, or one marked for removal
        data = {k: v for k, v in data.items() if k != "DELETE"}
        items.append(data)
        where.append(index)
    return items, where


class CommentForm(BootstrapMixin, forms.Form):
    comment = forms.CharField(label=_("意见"), required=False, widget=textarea())


class ApproveForm(BootstrapMixin, forms.Form):
    """The bureau confirms or changes the sharing type (R18.1) while approving."""

    share_type = forms.ChoiceField(label=_("审定共享类型"), choices=ShareType.choices)
    share_condition = forms.CharField(label=_("共享条件"), required=False, widget=textarea())
    no_share_basis = forms.CharField(label=_("不予共享依据"), required=False, widget=textarea())
    comment = forms.CharField(label=_("审核意见"), required=False, widget=textarea())


class EntryFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("名称、摘要或信息项，如：营业执照、户籍")}),
    )
    provider = forms.ModelChoiceField(label=_("提供方"), queryset=Department.objects.none(), required=False)
    classification = forms.ChoiceField(label=_("分类"), required=False)
    share_type = forms.ChoiceField(label=_("共享类型"), choices=[("", _("全部")), *ShareType.choices], required=False)
    update_cycle = forms.ChoiceField(
        label=_("更新周期"), choices=[("", _("全部")), *UpdateCycle.choices], required=False
    )
    state = forms.ChoiceField(label=_("状态"), choices=[("", _("全部")), *EntryState.choices], required=False)

    def __init__(self, *args, providers=None, classifications=(), with_state=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = providers if providers is not None else Department.objects.none()
        self.fields["provider"].empty_label = _("全部")
        self.fields["classification"].choices = [
            ("", _("全部")),
            *((c.code, f"{c.code} {c.name}") for c in classifications),
        ]
        if not with_state:
            del self.fields["state"]

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = dict(self.cleaned_data)
        if data.get("provider"):
            data["provider"] = data["provider"].pk
        return data

