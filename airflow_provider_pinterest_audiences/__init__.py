"""Apache Airflow provider for Pinterest audiences.

Kept import-light on purpose: Airflow's ProvidersManager imports this module in every component.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_pinterest_audiences.connection_form import CONN_FIELDS, UI_FIELD_BEHAVIOUR

__version__ = "0.1.0"

PACKAGE = "airflow_provider_pinterest_audiences"


def get_provider_info() -> dict[str, Any]:
    """Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": "airflow-provider-pinterest-audiences",
        "name": "Pinterest Audiences",
        "description": "Build, refresh and target Pinterest ad audiences from Airflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Pinterest",
                "external-doc-url": "https://developers.pinterest.com/docs/api/v5/",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": "Pinterest", "python-modules": [f"{PACKAGE}.hooks.pinterest"]}],
        "operators": [
            {
                "integration-name": "Pinterest",
                "python-modules": [
                    f"{PACKAGE}.operators.customer_list",
                    f"{PACKAGE}.operators.audience",
                    f"{PACKAGE}.operators.ad_group",
                    f"{PACKAGE}.operators.share",
                    f"{PACKAGE}.operators.erase",
                ],
            }
        ],
        "sensors": [{"integration-name": "Pinterest", "python-modules": [f"{PACKAGE}.sensors.audience"]}],
        "triggers": [{"integration-name": "Pinterest", "python-modules": [f"{PACKAGE}.triggers.audience"]}],
        "extra-links": [f"{PACKAGE}.links.PinterestAudienceLink"],
        "connection-types": [
            {
                "connection-type": "pinterest",
                "hook-class-name": f"{PACKAGE}.hooks.pinterest.PinterestHook",
                "hook-name": "Pinterest",
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONN_FIELDS,
            }
        ],
    }
