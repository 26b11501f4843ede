"""Content negotiation that answers the API's common case without parsing headers."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

# Accept values for which DRF's negotiation picks the first renderer with its own media type: none at all (DRF reads
# it as */*; an empty header is another matter: DRF answers 406), */* (curl, most HTTP libraries) and the first
# renderer's type itself (the example client sends it).
_ANY = frozenset({None, "*/*"})


class FirstRendererNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with a shortcut: a request without a format override whose Accept is absent, `*/*` or the
    first renderer's media type gets that renderer at once — the answer DRF would give, without building the request's
    header map and parsing the Accept list (≈ 5 % of a signed online query's CPU). Anything else goes to DRF."""

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT")
        first = renderers[0] if renderers else None
        if (first is not None and not format_suffix and (accept in _ANY or accept == first.media_type)
                and self.settings.URL_FORMAT_OVERRIDE not in request.query_params):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
