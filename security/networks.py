"""IP networks written as CIDR (R28 / 等保 8.1.4.2: access limited by source address): reading what a person typed,
and matching a source address against a parsed set.

`parse_networks` is the one reading of a list of networks (the API-client form, the service that stores them): every
entry an IPv4 or IPv6 address or network in ASCII, normalised to its network (`10.1.2.3/24` → `10.1.2.0/24`, a lone
address → `/32` or `/128`), duplicates dropped, order kept. `NetworkSet` is the parsed form a signed call is checked
against (built once when a client row is loaded, not per call).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.validators import safe_text

MAX_NETWORKS = 50
# What a CIDR may be made of: hex digits, dots, colons, one slash. Anything else (a NUL, full-width digits, a zone
# id `%eth0`, spaces inside) is refused before ipaddress sees it.
_CIDR_CHARS = re.compile(r"[0-9A-Fa-f.:]{2,39}(?:/[0-9]{1,3})?")
_SEPARATORS = re.compile(r"[\s,;，；、]+")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def split_networks(text: str) -> list[str]:
    """The entries of a text a person typed: one per line, or separated by commas, semicolons or blanks."""
    return [part for part in _SEPARATORS.split(text or "") if part]


def parse_network(value: str) -> Network:
    """One entry as its network; ValidationError (Chinese, naming the entry, cut short) when it is none."""
    text = (value or "").strip()
    shown = safe_text(text, 45) + ("…" if len(text) > 45 else "")  # no NUL or control character in a message
    if not _CIDR_CHARS.fullmatch(text):
        raise ValidationError(_("“%(value)s”不是有效的 IP 地址或网段（CIDR，如 10.1.2.0/24、2001:db8::/32）")
                              % {"value": shown}, code="invalid")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValidationError(_("“%(value)s”不是有效的 IP 地址或网段（CIDR，如 10.1.2.0/24、2001:db8::/32）")
                              % {"value": shown}, code="invalid") from None


def parse_networks(values: Iterable[str] | str) -> list[str]:
    """The normalised CIDR texts of `values` (a list, or a text split by split_networks); ValidationError listing
    every bad entry, or when there are more than MAX_NETWORKS."""
    entries = split_networks(values) if isinstance(values, str) else [str(v) for v in values]
    if len(entries) > MAX_NETWORKS:
        raise ValidationError(_("最多填写 %(n)d 个网段") % {"n": MAX_NETWORKS}, code="too_many")
    found: list[str] = []
    problems: list[ValidationError] = []
    for entry in entries:
        try:
            text = str(parse_network(entry))
        except ValidationError as exc:
            problems.append(exc)
            continue
        if text not in found:
            found.append(text)
    if problems:
        raise ValidationError(problems)
    return found


class NetworkSet:
    """Parsed networks, matched against a source address (IPv4, IPv6, or IPv6-mapped IPv4)."""

    __slots__ = ("_v4", "_v6")

    def __init__(self, cidrs: Iterable[str]):
        networks = [ipaddress.ip_network(c, strict=False) for c in cidrs]
        self._v4 = tuple(n for n in networks if n.version == 4)
        self._v6 = tuple(n for n in networks if n.version == 6)

    def __contains__(self, address: str | None) -> bool:
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if ip.version == 6:
            mapped = ip.ipv4_mapped
            if mapped is None:
                return any(ip in n for n in self._v6)
            ip = mapped
        return any(ip in n for n in self._v4)
