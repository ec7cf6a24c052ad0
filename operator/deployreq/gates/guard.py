"""The SSRF guard: every URL a user names is resolved and checked before the operator connects to it.

Gates let users make the operator send requests from inside the cluster, so a gate URL must not reach the
node's loopback, link-local or cloud-metadata endpoints. The guard:

- accepts only ``http`` and ``https`` URLs, parsed by httpx (the same parser that sends the request);
- reads odd IPv4 spellings as the C resolver would (decimal ``2130706433``, octal ``0177.0.0.1``, hex
  ``0x7f.0.0.1``, short ``127.1``) and strips IPv6 brackets and a trailing dot;
- refuses metadata host names by name, then resolves other names with ``loop.getaddrinfo`` (off the event
  loop) and refuses the URL when ANY resolved address is refused;
- checks addresses against ``--gate-deny-cidr`` (always wins), ``--gate-allow-cidr`` (overrides the built-in
  rules; a metadata address only by a single-address range) and the built-in rules: loopback, link-local,
  unspecified/this-network, multicast, reserved, cloud metadata; IPv4-mapped, IPv4-compatible, 6to4 and NAT64
  IPv6 forms are checked as the IPv4 address they carry;
- returns a :class:`Target` whose ``connect_url`` names the checked address, so the connection goes where the
  check looked (``Host`` header and TLS SNI keep the name). The DNS-rebinding window is therefore closed for
  every hop: each redirect hop is resolved, checked and pinned again by the caller.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace

import httpx

from deployreq.gates.base import GateError
from deployreq.gates.settings import GateSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``resolve(host, port)``: the addresses a name resolves to, as strings."""

ALLOW_HINT = "(allow it with --gate-allow-cidr)"

METADATA_SOURCES: dict[str, str] = {
    # Address: who serves it there, and where that is documented. Link-local ones are refused by the
    # link-local rule too; they are listed so an --gate-allow-cidr range never lets them through.
    "169.254.169.254": "instance metadata of AWS (IMDS), GCP, Azure (IMDS), OpenStack, DigitalOcean, Hetzner, "
    "IBM Cloud, Oracle Cloud, Exoscale (each provider's metadata-service documentation)",
    "169.254.170.2": "AWS ECS task metadata and credentials endpoint (ECS developer guide, task IAM roles)",
    "169.254.170.23": "AWS EKS Pod Identity agent (EKS user guide, EKS Pod Identity)",
    "169.254.0.23": "Tencent Cloud instance metadata (Tencent CVM documentation, instance metadata)",
    "100.100.100.200": "Alibaba Cloud ECS instance metadata (ECS documentation, instance metadata)",
    "192.0.0.192": "Oracle Cloud Infrastructure legacy metadata endpoint (OCI documentation, instance metadata)",
    "168.63.129.16": "Azure WireServer / host platform endpoint (Azure documentation, what is IP 168.63.129.16)",
    "fd00:ec2::254": "AWS IMDS over IPv6 on Nitro instances (EC2 user guide, IMDS IPv6 endpoint)",
    "fd00:ec2::23": "AWS EKS Pod Identity agent over IPv6 (EKS user guide, EKS Pod Identity)",
    "fd00:ec2::253": "AWS Route 53 Resolver over IPv6 on Nitro instances (VPC user guide, Amazon DNS server)",
    "fd00:ec2::123": "Amazon Time Sync Service over IPv6 (EC2 user guide, time reference)",
    "fd20:ce::254": "GCP metadata server over IPv6 (Compute Engine documentation, IPv6 metadata server)",
    "fe80::a9fe:a9fe": "OpenStack metadata over IPv6 link-local (OpenStack Nova metadata service)",
}
"""Every cloud metadata or platform address we know of, with its source. Unique-local IPv6 (``fd00::/8``) is
allowed by design, so the IPv6 metadata addresses must be named one by one."""

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(ipaddress.ip_address(a) for a in METADATA_SOURCES)
METADATA_HOSTS: frozenset[str] = frozenset(
    (
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
        "api.metadata.cloud.ibm.com",
        "metadata.oraclecloud.com",
    )
)

_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class RefusedError(GateError):
    """The guard refused a URL; the message names the rule and never retrying changes it."""

    def __init__(self, message: str) -> None:
        super().__init__(f"refused: {message}", final=True)


@dataclass(frozen=True)
class Target:
    """A checked URL: ``url`` as written, ``connect_url`` with the host replaced by the checked address."""

    url: httpx.URL
    connect_url: httpx.URL
    host: str
    address: str


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the system resolver, in the loop's executor (never blocks the event loop)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise GateError(f"cannot resolve {host}: {exc.strerror}") from None
    return [str(info[4][0]) for info in infos]


def parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """The address ``inet_aton`` reads from ``host`` (decimal, octal, hex, 1-4 parts), or None."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        try:
            if part[:2].lower() == "0x":
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part[1:], 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            return None
    if any(n < 0 for n in numbers) or any(n > 255 for n in numbers[:-1]):
        return None
    last_bits = 8 * (5 - len(numbers))
    if numbers[-1] >= 1 << last_bits:
        return None
    value = 0
    for n in numbers[:-1]:
        value = value << 8 | n
    value = value << last_bits | numbers[-1]
    return ipaddress.IPv4Address(value)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host spells, however oddly, or None for a name."""
    host = host.strip("[]").rstrip(".")
    if "%" in host:  # an IPv6 zone: the address without it decides
        host = host.split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        return parse_ipv4_loose(host)
    return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def builtin_rule(address: IPAddress) -> str | None:
    """The built-in rule refusing ``address`` (as a phrase), or None."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            rule = builtin_rule(inner)
            return f"{rule} (as {inner})" if rule else None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified or (isinstance(address, ipaddress.IPv4Address) and address in _THIS_NETWORK):
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved or address == ipaddress.IPv4Address("255.255.255.255"):
        return "a reserved address"
    return None


def _networks(cidrs: Iterable[str], flag: str) -> tuple[IPNetwork, ...]:
    nets: list[IPNetwork] = []
    for cidr in cidrs:
        try:
            nets.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{flag} {cidr!r} is not a CIDR") from None
    return tuple(nets)


def _contains(net: IPNetwork, address: IPAddress) -> bool:
    if net.version == address.version:
        return address in net
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        return inner is not None and inner in net
    return False


@dataclass(frozen=True)
class Guard:
    """Checks URLs and addresses against the operator's allow/deny flags and the built-in rules."""

    allow: tuple[IPNetwork, ...] = ()
    deny: tuple[IPNetwork, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False)
    metadata_hosts: frozenset[str] = METADATA_HOSTS
    api_server: frozenset[tuple[IPAddress, int]] = frozenset()
    """The Kubernetes API server's (address, port) pairs: always refused, whatever the flags allow, so that
    no gate makes the operator call the API on a user's behalf."""

    @classmethod
    def from_flags(
        cls,
        allow_cidrs: Iterable[str] = (),
        deny_cidrs: Iterable[str] = (),
        resolver: Resolver | None = None,
        extra_metadata_hosts: Iterable[str] = (),
    ) -> Guard:
        """Raises ValueError naming the flag when a CIDR does not parse."""
        return cls(
            allow=_networks(allow_cidrs, "--gate-allow-cidr"),
            deny=_networks(deny_cidrs, "--gate-deny-cidr"),
            resolver=resolver or system_resolver,
            metadata_hosts=METADATA_HOSTS | {h.lower().rstrip(".") for h in extra_metadata_hosts},
        )

    @classmethod
    def from_settings(cls, settings: GateSettings, resolver: Resolver | None = None) -> Guard:
        """The guard the operator's flags describe."""
        return cls.from_flags(
            settings.allow_cidrs, settings.deny_cidrs, resolver, settings.extra_metadata_hosts
        )

    def with_api_server(self, endpoints: Iterable[tuple[IPAddress, int]]) -> Guard:
        """This guard refusing the API server's endpoints too (see :func:`api_server_endpoints`)."""
        return replace(self, api_server=self.api_server | frozenset(endpoints))

    def refusal(self, address: IPAddress, port: int | None = None) -> str | None:
        """Why ``address`` (at ``port``) is refused, naming the rule; None when it may be reached."""
        if port is not None and any(_same(address, a) and port == p for a, p in self.api_server):
            return f"{address}:{port} is the Kubernetes API server (gates never call the API)"
        for net in self.deny:
            if _contains(net, address):
                return f"{address} is in {net}, denied by --gate-deny-cidr"
        rule = builtin_rule(address)
        if rule is None:
            return None
        metadata = rule.startswith("a cloud metadata")
        for net in self.allow:
            if _contains(net, address) and (not metadata or net.num_addresses == 1):
                return None
        if metadata:
            return f"{address} is {rule} (allow it with --gate-allow-cidr {address}/{address.max_prefixlen})"
        return f"{address} is {rule} {ALLOW_HINT}"

    async def check_url(self, url: str | httpx.URL) -> Target:
        """The checked target of ``url``; RefusedError naming the rule, GateError when it does not resolve."""
        parsed = _parse(url)
        if parsed.scheme not in ("http", "https"):
            raise RefusedError(f"scheme {parsed.scheme or '(none)'!r} is not allowed (only http and https)")
        host = parsed.host.lower().rstrip(".")
        if not host:
            raise RefusedError("the URL has no host")
        literal = literal_address(host)
        if literal is None and host in self.metadata_hosts:
            raise RefusedError(f"{host} is a cloud metadata host name")
        if parsed.userinfo:
            await self._address(host, literal, parsed.port or _default_port(parsed.scheme))
            raise RefusedError("credentials in the URL are not allowed (send them in a header from a Secret)")
        address = await self._address(host, literal, parsed.port or _default_port(parsed.scheme))
        return Target(
            url=parsed, connect_url=parsed.copy_with(host=str(address)), host=host, address=str(address)
        )

    async def _address(self, host: str, literal: IPAddress | None, port: int) -> IPAddress:
        if literal is not None:
            candidates = [literal]
        else:
            resolved = await self.resolver(host, port)
            if not resolved:
                raise GateError(f"cannot resolve {host}: no addresses")
            candidates = []
            for text in resolved:
                found = literal_address(text)
                if found is None:
                    raise GateError(f"cannot resolve {host}: {text!r} is not an address")
                candidates.append(found)
        for candidate in candidates:
            reason = self.refusal(candidate, port)
            if reason is not None:
                raise RefusedError(reason if literal is not None else f"{host} resolves to {reason}")
        return candidates[0]


def _same(a: IPAddress, b: IPAddress) -> bool:
    """Equal addresses, an IPv4 address and the IPv6 form carrying it included."""
    if a == b:
        return True
    a4 = embedded_ipv4(a) if isinstance(a, ipaddress.IPv6Address) else a
    b4 = embedded_ipv4(b) if isinstance(b, ipaddress.IPv6Address) else b
    return a4 is not None and a4 == b4


async def api_server_endpoints(
    server_urls: Iterable[str], resolver: Resolver | None = None
) -> frozenset[tuple[IPAddress, int]]:
    """The (address, port) pairs of the API server URLs (the kubeconfig's server, the in-cluster Service).

    A name that does not resolve adds nothing: the operator then cannot reach it either.
    """
    resolve = resolver or system_resolver
    found: set[tuple[IPAddress, int]] = set()
    for server in server_urls:
        try:
            url = httpx.URL(server)
        except httpx.InvalidURL:
            continue
        if not url.host:
            continue
        port = url.port or _default_port(url.scheme)
        literal = literal_address(url.host)
        if literal is not None:
            found.add((literal, port))
            continue
        try:
            addresses = await resolve(url.host, port)
        except GateError:
            continue
        found.update((a, port) for a in map(literal_address, addresses) if a is not None)
    return frozenset(found)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _parse(url: str | httpx.URL) -> httpx.URL:
    if isinstance(url, httpx.URL):
        return url
    try:
        return httpx.URL(url)
    except httpx.InvalidURL as exc:
        # httpx refuses some spellings (e.g. octal parts); name the rule when the host is a refused address.
        try:
            host = urllib.parse.urlsplit(url).hostname or ""
        except ValueError:
            host = ""
        address = literal_address(host)
        rule = builtin_rule(address) if address is not None else None
        if address is not None and rule is not None:
            raise RefusedError(f"{host} is {address}, {rule} {ALLOW_HINT}") from None
        raise GateError(f"invalid URL: {exc}", final=True) from None
