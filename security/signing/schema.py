"""The signature scheme in the OpenAPI document (a drf-spectacular extension; imported in SecurityConfig.ready)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ClientSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "security.signing.authentication.ClientSignatureAuthentication"
    name = "clientSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Signature",
            "description": (
                "接入系统签名：X-Client-Id、X-Timestamp（Unix 秒，±300 秒）、X-Nonce（16–64 位）、"
                "X-Signature = hex(HMAC-SHA256(secret, METHOD\\nPATH\\nSORTED_QUERY\\nTIMESTAMP\\nNONCE\\n"
                "hex(SHA-256(body))))"
            ),
        }
