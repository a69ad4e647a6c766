"""A scripted flow through Pinterest's official Python SDK (``pinterest-api-sdk``), run in the SDK's own venv.

``python sdk_flow.py CONFIG_JSON`` prints one JSON line per SDK call: ``{"call", "passed", "detail",
"requests"}``, ``requests`` being the ``METHOD /path STATUS`` of each HTTP request the call sent (ids as
``{id}``).
It never stops at a failed call: later calls run with whatever the earlier ones produced.
CONFIG_JSON holds ``base_url, client_id, client_secret, refresh_token, ad_account_id, recipient_account_id,
undeclared_account_id, business_id``. Imports of the SDK happen after ``PINTEREST_API_URI`` is set, since the
SDK reads it at import time.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable
from typing import Any

REQUESTS: list[str] = []  # the current call's requests


def record_requests() -> None:
    """Note every request the SDK sends (through urllib3, for the API and the token alike) in ``REQUESTS``."""
    import urllib3

    urlopen = urllib3.PoolManager.urlopen

    def recording(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        response = urlopen(self, method, url, *args, **kwargs)
        path = re.sub(r"/\d+(?=/|$)", "/{id}", urllib3.util.parse_url(url).path or "")
        REQUESTS.append(f"{method} {path} {response.status}")
        return response

    urllib3.PoolManager.urlopen = recording  # type: ignore[method-assign]


def call(name: str, action: Callable[[], Any]) -> Any:
    """Run one SDK call, print its row, and return its result (None when it raised)."""
    REQUESTS.clear()
    try:
        result = action()
    except Exception as error:  # the flow reports every failure and goes on
        row = {"call": name, "passed": False, "detail": f"{type(error).__name__}: {error}"[:600]}
        result = None
    else:
        row = {"call": name, "passed": True, "detail": ""}
    row["requests"] = list(REQUESTS)
    print(json.dumps(row), flush=True)
    return result


def expect(condition: bool, message: str) -> None:
    """Fail the current call when the SDK's answer is not what the flow expects."""
    if not condition:
        raise AssertionError(message)


def main(config: dict[str, str]) -> None:
    os.environ["PINTEREST_API_URI"] = config["base_url"]
    record_requests()
    from openapi_generated.pinterest_client.api.ad_accounts_api import AdAccountsApi
    from openapi_generated.pinterest_client.api.ad_groups_api import AdGroupsApi
    from openapi_generated.pinterest_client.api.audience_sharing_api import AudienceSharingApi
    from openapi_generated.pinterest_client.api.audiences_api import AudiencesApi
    from openapi_generated.pinterest_client.exceptions import ApiException
    from openapi_generated.pinterest_client.model.ad_group_audience_sizing_request import (
        AdGroupAudienceSizingRequest,
    )
    from openapi_generated.pinterest_client.model.ad_group_update_request import AdGroupUpdateRequest
    from openapi_generated.pinterest_client.model.audience_account_type import AudienceAccountType
    from openapi_generated.pinterest_client.model.audience_update_operation_type import (
        AudienceUpdateOperationType,
    )
    from openapi_generated.pinterest_client.model.audience_update_request import AudienceUpdateRequest
    from openapi_generated.pinterest_client.model.business_shared_audience import BusinessSharedAudience
    from openapi_generated.pinterest_client.model.operation_type import OperationType
    from openapi_generated.pinterest_client.model.shared_audience import SharedAudience
    from openapi_generated.pinterest_client.model.targeting_spec import TargetingSpec
    from pinterest.ads.ad_accounts import AdAccount
    from pinterest.ads.ad_groups import AdGroup
    from pinterest.ads.audiences import Audience
    from pinterest.ads.customer_lists import CustomerList
    from pinterest.client import PinterestSDKClient

    account = config["ad_account_id"]
    recipient = config["recipient_account_id"]
    business = config["business_id"]

    client = call(
        "oauth/token: PinterestSDKClient.create_client_with_refresh_token",
        lambda: PinterestSDKClient.create_client_with_refresh_token(
            config["refresh_token"], config["client_id"], config["client_secret"]
        ),
    )
    if client is None:
        return

    def refused(action: Callable[[], Any], status: int) -> None:
        try:
            action()
        except ApiException as error:
            expect(error.status == status, f"expected HTTP {status}, got {error.status}: {error.body}")
            return
        raise AssertionError(f"expected HTTP {status}, the call succeeded")

    ad_account = call("ad_accounts/get: AdAccount(...)", lambda: AdAccount(account, client=client))
    call(
        "ad_accounts/get: an undeclared ad account answers 403",
        lambda: refused(lambda: AdAccount(config["undeclared_account_id"], client=client), 403),
    )
    call(
        "ad_accounts/list: AdAccountsApi.ad_accounts_list",
        lambda: expect(
            account in [item["id"] for item in AdAccountsApi(client).ad_accounts_list()["items"]],
            "the ad account is not listed",
        ),
    )

    # -- customer lists -------------------------------------------------------------------------------
    emails = [f"user{i}@example.com" for i in range(6)]
    customer_list = call(
        "customer_lists/create: CustomerList.create",
        lambda: CustomerList.create(account, "SDK list", ",".join(emails[:3]), "EMAIL", client=client),
    )
    list_id = customer_list.id if customer_list else "0"
    call(
        "customer_lists/update ADD (the spec's example shape, trailing comma): add_record",
        lambda: customer_list.add_record(",".join(emails[3:]) + ","),
    )
    call("customer_lists/update REMOVE: remove_record", lambda: customer_list.remove_record(emails[0]))
    call(
        "customer_lists/get: CustomerList(...)",
        lambda: expect(
            CustomerList(account, list_id, client=client).num_uploaded_user_records == 6,
            "num_uploaded_user_records is not 6",
        ),
    )
    call(
        "customer_lists/list: CustomerList.get_all",
        lambda: expect(
            list_id in [c.id for c in CustomerList.get_all(account, client=client)[0]], "list not listed"
        ),
    )
    call(
        "customer_lists/list: AdAccount.list_customer_lists",
        lambda: expect(list_id in [c.id for c in ad_account.list_customer_lists()[0]], "list not listed"),
    )

    # -- audiences ------------------------------------------------------------------------------------
    def create(audience_type: str, rule: dict[str, Any]) -> Any:
        return Audience.create(account, f"SDK {audience_type}", rule, audience_type, client=client)

    created = {
        audience_type: call(
            f"audiences/create {audience_type}: Audience.create",
            functools.partial(create, audience_type, rule),
        )
        for audience_type, rule in (
            ("CUSTOMER_LIST", {"customer_list_id": list_id}),
            ("VISITOR", {"visitor_source_id": "2613484614072", "retention_days": 30, "event": "checkout"}),
            ("ENGAGEMENT", {"engagement_domain": ["www.example.com"], "engagement_type": "click"}),
        )
    }
    seed = created["CUSTOMER_LIST"].id if created["CUSTOMER_LIST"] else "0"
    created["ACTALIKE"] = call(
        "audiences/create ACTALIKE: Audience.create",
        lambda: create("ACTALIKE", {"seed_id": [seed], "country": "US", "percentage": 5}),
    )
    audience_ids = {t: a.id for t, a in created.items() if a is not None}
    engaged = created["ENGAGEMENT"]
    engaged_id = audience_ids.get("ENGAGEMENT", "0")
    call(
        "audiences/get: Audience(...)",
        lambda: expect(
            Audience(account, engaged_id, client=client).audience_type == "ENGAGEMENT", "wrong type"
        ),
    )
    call(
        "audiences/list: Audience.get_all",
        lambda: expect(
            set(audience_ids.values()) <= {a.id for a in Audience.get_all(account, client=client)[0]},
            "audiences missing from the listing",
        ),
    )
    call(
        "audiences/list: AdAccount.list_audiences",
        lambda: expect(len(ad_account.list_audiences()[0]) == len(audience_ids), "wrong audience count"),
    )
    call(
        "audiences/update: Audience.update_fields",
        lambda: engaged.update_fields(
            client=client, name="SDK engagement, renamed", description="renamed by the SDK"
        ),
    )
    visitor_id = audience_ids.get("VISITOR", "0")
    call(
        "audiences/update REMOVE (archive): AudiencesApi.audiences_update",
        lambda: expect(
            AudiencesApi(client)
            .audiences_update(
                account,
                visitor_id,
                audience_update_request=AudienceUpdateRequest(
                    operation_type=AudienceUpdateOperationType("REMOVE")
                ),
            )
            .status
            == "ARCHIVED",
            "the archived audience is not ARCHIVED",
        ),
    )

    # -- ad groups ------------------------------------------------------------------------------------
    groups = call("ad_groups/list: AdGroup.get_all", lambda: AdGroup.get_all(account, client=client)[0])
    group_id = groups[0].id if groups else "0"
    group = call("ad_groups/get: AdGroup(...)", lambda: AdGroup(account, group_id, client=client))
    call(
        "ad_groups/update targeting_spec: AdGroup.update_fields",
        lambda: group.update_fields(
            client=client, targeting_spec={**group.targeting_spec.to_dict(), "audience_include": [engaged_id]}
        ),
    )

    def patch_back() -> None:
        read = AdGroupsApi(client).ad_groups_get(account, group_id).to_dict()
        read["targeting_spec"] = TargetingSpec(**{**read["targeting_spec"], "audience_exclude": [seed]})
        answer = AdGroupsApi(client).ad_groups_update(
            account, ad_group_update_request=[AdGroupUpdateRequest(**read, _check_type=False)]
        )
        expect(not answer["items"][0].get("exceptions"), f"the item failed: {answer['items'][0]}")

    call("ad_groups/update the whole ad group as read: AdGroupsApi.ad_groups_update", patch_back)
    call(
        "ad_groups/audience_sizing: AdGroupsApi.ad_groups_audience_sizing",
        lambda: AdGroupsApi(client).ad_groups_audience_sizing(
            account,
            ad_group_audience_sizing_request=AdGroupAudienceSizingRequest(
                targeting_spec=TargetingSpec(audience_include=[engaged_id])
            ),
        ),
    )

    # -- sharing --------------------------------------------------------------------------------------
    sharing = AudienceSharingApi(client)
    share = {"audience_id": engaged_id, "operation_type": OperationType("SHARE")}
    for name, update, body in (
        (
            "audiences/ad_accounts/shared SHARE: update_ad_account_to_ad_account_shared_audience",
            sharing.update_ad_account_to_ad_account_shared_audience,
            SharedAudience(**share, recipient_account_ids=[recipient]),
        ),
        (
            "audiences/businesses/shared SHARE: update_ad_account_to_business_shared_audience",
            sharing.update_ad_account_to_business_shared_audience,
            BusinessSharedAudience(**share, recipient_business_ids=[business]),
        ),
    ):
        call(name, functools.partial(update, account, body))

    def shared_with_only(account_type: str, expected: str) -> None:
        listed = sharing.ad_accounts_audiences_shared_accounts_list(
            account, engaged_id, AudienceAccountType(account_type)
        )["items"]
        expect(
            [item["account_id"] for item in listed] == [expected], f"{expected} is not the only one listed"
        )

    for account_type, expected in (("AD_ACCOUNT", recipient), ("BUSINESS_ACCOUNT", business)):
        call(
            f"audiences/shared/accounts {account_type}: ad_accounts_audiences_shared_accounts_list",
            functools.partial(shared_with_only, account_type, expected),
        )
    call(
        "audiences/list RECEIVED by the recipient: Audience.get_all(ownership_type=RECEIVED)",
        lambda: expect(
            [a.id for a in Audience.get_all(recipient, client=client, ownership_type="RECEIVED")[0]]
            == [engaged_id],
            "the shared audience is not received",
        ),
    )
    call(
        "businesses/{business_id}/audiences: shared_audiences_for_business_list",
        lambda: expect(
            [item["id"] for item in sharing.shared_audiences_for_business_list(business)["items"]]
            == [engaged_id],
            "the business does not list the shared audience",
        ),
    )


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
