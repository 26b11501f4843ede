"""FirstRendererNegotiation answers exactly what DRF's DefaultContentNegotiation answers."""

import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from portal.api.negotiation import FirstRendererNegotiation

ACCEPTS = [None, "", "*/*", "application/json", "text/html", "text/html,application/xhtml+xml,*/*;q=0.8",
           "application/json; indent=4", "application/*", "*/*;q=0.1,text/html"]


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api", "?x=1"])
def test_same_choice_as_drf(accept, query):
    factory = APIRequestFactory()
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    renderers = [JSONRenderer(), BrowsableAPIRenderer()]

    def choice(negotiation):
        request = Request(factory.get("/api/v1/me/" + query, **headers))
        try:
            renderer, media_type = negotiation.select_renderer(request, renderers)
        except NotAcceptable:
            return "406"
        return type(renderer), media_type

    assert choice(FirstRendererNegotiation()) == choice(DefaultContentNegotiation())


def test_the_shortcut_is_taken_for_the_common_case(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("DRF's negotiation was asked")

    monkeypatch.setattr(DefaultContentNegotiation, "select_renderer", refuse)
    request = Request(APIRequestFactory().get("/api/v1/me/", HTTP_ACCEPT="*/*"))
    renderer, media_type = FirstRendererNegotiation().select_renderer(request, [JSONRenderer(), BrowsableAPIRenderer()])
    assert isinstance(renderer, JSONRenderer) and media_type == "application/json"
