"""Signed calls of API clients (SPEC §9.1, R28.1). One concern per module:

scheme          the canonical request and its HMAC (shared with clients/jiaozuo_client.py), header formats
errors          the refusals, each with its stable code
principal       ClientPrincipal (`request.user` of a signed call), audit_actor
store           the call's one Redis round trip: nonce, rate counter, client-cache generation
clients         the process's copy of client rows, its invalidation, register_client_model
authentication  ClientSignatureAuthentication (DRF)
throttling      ClientRateThrottle (DRF)
schema          the drf-spectacular extension describing the scheme
"""
