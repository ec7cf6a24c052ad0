"""A pod's projected ServiceAccount token rotates (the kubelet rewrites the file): the client re-reads it, as
client-go does, instead of keeping the one it started with until the API server refuses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployreq.cluster import kube
from deployreq.cluster.credentials import Credentials


def test_a_rotated_token_is_used_after_the_reread_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    client = kube.Kube(Credentials(server="https://127.0.0.1:1", token="first", token_file=str(token)))
    assert client.authorization() == {"Authorization": "Bearer first"}
    token.write_text("second\n")
    assert client.authorization() == {"Authorization": "Bearer first"}  # not on every request
    monkeypatch.setattr(kube, "TOKEN_REREAD_SECONDS", -1.0)
    assert client.authorization() == {"Authorization": "Bearer second"}


def test_an_unreadable_token_file_keeps_the_last_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kube, "TOKEN_REREAD_SECONDS", -1.0)
    client = kube.Kube(
        Credentials(server="https://127.0.0.1:1", token="kept", token_file=str(tmp_path / "missing"))
    )
    assert client.authorization() == {"Authorization": "Bearer kept"}


def test_no_token_sends_no_authorization_header() -> None:
    assert kube.Kube(Credentials(server="http://127.0.0.1:1")).authorization() == {}


def test_credentials_never_print_the_token() -> None:
    assert "s3cret" not in repr(Credentials(server="https://x", token="s3cret"))


def test_the_operators_identity_is_its_tokens_subject() -> None:
    import base64
    import json

    from deployreq.cluster.credentials import token_subject

    claims = {"sub": "system:serviceaccount:deployreq-system:deployreq", "aud": ["x"]}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    assert token_subject(f"eyJhbGciOiJSUzI1NiJ9.{payload}.sig") == claims["sub"]
    assert token_subject("a-static-token") is None
    assert token_subject("a.!!!.c") is None
    assert token_subject(None) is None
