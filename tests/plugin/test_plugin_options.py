"""How a user's test suite configures the plugin (marker, ini option), and what it costs at start-up.

Each test runs a small user test file with ``pytester``; the plugin reaches it through its entry point.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytest_plugins = ["pytester"]

FLAGS = ("-p", "no:cacheprovider", "-p", "no:asyncio", "-q")
USER_TEST_HEADER = """
import json
import os
import urllib.request

import pytest
"""


@pytest.fixture
def run_user_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], pytest.RunResult]:
    """Runs a user's test file (``source`` after the common imports), with no Pinterest connection set."""
    monkeypatch.delenv("AIRFLOW_CONN_PINTEREST_DEFAULT", raising=False)

    def run(source: str) -> pytest.RunResult:
        pytester.makepyfile(test_user=USER_TEST_HEADER + source)
        return pytester.runpytest(*FLAGS)

    return run


def test_the_marker_names_the_connection_and_sets_the_emulator(
    run_user_tests: Callable[[str], pytest.RunResult],
) -> None:
    result = run_user_tests(
        """
@pytest.mark.pinterest_emulator(conn_id="pinterest_ads", clock_speed=50, ad_account_id="42")
def test_named(pinterest_emulator):
    connection = json.loads(os.environ["AIRFLOW_CONN_PINTEREST_ADS"])
    assert connection["host"] == pinterest_emulator.base_url
    assert connection["extra"]["ad_account_id"] == pinterest_emulator.ad_account_id == "42"
    assert pinterest_emulator.conn_id == "pinterest_ads"
    assert pinterest_emulator.configure()["clock_speed"] == 50
    assert "AIRFLOW_CONN_PINTEREST_DEFAULT" not in os.environ
""",
    )
    result.assert_outcomes(passed=1)


def test_the_ini_option_names_the_connection_of_every_test(
    pytester: pytest.Pytester, run_user_tests: Callable[[str], pytest.RunResult]
) -> None:
    pytester.makeini("[pytest]\npinterest_emulator_conn_id = pinterest_ci\n")
    result = run_user_tests(
        """
def test_from_ini(pinterest_emulator):
    assert json.loads(os.environ["AIRFLOW_CONN_PINTEREST_CI"])["host"] == pinterest_emulator.base_url

@pytest.mark.pinterest_emulator(conn_id="pinterest_marked")
def test_marker_wins(pinterest_emulator):
    assert "AIRFLOW_CONN_PINTEREST_MARKED" in os.environ
""",
    )
    result.assert_outcomes(passed=2)


def test_each_test_gets_its_own_emulator_and_leaves_nothing_behind(
    run_user_tests: Callable[[str], pytest.RunResult],
) -> None:
    result = run_user_tests(
        """
SEEN = []

def test_first(pinterest_emulator):
    pinterest_emulator.advance_clock(5)
    SEEN.append(pinterest_emulator.root_url)

def test_second(pinterest_emulator):
    assert pinterest_emulator.root_url != SEEN[0]
    assert pinterest_emulator.request_counts() == {}

def test_after():
    assert "AIRFLOW_CONN_PINTEREST_DEFAULT" not in os.environ
    with pytest.raises(OSError):
        urllib.request.urlopen(SEEN[0] + "/_emulator/summary", timeout=2)
""",
    )
    result.assert_outcomes(passed=3)


@pytest.mark.usefixtures("users_emulator_defaults")
def test_by_default_only_declared_accounts_are_served_and_unknown_fields_are_ignored(
    run_user_tests: Callable[[str], pytest.RunResult],
) -> None:
    result = run_user_tests(
        """
import urllib.error

LISTS = "/ad_accounts/549755885175/customer_lists"
SDK_STYLE_LIST = {"ad_account_id": "549755885175", "name": "list", "records": "a,b"}


def status(emulator, method, path, body=None):
    token = json.loads(os.environ["AIRFLOW_CONN_PINTEREST_DEFAULT"])["password"]
    request = urllib.request.Request(
        emulator.base_url + path,
        method=method,
        data=json.dumps(body).encode() if body else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code

def test_default(pinterest_emulator):
    assert status(pinterest_emulator, "GET", "/ad_accounts/549755885175") == 200
    assert status(pinterest_emulator, "GET", "/ad_accounts/549755885176") == 403
    assert status(pinterest_emulator, "POST", LISTS, SDK_STYLE_LIST) == 200

@pytest.mark.pinterest_emulator(ad_account_ids=("549755885176",), strict_fields=True)
def test_declared_and_strict(pinterest_emulator):
    assert status(pinterest_emulator, "GET", "/ad_accounts/549755885176") == 200
    assert status(pinterest_emulator, "POST", LISTS, SDK_STYLE_LIST) == 400
""",
    )
    result.assert_outcomes(passed=2)


def test_a_wrong_marker_fails_the_test_with_the_reason(
    run_user_tests: Callable[[str], pytest.RunResult],
) -> None:
    result = run_user_tests(
        """
@pytest.mark.pinterest_emulator(clock_sped=50)
def test_typo(pinterest_emulator):
    pass

@pytest.mark.pinterest_emulator(match_rate=2)
def test_out_of_range(pinterest_emulator):
    pass

@pytest.mark.pinterest_emulator("pinterest_ads")
def test_positional(pinterest_emulator):
    pass
""",
    )
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        [
            "*pinterest_emulator: *unexpected keyword argument 'clock_sped'*",
            "*pinterest_emulator: match_rate must be between 0 and 1*",
            "*pinterest_emulator takes keywords only, got ('pinterest_ads',)*",
        ]
    )


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*FLAGS, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.pinterest_emulator(conn_id=..., **settings):*"])


def test_pytest_start_up_imports_neither_the_emulator_nor_airflow(pytester: pytest.Pytester) -> None:
    """A fresh process: the plugin is loaded, the emulator and Airflow wait for a test that needs them."""
    pytester.makepyfile(
        test_user="""
import sys

HEAVY = ("airflow", "fastapi", "uvicorn", "airflow_provider_pinterest_audiences.emulator")

def test_light():
    assert "airflow_provider_pinterest_audiences.testing.pytest_plugin" in sys.modules
    assert [name for name in sys.modules if name.startswith(HEAVY) and name.split(".")[0] in HEAVY] == []
    assert not any(name.startswith("airflow_provider_pinterest_audiences.emulator") for name in sys.modules)
"""
    )
    result = pytester.runpytest_subprocess(*FLAGS)
    result.assert_outcomes(passed=1)


def test_without_the_emulator_extra_the_fixture_says_what_to_install(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import sys\nsys.modules['uvicorn'] = None  # as if uvicorn were not installed\n")
    pytester.makepyfile(test_user="def test_dag(pinterest_emulator):\n    pass\n")
    result = pytester.runpytest_subprocess(*FLAGS)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*needs FastAPI and uvicorn*pip install 'airflow-provider-pinterest-audiences?emulator?'"]
    )
    result.stdout.no_fnmatch_line("*During handling*")
