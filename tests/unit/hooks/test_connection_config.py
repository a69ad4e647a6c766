"""PinterestConnectionConfig: the token Variable's key and its former name, and the secrets to mask."""

from __future__ import annotations

import base64

import pytest

from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.hooks.connection_config import PinterestConnectionConfig

EXTRA = {"client_id": "1234567", "client_secret": "s3cret", "refresh_token": "r"}


def config(**extra: object) -> PinterestConnectionConfig:
    return PinterestConnectionConfig.from_fields("pinterest_default", "", None, {**EXTRA, **extra})


def test_the_token_variable_is_read_from_oauth_variable() -> None:
    assert config(oauth_variable="pinterest_tokens").oauth_variable == "pinterest_tokens"


def test_the_former_key_still_works_with_a_warning_naming_the_new_one() -> None:
    with pytest.warns(FutureWarning, match="'refresh_token_variable' is deprecated.*'oauth_variable'"):
        loaded = config(refresh_token_variable="pinterest_tokens")

    assert loaded.oauth_variable == "pinterest_tokens"
    assert loaded.can_refresh


def test_both_keys_naming_different_variables_is_refused() -> None:
    with pytest.raises(PinterestInvalidArgumentError, match=r"'oauth_variable'.*two different Variables"):
        config(oauth_variable="a", refresh_token_variable="b")


def test_every_credential_is_listed_for_the_masker_including_the_basic_credential() -> None:
    basic = base64.b64encode(b"1234567:s3cret").decode()

    loaded = PinterestConnectionConfig.from_fields("c", "", "access", EXTRA)

    assert loaded.basic_credential == basic
    assert set(loaded.secrets()) == {"access", "s3cret", "r", basic}
