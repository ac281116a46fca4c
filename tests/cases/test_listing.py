from typing import Any

from fastapi.testclient import TestClient

from tests.cases.conftest import Headers, case_body, child_body, register


def nth_case(n: int, **changes: Any) -> dict[str, Any]:
    """A case of a different child each time."""
    child = child_body(
        identifiers=[{"type": "nui", "value": f"0500000{n}-1"}],
        given_names=f"Niño {n}",
    )
    return case_body(child=child, **changes)


def listed(api: TestClient, headers: Headers, **params: Any) -> list[str]:
    response = api.get("/v1/cases", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [case["id"] for case in response.json()["items"]]


def test_pages_follow_the_cursor_without_repeats_or_gaps(
    api: TestClient, consulate: Headers
) -> None:
    registered = [register(api, consulate, nth_case(n))["id"] for n in range(7)]
    seen: list[str] = []
    pages = 0
    cursor = None

    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = api.get("/v1/cases", params=params, headers=consulate).json()
        seen += [case["id"] for case in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == registered


def test_only_the_cases_an_institution_may_see_are_listed(
    api: TestClient, consulate: Headers, dgme: Headers
) -> None:
    own = register(api, consulate, nth_case(1))["id"]
    register(api, dgme, nth_case(2))

    assert listed(api, consulate) == [own]


def test_filters_by_lead_institution_and_vulnerability(
    api: TestClient, consulate: Headers
) -> None:
    handed = register(api, consulate, nth_case(1, lead_institution="conapina"))
    trafficked = register(
        api, consulate, nth_case(2, vulnerabilities=["trafficking_victim"])
    )
    register(api, consulate, nth_case(3))

    assert listed(api, consulate, lead_institution="conapina") == [handed["id"]]
    assert listed(api, consulate, vulnerability="trafficking_victim") == [
        trafficked["id"]
    ]


def test_filters_by_status_after_a_case_is_closed(
    api: TestClient, consulate: Headers
) -> None:
    closing = register(api, consulate, nth_case(1))
    still_open = register(api, consulate, nth_case(2))
    headers = {**consulate, "If-Match": '"1"'}
    api.patch(f"/v1/cases/{closing['id']}", json={"status": "closed"}, headers=headers)

    assert listed(api, consulate, status="closed") == [closing["id"]]
    assert listed(api, consulate, status="open") == [still_open["id"]]


def test_updated_since_lists_cases_changed_at_or_after_that_time(
    api: TestClient, consulate: Headers
) -> None:
    register(api, consulate, nth_case(1))
    later = register(api, consulate, nth_case(2))

    since = later["updated_at"]

    assert listed(api, consulate, updated_since=since) == [later["id"]]


def test_updated_since_without_a_time_zone_is_refused(
    api: TestClient, consulate: Headers
) -> None:
    params = {"updated_since": "2026-01-01T00:00:00"}
    response = api.get("/v1/cases", params=params, headers=consulate)

    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "query:updated_since"


def test_a_cursor_the_hub_did_not_give_out_is_refused(
    api: TestClient, consulate: Headers
) -> None:
    response = api.get("/v1/cases", params={"cursor": "bm9wZQ"}, headers=consulate)

    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "query:cursor"


def test_a_page_size_over_100_is_refused(api: TestClient, consulate: Headers) -> None:
    response = api.get("/v1/cases", params={"limit": 101}, headers=consulate)

    assert response.status_code == 422
