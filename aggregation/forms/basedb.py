"""Web form of the base databases: a subject key to look up (posted, so it never sits in a URL or log)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BootstrapMixin


class SubjectLookupForm(BootstrapMixin, forms.Form):
    key = forms.CharField(label=_("主体标识"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
