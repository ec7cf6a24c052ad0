"""The SSRF guard: odd IP spellings, IPv6 forms, names resolving to refused addresses, redirects, flags."""

from __future__ import annotations

import httpx
import pytest

from deployreq.gates import GateSettings, Guard, RefusedError, run_stage
from deployreq.gates.guard import literal_address, system_resolver
from tests.unit.gates.fakes import FakeResolver, http_gate, make_env

REFUSED_URLS = {
    "http://127.0.0.1/": "127.0.0.1 is a loopback address (allow it with --gate-allow-cidr)",
    "http://2130706433/": "127.0.0.1 is a loopback address",
    "http://0x7f.0.0.1/": "127.0.0.1 is a loopback address",
    "http://0177.0.0.1/": "127.0.0.1, a loopback address",
    "http://127.1/": "127.0.0.1 is a loopback address",
    "http://127.0.0.1./": "127.0.0.1 is a loopback address",
    "http://good@127.0.0.1/": "127.0.0.1 is a loopback address",
    "http://[::1]:8080/": "::1 is a loopback address",
    "http://[::ffff:127.0.0.1]/": "is a loopback address (as 127.0.0.1)",
    "http://[::ffff:7f00:1]/": "is a loopback address (as 127.0.0.1)",
    "http://[::127.0.0.1]/": "is a loopback address (as 127.0.0.1)",
    "http://[fe80::1]/": "fe80::1 is a link-local address",
    "http://169.254.1.1/": "169.254.1.1 is a link-local address",
    "http://169.254.169.254/latest/meta-data/": "169.254.169.254 is a cloud metadata address",
    "http://0xa9fea9fe/": "169.254.169.254 is a cloud metadata address",
    "http://[fd00:ec2::254]/": "fd00:ec2::254 is a cloud metadata address",
    "http://[::ffff:169.254.169.254]/": "a cloud metadata address (as 169.254.169.254)",
    "http://100.100.100.200/": "100.100.100.200 is a cloud metadata address",
    "http://metadata.google.internal/computeMetadata/v1/": "google.internal is a cloud metadata host",
    "http://METADATA./": "metadata is a cloud metadata host name",
    "http://0.0.0.0/": "0.0.0.0 is an unspecified address",
    "http://0/": "0.0.0.0 is an unspecified address",
    "http://[::]/": ":: is an unspecified address",
    "http://224.0.0.1/": "224.0.0.1 is a multicast address",
    "http://[ff02::1]/": "ff02::1 is a multicast address",
    "file:///etc/passwd": "scheme 'file' is not allowed (only http and https)",
    "gopher://10.0.0.5/": "scheme 'gopher' is not allowed",
}


@pytest.mark.parametrize("url", sorted(REFUSED_URLS))
async def test_refused_urls_name_the_rule(url: str) -> None:
    guard = Guard.from_flags(resolver=FakeResolver())
    with pytest.raises(RefusedError) as info:
        await guard.check_url(url)
    assert REFUSED_URLS[url] in str(info.value)
    assert str(info.value).startswith("refused: ")
    assert info.value.final


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5:8080/healthz", "https://[fd12::5]/", "http://192.168.1.10/"]
)
async def test_cluster_addresses_pass(url: str) -> None:
    target = await Guard.from_flags(resolver=FakeResolver()).check_url(url)
    assert target.connect_url.host == target.address


async def test_a_name_resolving_to_a_refused_address_is_refused() -> None:
    resolver = FakeResolver({"evil.example.test": ["10.0.0.5", "127.0.0.1"]})
    with pytest.raises(RefusedError, match=r"evil\.example\.test resolves to 127\.0\.0\.1 is a loopback"):
        await Guard.from_flags(resolver=resolver).check_url("http://evil.example.test/")


async def test_a_name_is_pinned_to_the_address_checked() -> None:
    resolver = FakeResolver({"app.example.test": ["10.0.0.5"]})
    target = await Guard.from_flags(resolver=resolver).check_url("https://app.example.test:8443/x?y=1")
    assert str(target.connect_url) == "https://10.0.0.5:8443/x?y=1"
    assert (target.host, target.address) == ("app.example.test", "10.0.0.5")


async def test_userinfo_is_refused_even_for_a_good_host() -> None:
    with pytest.raises(RefusedError, match="credentials in the URL"):
        await Guard.from_flags(resolver=FakeResolver()).check_url("http://user:pw@10.0.0.5/")


async def test_allow_cidr_lets_loopback_through_and_deny_always_wins() -> None:
    allowing = Guard.from_flags(["127.0.0.0/8"], resolver=FakeResolver())
    assert (await allowing.check_url("http://127.0.0.1:9090/")).address == "127.0.0.1"
    assert (await allowing.check_url("http://[::ffff:127.0.0.1]/")).address == "::ffff:7f00:1"
    both = Guard.from_flags(["127.0.0.0/8"], ["127.0.0.0/24"], resolver=FakeResolver())
    with pytest.raises(RefusedError, match=r"127\.0\.0\.1 is in 127\.0\.0\.0/24, denied by --gate-deny-cidr"):
        await both.check_url("http://127.0.0.1/")
    denying = Guard.from_flags(deny_cidrs=["10.0.0.0/8"], resolver=FakeResolver())
    with pytest.raises(RefusedError, match="denied by --gate-deny-cidr"):
        await denying.check_url("http://10.1.2.3/")
    with pytest.raises(RefusedError, match="denied by --gate-deny-cidr"):
        await denying.check_url("http://[::ffff:10.1.2.3]/")


async def test_a_wide_allow_range_does_not_open_the_metadata_service() -> None:
    wide = Guard.from_flags(["169.254.0.0/16"], resolver=FakeResolver())
    assert (await wide.check_url("http://169.254.1.1/")).address == "169.254.1.1"
    with pytest.raises(RefusedError, match=r"allow it with --gate-allow-cidr 169\.254\.169\.254/32"):
        await wide.check_url("http://169.254.169.254/")
    exact = Guard.from_flags(["169.254.169.254/32"], resolver=FakeResolver())
    assert (await exact.check_url("http://169.254.169.254/")).address == "169.254.169.254"


def test_bad_cidr_flags_are_reported_by_flag() -> None:
    with pytest.raises(ValueError, match="--gate-deny-cidr 'nope' is not a CIDR"):
        Guard.from_flags(deny_cidrs=["nope"])


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("[::1]", "::1"),
        ("example.com", None),
        ("deadbeef", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
    ],
)
def test_literal_spellings_read_like_inet_aton(host: str, address: str | None) -> None:
    found = literal_address(host)
    assert (str(found) if found else None) == address


async def test_the_system_resolver_resolves_off_the_loop() -> None:
    assert "127.0.0.1" in await system_resolver("localhost", 80)


async def test_a_redirect_into_the_metadata_service_fails_the_gate_at_once() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    env = make_env(handler)
    result = await run_stage([http_gate(url="http://app.example.test/health")], "pre", env)
    assert not result.passed
    assert "refused: 169.254.169.254 is a cloud metadata address" in result.message
    assert seen == ["http://10.0.0.5/health"]
    await env.clients.aclose()


async def test_each_redirect_hop_is_resolved_checked_and_pinned() -> None:
    resolver = FakeResolver({"a.example.test": ["10.0.0.1"], "b.example.test": ["10.0.0.2"]})
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers["host"]))
        if request.url.host == "10.0.0.1":
            return httpx.Response(307, headers={"Location": "http://b.example.test:81/ok"})
        return httpx.Response(200)

    env = make_env(handler, resolver=resolver)
    result = await run_stage([http_gate(url="http://a.example.test/start")], "pre", env)
    assert result.passed, result.message
    assert seen == [
        ("http://10.0.0.1/start", "a.example.test"),
        ("http://10.0.0.2:81/ok", "b.example.test:81"),
    ]
    assert resolver.asked == ["a.example.test", "b.example.test"]
    await env.clients.aclose()


async def test_more_than_five_redirects_fail_the_check() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "/again"})

    env = make_env(handler)
    gate = http_gate(url="http://app.example.test/") | {"failureThreshold": 1}
    result = await run_stage([gate], "pre", env)
    assert "more than 5 redirects" in result.message
    await env.clients.aclose()


async def test_allow_flags_reach_the_guard_through_settings() -> None:
    settings = GateSettings(allow_cidrs=("127.0.0.0/8",))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    env = make_env(handler, settings=settings)
    assert (await run_stage([http_gate(url="http://127.0.0.1:8080/")], "pre", env)).passed
    await env.clients.aclose()


async def test_the_guard_of_the_settings_knows_extra_metadata_names() -> None:
    settings = GateSettings(deny_cidrs=("10.9.0.0/16",), extra_metadata_hosts=("meta.internal.",))
    guard = Guard.from_settings(settings, resolver=FakeResolver())
    with pytest.raises(RefusedError, match=r"meta\.internal is a cloud metadata host name"):
        await guard.check_url("http://meta.internal/")
    with pytest.raises(RefusedError, match="denied by --gate-deny-cidr"):
        await guard.check_url("http://10.9.1.1/")
