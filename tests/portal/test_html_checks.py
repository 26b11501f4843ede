"""The page checks the test settings run on every rendered page (portal.html_checks)."""

from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from portal.html_checks import HtmlIntegrityMiddleware, csp_problems, inline_code, problems


def test_a_sound_page_has_no_problems():
    assert problems('<label for="a">A</label><input id="a"><input type="date" name="d" value="2026-12-02" title="D">'
                    '<label>E <input type="date" name="e" value=""></label><select name="s" aria-label="S"></select>'
                    '<input type="hidden" name="h"><button type="submit">OK</button><input type="submit" value="OK">'
                    ) == []


def test_duplicate_ids_dangling_labels_and_localised_dates_are_named():
    found = problems('<form><label for="id_x">说明</label><textarea id="id_x"></textarea></form>'
                     '<form><label for="id_x">说明</label><textarea id="id_x"></textarea></form>'
                     '<label for="nowhere">?</label>'
                     '<label>起 <input type="date" name="valid_from" value="2026/12/02"></label>')
    assert found == ["id 'id_x' is used 2 times", "<label for='nowhere'> names no element",
                     "date input valid_from='2026/12/02' is not YYYY-MM-DD"]


def test_a_control_named_only_by_its_placeholder_or_a_heading_has_no_label():
    found = problems('<h2>驳回</h2><textarea name="reason"></textarea>'
                     '<input name="q" placeholder="搜索"><label for="other">x</label><select id="s" name="s"></select>'
                     '<input id="other">')
    assert found == ["<textarea name='reason'> has no label", "<input name='q'> has no label",
                     "<select name='s'> has no label"]


def test_template_content_is_not_part_of_the_page():
    # A formset's empty row lives in a <template> with the same ids as the row a script will make from it.
    assert problems('<input id="items-0-name" aria-label="名称"><template><input id="items-0-name"></template>') == []


def test_the_middleware_fails_a_bad_page_and_passes_others():
    request = RequestFactory().get("/x/")
    bad = HtmlIntegrityMiddleware(lambda r: HttpResponse('<i id="a"></i><b id="a"></b>'))
    with pytest.raises(AssertionError, match="/x/: id 'a' is used 2 times"):
        bad(request)
    json = HtmlIntegrityMiddleware(lambda r: HttpResponse('<i id="a"></i><b id="a"></b>', content_type="text/plain"))
    assert json(request).status_code == 200


def test_inline_script_and_style_are_named():
    found = inline_code('<script>alert(1)</script><script src="/static/a.js"></script>'
                        '<script type="application/json" id="d">{}</script><style>b{}</style>'
                        '<p style="color:red" onclick="x()">p</p><a href="javascript:void(0)">a</a>'
                        '<button hx-on:click="x()">b</button><template><i onmouseover="y()"></i></template>')
    assert found == ["inline <script> at <script>", "inline <style> element", "style attribute on <p>",
                     "onclick attribute on <p>", "javascript: URL in href of <a>", "hx-on:click attribute on <button>",
                     "onmouseover attribute on <i>"]
    assert inline_code('<a href="/x" data-confirm="确定？"><select data-autosubmit></select></a>') == []


def test_the_csp_header_must_be_there_and_refuse_inline_code():
    strict = "default-src 'self'; script-src 'self'; style-src 'self'"
    assert csp_problems("/", strict) == []
    assert csp_problems("/", None) == ["no Content-Security-Policy header"]
    assert csp_problems("/", "script-src 'self' 'unsafe-inline' 'unsafe-eval'") == [
        "script-src allows 'unsafe-inline'", "script-src allows 'unsafe-eval'"]
    assert csp_problems("/", "style-src 'self' 'unsafe-inline'") == ["style-src allows 'unsafe-inline'"]
    assert csp_problems("/api/redoc/", "style-src 'self' 'unsafe-inline'") == []  # the one scoped exception


def test_no_template_holds_inline_code():
    # Also the templates no test renders: their source, template tags and all, holds no inline script or style.
    for path in sorted(Path(settings.BASE_DIR, "templates").rglob("*.html")):
        assert inline_code(path.read_text()) == [], path
