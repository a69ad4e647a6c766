"""OpenLineage datasets of this provider's tasks, for ``get_openlineage_facets_on_complete``.

Imported only by those methods, which Airflow calls only when apache-airflow-providers-openlineage is
installed. Pinterest objects are datasets in the ``pinterest`` namespace named by id, e.g.
``ad_accounts/549755885175/customer_lists/3969491``; an upload's input is the file, object-storage
path or SQL tables it read (an XCom list of identifiers has none). Facets carry counts and ids only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import attr
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.generated.base import InputDataset, InputDatasetFacet, OutputDataset
from openlineage.client.generated.input_statistics_input_dataset import InputStatisticsInputDatasetFacet
from openlineage.client.generated.output_statistics_output_dataset import OutputStatisticsOutputDatasetFacet

NAMESPACE = "pinterest"
_FACET_SCHEMA = "https://github.com/airflow-provider-pinterest-audiences/schemas/PinterestUploadFacet.json"


@attr.define
class PinterestUploadInputFacet(InputDatasetFacet):
    """What an upload made of its source: rows read, valid identifiers, invalid rows by reason."""

    read: int
    valid: int
    invalid: dict[str, int] = attr.field(factory=dict)
    _additional_skip_redact: ClassVar[list[str]] = ["read", "valid", "invalid"]

    @staticmethod
    def _get_schema() -> str:
        return _FACET_SCHEMA


def pinterest_name(ad_account_id: str, kind: str, object_id: str) -> str:
    """``ad_accounts/<account>/<kind>/<id>``: a dataset name in the ``pinterest`` namespace."""
    return f"ad_accounts/{ad_account_id}/{kind}/{object_id}"


def pinterest_inputs(ad_account_id: str, kind: str, object_ids: Iterable[str]) -> list[InputDataset]:
    return [InputDataset(NAMESPACE, pinterest_name(ad_account_id, kind, str(i))) for i in object_ids]


def pinterest_outputs(ad_account_id: str, kind: str, object_ids: Iterable[str]) -> list[OutputDataset]:
    return [OutputDataset(NAMESPACE, pinterest_name(ad_account_id, kind, str(i))) for i in object_ids]


def source_location(source: Any) -> tuple[str, str] | None:
    """``(namespace, name)`` of a file or URI: ``("file", "/abs/path")``, ``("s3://bucket", "key")``."""
    if not isinstance(source, str | os.PathLike):
        return None  # identifiers from an XCom or the DAG itself: no dataset
    text = str(source)
    parts = urlsplit(text)
    if parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")
    if parts.scheme == "file":
        return "file", parts.path
    return "file", os.path.abspath(text)


def sql_tables(sql: str, sql_conn_id: str) -> list[tuple[str, str]]:
    """``(namespace, table)`` of each table the query reads; the namespace from the connection."""
    from airflow.providers.common.compat.sdk import BaseHook
    from openlineage_sql import parse

    conn = BaseHook.get_connection(sql_conn_id)
    authority = f"{conn.host or ''}{f':{conn.port}' if conn.port else ''}" or sql_conn_id
    namespace = f"{conn.conn_type}://{authority}"
    meta = parse([sql])
    tables = meta.in_tables if meta is not None else []
    return [(namespace, table.qualified_name) for table in tables]


def upload_lineage(
    ad_account_id: str, locations: list[tuple[str, str]], summary: Mapping[str, Any] | None
) -> OperatorLineage:
    """Inputs: the source's ``locations`` with the read counts; output: the customer list."""
    summary = summary or {}
    input_facets: dict[str, InputDatasetFacet] = {}
    if "read" in summary:
        invalid = dict(summary.get("invalid") or {})
        input_facets = {
            "inputStatistics": InputStatisticsInputDatasetFacet(rowCount=summary["read"]),
            "pinterestUpload": PinterestUploadInputFacet(summary["read"], summary.get("valid", 0), invalid),
        }
    inputs = [InputDataset(namespace, name, inputFacets=input_facets) for namespace, name in locations]
    list_id = summary.get("customer_list_id")
    outputs = []
    if list_id is not None and not summary.get("dry_run"):
        sent = int(summary.get("added", 0)) + int(summary.get("removed", 0))
        outputs = [
            OutputDataset(
                NAMESPACE,
                pinterest_name(ad_account_id, "customer_lists", str(list_id)),
                outputFacets={"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=sent)},
            )
        ]
    return OperatorLineage(inputs=inputs, outputs=outputs)


def audience_lineage(ad_account_id: str, audience_id: str, rule: Mapping[str, Any]) -> OperatorLineage:
    """Inputs: the customer list or seed audiences of the rule; output: the audience."""
    inputs: list[InputDataset] = []
    if rule.get("customer_list_id"):
        inputs = pinterest_inputs(ad_account_id, "customer_lists", [str(rule["customer_list_id"])])
    seeds = rule.get("seed_id") or []
    inputs += pinterest_inputs(ad_account_id, "audiences", [str(seed) for seed in seeds])
    return OperatorLineage(
        inputs=inputs, outputs=pinterest_outputs(ad_account_id, "audiences", [audience_id])
    )


def ad_group_lineage(
    ad_account_id: str, ad_group_ids: Iterable[str], audience_ids: Iterable[str]
) -> OperatorLineage:
    """Inputs: the audiences included or excluded; outputs: the ad groups targeted."""
    return OperatorLineage(
        inputs=pinterest_inputs(ad_account_id, "audiences", audience_ids),
        outputs=pinterest_outputs(ad_account_id, "ad_groups", ad_group_ids),
    )
