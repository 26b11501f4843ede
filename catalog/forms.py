"""Catalog web forms: an entry with its data items (inline formset), review decisions, demands, update cases."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin, DateInput
from portal.models import Department

from .choices import (
    FORMAT_TYPES,
    DataType,
    EntryState,
    ExchangeMethod,
    FormatClass,
    OpenType,
    ShareType,
    UpdateCycle,
    UpdateTrigger,
)
from .models import ENTRY_FIELDS, Classification

_SPLIT = re.compile(r"[\s,，、;；]+")


def split_list(text: str) -> list[str]:
    return [p for p in _SPLIT.split(text or "") if p]


class ClassificationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {'　' * (obj.level - 2)}{obj.name}"


def _textarea(rows=2):
    return forms.Textarea(attrs={"rows": rows})


class EntryForm(BootstrapMixin, forms.Form):
    """The metadata of one entry (the 2017 guide's core elements); the service validates the rules."""

    classification = ClassificationChoiceField(
        label=_("信息资源分类"),
        queryset=Classification.objects.none(),
        help_text=_("类/项/目/细目；资源代码按分类、本部门代码和顺序号自动生成"),
    )
    name = forms.CharField(label=_("信息资源名称"), max_length=200)
    summary = forms.CharField(label=_("信息资源摘要"), widget=_textarea(3))
    format_class = forms.ChoiceField(label=_("格式分类"), choices=FormatClass.choices)
    format_type = forms.CharField(
        label=_("格式类型"), max_length=100, widget=forms.TextInput(attrs={"list": "format-types"})
    )
    share_type = forms.ChoiceField(label=_("共享类型"), choices=ShareType.choices)
    share_condition = forms.CharField(
        label=_("共享条件"), required=False, widget=_textarea(), help_text=_("有条件共享时必填：共享范围、条件和用途")
    )
    no_share_basis = forms.CharField(
        label=_("不予共享依据"),
        required=False,
        widget=_textarea(),
        help_text=_("不予共享时必填：法律、行政法规或党中央、国务院政策依据"),
    )
    exchange_methods = forms.MultipleChoiceField(
        label=_("共享方式"), choices=ExchangeMethod.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    open_type = forms.ChoiceField(label=_("开放属性"), choices=OpenType.choices, initial=OpenType.CLOSED)
    open_condition = forms.CharField(label=_("开放条件"), required=False, widget=_textarea())
    update_cycle = forms.ChoiceField(label=_("更新周期"), choices=UpdateCycle.choices)
    related_codes = forms.CharField(
        label=_("关联资源代码"), required=False, help_text=_("多个代码用逗号或换行分隔"), widget=_textarea(1)
    )
    is_secret = forms.BooleanField(
        label=_("涉密"), required=False, help_text=_("涉密政务数据资源不得在大数据平台编目报送")
    )
    duplicate_note = forms.CharField(
        label=_("重复采集说明"),
        required=False,
        widget=_textarea(),
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


class CommentForm(BootstrapMixin, forms.Form):
    comment = forms.CharField(label=_("意见"), required=False, widget=_textarea())


class ApproveForm(BootstrapMixin, forms.Form):
    """The bureau confirms or changes the sharing type (R18.1) while approving."""

    share_type = forms.ChoiceField(label=_("审定共享类型"), choices=ShareType.choices)
    share_condition = forms.CharField(label=_("共享条件"), required=False, widget=_textarea())
    no_share_basis = forms.CharField(label=_("不予共享依据"), required=False, widget=_textarea())
    comment = forms.CharField(label=_("审核意见"), required=False, widget=_textarea())


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


class DemandForm(BootstrapMixin, forms.Form):
    needed_data = forms.CharField(label=_("所需数据"), max_length=200, help_text=_("如：企业营业执照信息"))
    item_names = forms.CharField(
        label=_("所需信息项"),
        required=False,
        widget=_textarea(1),
        help_text=_("多个信息项用逗号或顿号分隔，如：统一社会信用代码、企业名称"),
    )
    purpose = forms.CharField(label=_("用途"), widget=_textarea())
    legal_basis = forms.CharField(label=_("依据"), widget=_textarea(), help_text=_("法律法规或部门职责依据"))
    provider = forms.ModelChoiceField(
        label=_("提供部门"),
        queryset=Department.objects.none(),
        required=False,
        help_text=_("不清楚由哪个部门提供时可不选"),
    )

    def __init__(self, *args, department=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = Department.objects.filter(is_active=True).select_related("region").order_by("region__code", "name")
        if department is not None:
            qs = qs.exclude(pk=department.pk)
        self.fields["provider"].queryset = qs
        self.fields["provider"].empty_label = _("不清楚")

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["item_names"] = split_list(data.get("item_names", ""))
        return data


class NoteForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("说明"), widget=_textarea())


class UpdateCaseOpenForm(BootstrapMixin, forms.Form):
    trigger_kind = forms.ChoiceField(label=_("更新原因"), choices=UpdateTrigger.choices)
    trigger_date = forms.DateField(
        label=_("发生日期"),
        widget=DateInput(),
        help_text=_("法律法规修改或职能变化之日；须自该日起 10 个工作日内提交申请"),
    )
    trigger_document = forms.CharField(label=_("依据文件"), max_length=200, help_text=_("法规名称或文件文号"))
    trigger_description = forms.CharField(label=_("变化说明"), required=False, widget=_textarea())


class ClassificationForm(BootstrapMixin, forms.Form):
    parent = ClassificationChoiceField(label=_("上级分类"), queryset=Classification.objects.none())
    code_part = forms.CharField(label=_("本级代码"), max_length=4, help_text=_("项 2 位、目 3 位、细目 2–4 位数字"))
    name = forms.CharField(label=_("分类名称"), max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Classification.objects.filter(level__lte=3, is_active=True).order_by("code")
        self.fields["parent"].label_from_instance = lambda c: f"{c.code} {c.name}"
