"""The Excel import form: one uploaded workbook."""

from django import forms
from django.utils.translation import gettext_lazy


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("目录清单文件（.xlsx）"),
        help_text=gettext_lazy("使用本页下载的模板填写；单个文件不超过 20 MB。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx", "class": "form-control"}),
    )


class DemandImportForm(ImportForm):
    file = forms.FileField(
        label=gettext_lazy("需求清单文件（.xlsx）"),
        help_text=gettext_lazy("使用本页下载的需求清单模板填写；单个文件不超过 20 MB。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx", "class": "form-control"}),
    )
