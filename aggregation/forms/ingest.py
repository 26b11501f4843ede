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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ".csv,.txt,.xlsx,.json,.jsonl"
        self.fields["mode"].widget.attrs.pop("class", None)


class MappingForm(BootstrapMixin, forms.Form):
    """One select per file column: which data item it holds (or none)."""

    mode = forms.ChoiceField(label=_("导入方式"), choices=JobMode.choices, widget=forms.RadioSelect)

    def __init__(self, *args, columns: list[str], item_names: list[str], initial_mapping: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mode"].widget.attrs.pop("class", None)
        choices = [("", _("（不导入）")), *[(n, n) for n in item_names]]
        self.columns = []
        for i, column in enumerate(columns):
            if not column:
                continue
            name = f"col_{i}"
            self.fields[name] = forms.ChoiceField(
                label=column, choices=choices, required=False, initial=initial_mapping.get(column, "")
            )
            self.columns.append((name, column))

    def mapping(self) -> dict[str, str]:
        return {column: self.cleaned_data[name] for name, column in self.columns if self.cleaned_data.get(name)}

    def column_fields(self):
        return [self[name] for name, _c in self.columns]
