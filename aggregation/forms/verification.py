"""Web forms of the verification cases: filing with evidence files, the extension, the provider's answers."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin

from ..services.verification import MAX_EVIDENCE_FILES


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by the service (type, content, size)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.docx,.xlsx"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class VerificationFileForm(BootstrapMixin, forms.Form):
    fields_ = forms.MultipleChoiceField(label=_("有疑义的信息项"), widget=forms.CheckboxSelectMultiple)
    description = forms.CharField(
        label=_("疑义或错误说明"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000,
        help_text=_("说明哪里不对、依据是什么；如知道正确的值也请写明"),
    )
    evidence = MultipleFileField(
        label=_("证明材料"), required=False,
        help_text=_("PDF、JPG、PNG、DOCX、XLSX，每个不超过 10 MB，最多 %(n)d 个") % {"n": MAX_EVIDENCE_FILES},
    )

    def __init__(self, *args, item_names: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fields_"].choices = [(n, n) for n in item_names]
        self.fields["fields_"].widget.attrs.pop("class", None)


class CaseActionForm(BootstrapMixin, forms.Form):
    """One of the forms side by side on a verification case's page. Their element ids carry the form's `id_prefix`:
    the correction and the confirmation both have an "explanation", and with one shared id the label of the second
    pointed at the first form's field (field names, and so the POST handlers, are unchanged)."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class ExtensionRequestForm(CaseActionForm):
    id_prefix = "extension"

    working_days = forms.IntegerField(label=_("延长工作日数"), min_value=1, max_value=10, initial=10)
    reason = forms.CharField(label=_("延期理由"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class ExtensionDecideForm(CaseActionForm):
    id_prefix = "decide"

    approve = forms.TypedChoiceField(
        label=_("审批意见"), coerce=lambda v: v == "1", choices=[("1", _("同意延期")), ("0", _("不同意"))],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class ConfirmForm(CaseActionForm):
    id_prefix = "confirm"

    explanation = forms.CharField(
        label=_("核实情况说明"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000,
        help_text=_("说明核实的依据，数据为什么是正确的"),
    )


class CorrectForm(CaseActionForm):
    id_prefix = "correct"

    explanation = forms.CharField(
        label=_("更正说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=4000
    )

    def __init__(self, *args, items: list[str], current: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.item_fields = []
        for i, name in enumerate(items):
            field_name = f"item_{i}"
            self.fields[field_name] = forms.CharField(
                label=name, required=False, initial=current.get(name, ""), max_length=2000,
                widget=forms.TextInput(attrs={"class": "form-control"}),
            )
            self.item_fields.append((field_name, name))

    def values(self) -> dict:
        return {name: self.cleaned_data.get(field, "") for field, name in self.item_fields}
