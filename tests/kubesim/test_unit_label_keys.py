"""Label selector keys are validated like NewRequirement does (IsQualifiedName), with the real messages."""

from __future__ import annotations

import pytest

from kubesim.api.errors import ApiError
from kubesim.api.label_validation import qualified_name_errors
from kubesim.api.selectors import label_predicate

NAME_PART = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


@pytest.mark.parametrize("key", ["a", "A_b", "app.kubernetes.io/name", "x.y/Z-1", "a" * 63])
def test_valid_keys(key: str) -> None:
    assert qualified_name_errors(key) == []
    assert label_predicate(f"{key}=v")({"metadata": {"labels": {key: "v"}}})


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("-a=b", f'unable to parse requirement: <nil>: Invalid value: "-a": {NAME_PART}'),
        ("!a_", f'unable to parse requirement: <nil>: Invalid value: "a_": {NAME_PART}'),
        ("b- in (x)", f'unable to parse requirement: <nil>: Invalid value: "b-": {NAME_PART}'),
        ("/a", 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'),
        (
            "a" * 64,
            f'unable to parse requirement: <nil>: Invalid value: "{"a" * 64}": '
            "name part must be no more than 63 characters",
        ),
        (
            "Ex.com/a",
            'unable to parse requirement: <nil>: Invalid value: "Ex.com/a": prefix part a lowercase RFC 1123 '
            "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
            "with an alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ),
    ],
)
def test_invalid_keys_are_400(selector: str, message: str) -> None:
    with pytest.raises(ApiError) as info:
        label_predicate(selector)
    assert info.value.code == 400
    assert info.value.message == message


def test_more_than_one_slash() -> None:
    (message,) = qualified_name_errors("a/b/c")
    assert message.startswith("a qualified name must consist of alphanumeric characters")
    assert message.endswith("with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")
