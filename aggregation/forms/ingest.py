"""Web forms of the ingest jobs: upload a file, map its columns, choose how to load."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin

from ..choices import JobMode

ENCODINGS = [
    ("", _("自动识别（推荐）")),
    ("utf-8", "UTF-8"),
    ("gb18030", _("GBK / GB18030（Excel 中文版默认）")),
]


class UploadForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=_("数据文件"), help_text=_("CSV、XLSX 或 JSON；第一行为表头，列名与信息项名称一致时自动对应")
    )
    mode = forms.ChoiceField(
        label=_("导入方式"), choices=JobMode.choices, initial=JobMode.ALL_OR_NOTHING, widget=forms.RadioSelect,
        help_text=_("默认只有全部行通过校验才导入；选择“仅导入有效行”时，问题行列入报告，其余行导入"),
    )
    encoding = forms.ChoiceField(label=_("文件编码"), choices=ENCODINGS, required=False)
    empty_all = forms.BooleanField(
        label=_("文件未包含的数据项以空值替换"), required=False,
        help_text=_("默认保留这些数据项的原值；勾选后，文件更新的记录中这些数据项将被清空"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ".csv,.txt,.xlsx,.json,.jsonl"
        self.fields["mode"].widget.attrs.pop("class", None)


class MappingForm(BootstrapMixin, forms.Form):
    """One select per file column: which data item it holds (or none). A column whose header is close to an item's
    name (`near`, ingest.mapping.near_matches) has the item proposed and must be answered: confirm the item, or
    choose 不导入. Items the file does not hold keep their values unless ticked in `empty_items` / `empty_all`."""

    mode = forms.ChoiceField(label=_("导入方式"), choices=JobMode.choices, widget=forms.RadioSelect)
    empty_all = forms.BooleanField(label=_("所有未包含的数据项都以空值替换"), required=False)
    empty_items = forms.MultipleChoiceField(
        label=_("以空值替换的数据项"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("只对文件未包含（没有对应列）的数据项有效；未勾选的保留原值"),
    )

    def __init__(self, *args, columns: list[str], item_names: list[str], initial_mapping: dict[str, str],
                 near: dict[str, str] | None = None, key_item: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mode"].widget.attrs.pop("class", None)
        self.fields["empty_items"].choices = [(n, _("清空“%(n)s”") % {"n": n}) for n in item_names if n != key_item]
        self.fields["empty_items"].widget.attrs["class"] = "form-check-input"
        near = near or {}
        choices = [("", _("（不导入）")), *[(n, n) for n in item_names]]
        self.columns = []
        for i, column in enumerate(columns):
            if not column:
                continue
            name = f"col_{i}"
            field = forms.ChoiceField(label=column, choices=choices, required=False,
                                      initial=initial_mapping.get(column) or near.get(column, ""))
            if column in near:
                field.help_text = _("与信息项“%(n)s”相近，请确认：选择对应的信息项，或选“不导入”") % {"n": near[column]}
                field.near = near[column]
            self.fields[name] = field
            self.columns.append((name, column))

    def mapping(self) -> dict[str, str]:
        """Every column with its answer ("" = not loaded): the service needs the near-matching ones answered."""
        return {column: self.cleaned_data.get(name) or "" for name, column in self.columns}

    def column_fields(self):
        return [self[name] for name, _c in self.columns]
