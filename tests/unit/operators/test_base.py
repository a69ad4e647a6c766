"""What every task shares: the hook, ``hook_params``, the ad-account default, and verbatim template fields."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import BaseOperator

import airflow_provider_pinterest_audiences
from airflow_provider_pinterest_audiences.exceptions import PinterestInvalidArgumentError
from airflow_provider_pinterest_audiences.hooks.pinterest import PinterestHook
from airflow_provider_pinterest_audiences.hooks.rate_limit_waits import RateLimitWaits
from airflow_provider_pinterest_audiences.hooks.retry_policy import RetryPolicy
from airflow_provider_pinterest_audiences.operators.audience import PinterestArchiveAudienceOperator
from airflow_provider_pinterest_audiences.operators.base import (
    DEFAULT_CONN_ID,
    PinterestBaseOperator,
    PinterestHookMixin,
)
from airflow_provider_pinterest_audiences.sensors.audience import PinterestAudienceSensor
from tests.conftest import AD_ACCOUNT_ID, connection_json

ACCOUNT = "120123456789"


class Template(str):
    """A template string whose identity survives only if the task stores it as given."""


def task_classes() -> dict[str, type[BaseOperator]]:
    """Every operator and sensor class defined in the package's ``operators`` and ``sensors``."""
    found: dict[str, type[BaseOperator]] = {}
    for kind in ("operators", "sensors"):
        package = importlib.import_module(f"{airflow_provider_pinterest_audiences.__name__}.{kind}")
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ == module.__name__ and issubclass(cls, BaseOperator):
                    found[cls.__name__] = cls
    return found


HEALTH_GUARDS = {"sent_count": 1000, "min_audience_size": 100, "min_match_rate": 0.2}


def valid_arguments() -> dict[str, list[dict[str, Any]]]:
    """Literal, valid arguments per class: together its calls give every template field a value."""
    create = {
        "ad_account_id": ACCOUNT,
        "name": "Buyers",
        "description": "From the CRM",
        "poll_interval": timedelta(minutes=5),
        "wait_for_ready": True,
        **HEALTH_GUARDS,
    }
    return {
        "PinterestCreateAudienceOperator": [
            {**create, "audience_type": "VISITOR", "rule": {"visitor_source_id": "1", "lookback_window": 30}}
        ],
        "PinterestCreateCustomerListAudienceOperator": [{**create, "customer_list_id": "3969491"}],
        "PinterestCreateVisitorAudienceOperator": [
            {
                **create,
                "visitor_source_id": "2613484614072",
                "event": "checkout",
                "retention_days": 30,
                "event_source": ["web"],
                "ingestion_source": {"in": ["tag"]},
                "url": ["https://shop.example.com/"],
                "event_data": {"currency": "USD"},
                "extra_rule": {"lookback_window": 30},
            }
        ],
        "PinterestCreateEngagementAudienceOperator": [
            {
                **create,
                "engagement_domain": ["www.example.com"],
                "engagement_type": "save",
                "engager_type": 1,
                "retention_days": 60,
                "extra_rule": {"pin_id": ["7"]},
            }
        ],
        "PinterestCreateActalikeAudienceOperator": [
            {**create, "seed_audience_ids": ["11", "12"], "country": "CA", "percentage": 5}
        ],
        "PinterestUpdateAudienceOperator": [
            {
                "ad_account_id": ACCOUNT,
                "audience_id": "1",
                "name": "Renamed",
                "rule": {"customer_list_id": "2"},
                "description": "Renamed",
            }
        ],
        "PinterestArchiveAudienceOperator": [{"ad_account_id": ACCOUNT, "audience_id": "1"}],
        "PinterestUpdateAdGroupAudiencesOperator": [
            {
                "ad_account_id": ACCOUNT,
                "ad_group_ids": ["1", "2"],
                "include": ["3"],
                "exclude": ["4"],
                "min_reach": 1000,
            }
        ],
        "PinterestAudienceSensor": [
            {
                "ad_account_id": ACCOUNT,
                "audience_id": "1",
                "poll_interval": timedelta(minutes=5),
                **HEALTH_GUARDS,
            },
            {"customer_list_id": "2"},
        ],
        "PinterestUploadCustomerListOperator": [
            {"ad_account_id": ACCOUNT, "customer_list_name": "Buyers", "source": ["a@example.com"]},
            {
                "customer_list_id": "1",
                "sql": "SELECT email FROM customers",
                "sql_conn_id": "warehouse",
                "mode": "mirror",
                "state_path": "/tmp/pinterest/buyers.snapshot",
                "suppression_path": "/tmp/pinterest/erased.suppression",
            },
            {
                "source": "s3://crm/export.csv",
                "columns": {"EMAIL": "email", "MAID": "gaid"},
                "list_names": {"EMAIL": "Buyers by email", "MAID": "Buyers by device"},
            },
        ],
        "PinterestEraseCustomersOperator": [
            {"source": ["a@example.com"], "ad_account_ids": [ACCOUNT]},
            {
                "sql": "SELECT email FROM erasures",
                "sql_conn_id": "warehouse",
                "suppression_path": "/tmp/pinterest/erased.suppression",
                "state_paths": ["/tmp/pinterest/buyers.snapshot"],
            },
        ],
        "PinterestShareAudienceOperator": [
            {
                "ad_account_id": ACCOUNT,
                "audience_id": "1",
                "recipient_account_ids": ["549755885176"],
                "recipient_business_ids": ["5550001"],
            }
        ],
    }


TEMPLATED = sorted(name for name, cls in task_classes().items() if cls.template_fields)


def test_every_templated_task_class_is_covered_here() -> None:
    assert set(TEMPLATED) <= set(valid_arguments()), "add valid arguments for the new task class"
    assert "PinterestAudienceSensor" in TEMPLATED
    assert "PinterestCreateActalikeAudienceOperator" in TEMPLATED


@pytest.mark.parametrize("name", TEMPLATED)
def test_template_fields_are_stored_as_given(name: str) -> None:
    """Literal values and templates alike: Airflow renders the attributes the constructor assigned."""
    cls = task_classes()[name]
    calls = valid_arguments()[name]
    given = {field for arguments in calls for field in arguments}
    assert set(cls.template_fields) <= given

    for arguments in calls:
        task = cls(task_id="task", **arguments)
        for field in set(cls.template_fields) & set(arguments):
            assert getattr(task, field) is arguments[field], field
            template = Template(f"{{{{ params.{field} }}}}")
            templated = cls(task_id="task", **{**arguments, field: template})
            assert getattr(templated, field) is template, field


# -- the shared base ------------------------------------------------------------------------------


def test_operators_and_the_sensor_share_one_base() -> None:
    for name in TEMPLATED:
        assert issubclass(task_classes()[name], PinterestHookMixin), name
    assert issubclass(PinterestBaseOperator, PinterestHookMixin)


@pytest.mark.usefixtures("pinterest_conn")
def test_hook_is_made_once_with_the_connection_and_hook_params() -> None:
    policy = RetryPolicy(max_attempts=2)
    operator = PinterestArchiveAudienceOperator(
        task_id="a", audience_id="1", hook_params={"retry_policy": policy, "timeout": (1.0, 2.0)}
    )
    sensor = PinterestAudienceSensor(task_id="s", audience_id="1", hook_params={"retry_policy": policy})

    assert operator.hook is operator.hook
    assert (operator.hook.pinterest_conn_id, operator.hook.retry_policy) == ("pinterest_default", policy)
    assert operator.hook.timeout == (1.0, 2.0)
    assert sensor.hook.retry_policy is policy


@pytest.mark.usefixtures("pinterest_conn")
def test_new_hook_is_a_fresh_hook_with_hook_params_and_overrides() -> None:
    policy = RetryPolicy(max_attempts=2)
    waits = RateLimitWaits()
    for task in (
        PinterestArchiveAudienceOperator(task_id="a", audience_id="1", hook_params={"retry_policy": policy}),
        PinterestAudienceSensor(task_id="s", audience_id="1", hook_params={"retry_policy": policy}),
    ):
        fresh = task.new_hook(rate_limit_waits=waits)

        assert fresh is not task.hook
        assert (fresh.retry_policy, fresh.rate_limit_waits) == (policy, waits)
        assert task.hook.rate_limit_waits is not waits
        assert task.new_hook().pinterest_conn_id == PinterestHook.default_conn_name == DEFAULT_CONN_ID


@pytest.mark.usefixtures("pinterest_conn")
def test_ad_account_falls_back_to_the_connection_extra() -> None:
    assert (
        PinterestArchiveAudienceOperator(task_id="a", audience_id="1").resolve_ad_account_id()
        == AD_ACCOUNT_ID
    )
    explicit = PinterestAudienceSensor(task_id="s", audience_id="1", ad_account_id=ACCOUNT)
    assert explicit.resolve_ad_account_id() == ACCOUNT


def test_missing_ad_account_has_one_message_for_operators_and_the_sensor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_PINTEREST_DEFAULT", connection_json(ad_account_id=None))
    messages = set()
    for task in (
        PinterestArchiveAudienceOperator(task_id="a", audience_id="1"),
        PinterestAudienceSensor(task_id="s", audience_id="1"),
    ):
        with pytest.raises(PinterestInvalidArgumentError) as error:
            task.resolve_ad_account_id()
        messages.add(str(error.value))

    assert messages == {
        "Invalid argument 'ad_account_id': not given, and connection 'pinterest_default' has no "
        "'ad_account_id' extra; pass ad_account_id= or set the extra"
    }


@pytest.mark.usefixtures("pinterest_conn")
def test_a_rendered_ad_account_is_checked_before_any_call() -> None:
    sensor = PinterestAudienceSensor(task_id="s", audience_id="1", ad_account_id="{{ params.account }}")
    sensor.ad_account_id = "١٢٣"  # what rendering produced

    with pytest.raises(PinterestInvalidArgumentError, match="'ad_account_id': expected a numeric id"):
        sensor.resolve_ad_account_id()
