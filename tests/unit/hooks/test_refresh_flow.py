"""The I/O-free refresh policy, step by step: races, rotation and a Variable that cannot be written."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pinterest_audiences.exceptions import PinterestTokenStorageError
from airflow_provider_pinterest_audiences.hooks.connection_config import PinterestConnectionConfig
from airflow_provider_pinterest_audiences.hooks.oauth import TokenGrant, build_refresh_request
from airflow_provider_pinterest_audiences.hooks.refresh_flow import (
    RACE_REREAD_WAITS,
    SAVE_RETRY_WAITS,
    refresh_flow,
)
from airflow_provider_pinterest_audiences.hooks.replies import Reply
from airflow_provider_pinterest_audiences.hooks.steps import (
    Adopt,
    LoadStoredGrant,
    PostToken,
    SaveGrant,
    Sleep,
    Step,
)
from tests.unit.hooks.scripted_flow import Case, play, reply

CONFIG = PinterestConnectionConfig.from_fields(
    "c", "", None, {"client_id": "1", "client_secret": "s", "refresh_token": "r-conn", "oauth_variable": "v"}
)
GRANT = {"access_token": "a-new", "refresh_token": "r-new", "expires_in": 3600}
REJECTED = reply(400, code=1104, message="Invalid refresh token")
STORED = TokenGrant("a-old", "r-stored", expires_at=0.0, issued_at=100.0)
WINNER = TokenGrant("a-win", "r-win", expires_at=None, issued_at=200.0)
WINNER_EXPIRED = TokenGrant("a-win", "r-win", expires_at=1.0, issued_at=200.0)
WAITS = [w for w in RACE_REREAD_WAITS if w]


def new_grant(grant: TokenGrant) -> bool:
    return (grant.access_token, grant.refresh_token) == ("a-new", "r-new")


def re_reads(until: int, found: TokenGrant | None) -> list[tuple[Step | type, Any]]:
    """The loser's re-reads: nothing newer in the first ``until`` ones, then ``found``."""
    script: list[tuple[Step | type, Any]] = [(LoadStoredGrant(), None if until else found)]
    for index, wait in enumerate(WAITS, start=1):
        if index > until:
            break
        script += [(Sleep(wait), None), (LoadStoredGrant(), found if index == until else None)]
    return script


REFRESH_CASES: dict[str, Case] = {
    "no store: post, adopt": Case(
        [(PostToken, Reply(200, {}, GRANT)), (Adopt, None)], returns=new_grant, flow_args={"has_store": False}
    ),
    "store: read, post, adopt, save": Case(
        [(LoadStoredGrant(), STORED), (PostToken, Reply(200, {}, GRANT)), (Adopt, None), (SaveGrant, None)],
        returns=new_grant,
    ),
    "a failed save is retried with backoff": Case(
        [
            (LoadStoredGrant(), None),
            (PostToken, Reply(200, {}, GRANT)),
            (Adopt, None),
            (SaveGrant, "OperationalError"),
            (Sleep(SAVE_RETRY_WAITS[0]), None),
            (SaveGrant, None),
        ],
        returns=new_grant,
    ),
    "the process's grant, newer than a store that could not be written, is refreshed from": Case(
        [
            (LoadStoredGrant(), STORED),
            (PostToken(build_refresh_request(CONFIG, "r-win")), Reply(200, {}, GRANT)),
            (Adopt, None),
            (SaveGrant, None),
        ],
        returns=new_grant,
        flow_args={"known": WINNER},
    ),
    "401: the app credentials are wrong, no race to wait for": Case(
        [(LoadStoredGrant(), STORED), (PostToken, reply(401))], raises="Check client_id and client_secret"
    ),
    "race: the winner's usable pair appears at the third read": Case(
        [(LoadStoredGrant(), STORED), (PostToken, REJECTED), *re_reads(2, WINNER), (Adopt(WINNER), None)],
        returns=WINNER,
    ),
    "race: the winner's pair is expired, so its refresh token is used": Case(
        [
            (LoadStoredGrant(), STORED),
            (PostToken, REJECTED),
            *re_reads(0, WINNER_EXPIRED),
            (PostToken, Reply(200, {}, GRANT)),
            (Adopt, None),
            (SaveGrant, None),
        ],
        returns=new_grant,
    ),
    "no winner: the connection's token, then a message without deletion advice": Case(
        [
            (LoadStoredGrant(), STORED),
            (PostToken, REJECTED),
            *re_reads(len(WAITS) + 1, None),
            (PostToken, REJECTED),
        ],
        raises=r"Re-authorise(?!.*delete)",
    ),
}


@pytest.mark.parametrize("name", REFRESH_CASES)
def test_refresh_flow(name: str) -> None:
    case = REFRESH_CASES[name]
    play(refresh_flow(CONFIG, **{"has_store": True, **case.flow_args}), case)


def test_a_rotated_pair_that_cannot_be_saved_raises_after_every_retry() -> None:
    flow = refresh_flow(CONFIG, has_store=True)
    steps = [flow.send(None), flow.send(None), flow.send(Reply(200, {}, GRANT)), flow.send(None)]
    for wait in SAVE_RETRY_WAITS:
        assert flow.send("OperationalError") == Sleep(wait)
        assert isinstance(flow.send(None), SaveGrant)

    with pytest.raises(PinterestTokenStorageError, match=r"failed 4 times \(OperationalError\)"):
        flow.send("OperationalError")
    assert [type(step) for step in steps] == [LoadStoredGrant, PostToken, Adopt, SaveGrant]
