"""The HTTP service on a real uvicorn server: every endpoint, bad requests, authorization."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from pbm_engine.errors import PbmError
from pbm_engine.service.app import Settings, create_app
from pbm_engine.store.sqlite import SqliteStore
from tests.portal.conftest import fill
from tests.service.conftest import PROZAC, Running

MEMBER = "/v1/members/PPO1001-001"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "carin"
RTPBC_REQUEST = FIXTURES / "rtpbc-bundle-request-03.json"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return dict(body)


def _ledger(running: Running) -> list[Any]:
    with SqliteStore(running.db, create=False) as store:
        return [(e.entry_id, e.reversed_on) for e in store.entries()]


def test_health_and_openapi_need_no_token(running: Running) -> None:
    with running.client(None) as c:
        health = c.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        doc = c.get("/openapi.json").json()
    paths = doc["paths"]
    for path in ("/v1/members/{member_id}/estimate", "/v1/members/{member_id}/drugs",
                 "/v1/members/{member_id}/accumulators", "/v1/members/{member_id}/history",
                 "/v1/members/{member_id}/refills", "/v1/members/{member_id}/statements/claims",
                 "/v1/members/{member_id}/statements/part-d/{year}/{month}", "/v1/claims",
                 "/v1/rtpbc"):
        assert path in paths
    assert "EstimateOut" in doc["components"]["schemas"]


def test_estimate(running: Running) -> None:
    with running.client() as c:
        r = c.get(f"{MEMBER}/estimate", params={"drug": "zolmitriptan 2.5 mg tablet",
                                                "as_of": "2026-03-10", "ivr": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["drug_name"] == "ZOLMITRIPTAN 2.5 MG TABLET"
    assert [c["channel"] for c in body["channels"]] == ["retail", "mail"]
    assert body["channels"][0]["member_pays"] == "10.00"
    assert body["ivr"][0].startswith("At a retail pharmacy")


def test_search_accumulators_history_refills_statements(running: Running) -> None:
    with running.client() as c:
        search = c.get(f"{MEMBER}/drugs", params={"q": "zolmi 2.5 mg tab"}).json()
        acc = c.get(f"{MEMBER}/accumulators", params={"as_of": "2026-03-01"}).json()
        hist = c.get(f"{MEMBER}/history").json()
        refills = c.get(f"{MEMBER}/refills", params={"as_of": "2026-02-20"}).json()
        statement = c.get(f"{MEMBER}/statements/claims",
                          params={"start": "2026-02-01", "end": "2026-02-28"}).json()
        html = c.get(f"{MEMBER}/statements/claims", params={
            "start": "2026-02-01", "end": "2026-02-28", "format": "html"})
    assert [x["name"] for x in search["candidates"]] == ["ZOLMITRIPTAN 2.5 MG TABLET"]
    assert acc["deductible"]["member_remaining"] == "250.00"
    assert [i["ndc"] for i in hist["items"]] == ["16571080316", "00054014025"]
    assert [x["rx_number"] for x in refills["refills"]] == ["7100001", "7100003"]
    assert len(statement["claims"]) == 2 and statement["kind"] == "claims"
    assert html.headers["content-type"].startswith("text/html")
    assert "Pharmacy claim statement" in html.text


def test_part_d_statement_for_a_commercial_member_is_404(running: Running) -> None:
    with running.client() as c:
        r = c.get(f"{MEMBER}/statements/part-d/2026/1")
    _problem(r, 404)


def test_claim_submission_paid_rejected_and_reversed(running: Running) -> None:
    before = _ledger(running)
    claim = fill("PPO1001", "00054014025", "2026-03-10", rx="7200001")
    with running.client() as c:
        paid = c.post("/v1/claims", json=claim, params={"as_of": "2026-03-10"})
        rejected = c.post("/v1/claims", json=fill("PPO1001", "00049490030", "2026-03-10",
                                                   rx="7200002"), params={"as_of": "2026-03-10"})
        reversal = c.post("/v1/claims", json={**claim, "transaction_code": "B2"},
                          params={"as_of": "2026-03-10"})
        bad_fields = c.post("/v1/claims", json={"transaction_code": "B1", "ndc": "x"})
    assert paid.status_code == 200 and paid.json()["status"] == "P"
    assert rejected.status_code == 200 and rejected.json()["status"] == "R"
    assert rejected.json()["rejects"][0]["code"] == "608"
    assert reversal.json()["status"] == "A"
    assert bad_fields.status_code == 200 and bad_fields.json()["status"] == "R"
    after = _ledger(running)
    assert len(after) == len(before) + 1 and after[-1][1] is not None


def test_bad_requests_are_problem_details_and_write_nothing(running: Running) -> None:
    before = _ledger(running)
    with running.client() as c:
        _problem(c.get(f"{MEMBER}/estimate"), 400)  # neither ndc nor drug
        assert _problem(c.get(f"{MEMBER}/estimate", params={"ndc": "99999999999"}),
                        404)["reject_code"] == "54"
        assert _problem(c.get("/v1/members/NOBODY-001/estimate", params={"ndc": PROZAC}),
                        404)["reject_code"] == "52"
        ambiguous = _problem(c.get(f"{MEMBER}/estimate", params={"drug": "zituvio"}), 409)
        assert len(ambiguous["errors"]) == 3
        _problem(c.get(f"{MEMBER}/estimate", params={"ndc": PROZAC, "days_supply": "900"}),
                 422)
        _problem(c.get(f"{MEMBER}/estimate", params={"ndc": PROZAC, "quantity": "lots",
                                                     "days_supply": 30}), 400)
        _problem(c.get(f"{MEMBER}/accumulators", params={"as_of": "not-a-date"}), 422)
        _problem(c.get(f"{MEMBER}/statements/claims", params={
            "start": "2026-03-01", "end": "2026-01-01"}), 400)
        _problem(c.post("/v1/claims", content=b"{not json",
                        headers={"content-type": "application/json"}), 422)
        assert _problem(c.post("/v1/claims", json=[1, 2]), 400)["reject_code"] == "R8"
        _problem(c.get("/v1/nothing-here"), 404)
    assert _ledger(running) == before


@pytest.mark.parametrize(("who", "path", "status"), [
    (None, f"{MEMBER}/estimate?ndc={PROZAC}", 401),
    ("not-a-real-token-x", f"{MEMBER}/accumulators", 401),
    ("family", "/v1/members/HSA2001-001/history", 403),      # another family
    ("family", "/v1/members/NOBODY-001/history", 403),       # not revealed either way
    ("member", f"{MEMBER}/history", 403),                    # same family, other member
    ("member", "/v1/members/PPO1001-002/history", 200),
    ("family", "/v1/members/PPO1001-003/refills", 200),
    ("reader", "/v1/members/HSA2001-001/accumulators", 200),
])
def test_read_authorization(running: Running, who: str | None, path: str, status: int) -> None:
    with running.client(who) as c:
        r = c.get(path)
    if status == 200:
        assert r.status_code == 200, r.text
    else:
        body = _problem(r, status)
        assert "PPO1001" not in body["detail"] and "HSA2001" not in body["detail"]
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_api_key_header_works(running: Running) -> None:
    with running.client("reader", api_key=True) as c:
        assert c.get(f"{MEMBER}/history").status_code == 200


def test_claim_submission_needs_the_claims_scope(running: Running) -> None:
    before = _ledger(running)
    claim = fill("PPO1001", "00054014025", "2026-03-12", rx="7300001")
    for who in ("reader", "family"):
        with running.client(who) as c:
            body = _problem(c.post("/v1/claims", json=claim), 403)
            assert "claims" in body["detail"]
    with running.client(None) as c:
        _problem(c.post("/v1/claims", json=claim), 401)
    assert _ledger(running) == before


def test_carin_rtpbc_example_answered(running: Running) -> None:
    request = json.loads(RTPBC_REQUEST.read_text())
    with running.client("jane") as c:
        r = c.post("/v1/rtpbc", json=request)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "message"
    header = bundle["entry"][0]["resource"]
    assert header["resourceType"] == "MessageHeader"
    assert header["eventCoding"]["code"] == "rtpbc-response"
    resources = {e["resource"]["resourceType"] + "/" + e["resource"]["id"]: e["resource"]
                 for e in bundle["entry"]}
    cr = next(v for v in resources.values() if v["resourceType"] == "ClaimResponse")
    # Every element the IG's ClaimResponse profile requires (min 1) or fixes.
    assert cr["identifier"][0]["value"]
    assert cr["status"] == "active" and cr["use"] == "predetermination"
    assert cr["type"]["coding"][0]["system"] and cr["type"]["coding"][0]["code"] == "pharmacy"
    assert cr["insurer"]["identifier"]["value"] == "Pharmacy Plans US"
    assert cr["request"]["identifier"]["value"] == "rtpbc-03"
    assert cr["patient"]["reference"] == "Patient/rtpbc-patient-03"
    assert cr["outcome"] == "complete"
    notes = {n["number"]: n["text"] for n in cr["processNote"]}
    assert all(notes.values())
    (item,) = cr["item"]
    assert item["itemSequence"] == 1 and item["noteNumber"][0] in notes
    _check_adjudication(item["adjudication"])
    assert cr["addItem"], "the mail-order option at least"
    for add in cr["addItem"]:
        assert add["itemSequence"] == [1]
        assert add["provider"][0]["reference"] in resources
        coding = add["productOrService"]["coding"][0]
        assert coding["system"] and coding["code"] and coding["display"]
        assert add["quantity"]["value"] > 0 and add["quantity"]["unit"]
        assert add["noteNumber"][0] in notes
        _check_adjudication(add["adjudication"])
    mail = cr["addItem"][0]
    assert resources[mail["provider"][0]["reference"]]["name"] == "Plan mail-order pharmacy"
    assert mail["quantity"]["value"] == 180
    total = next(a for a in item["adjudication"]
                 if a["category"]["coding"][0]["code"] == "total")
    assert total["amount"]["value"] > 0
    assert total["reason"]["coding"][0]["code"] == "covered"


def _check_adjudication(adjudications: list[dict[str, Any]]) -> None:
    codes = [a["category"]["coding"][0]["code"] for a in adjudications]
    assert "total" in codes
    assert set(codes) <= {"deductible", "coinsurance", "copay", "tax", "other", "total"}
    for a in adjudications:
        assert a["category"]["coding"][0]["system"].endswith("rtpbc-patient-pay-category")
        assert isinstance(a["amount"]["value"], int | float)
        assert a["amount"]["currency"] == "USD"
    parts = sum(a["amount"]["value"] for a in adjudications
                if a["category"]["coding"][0]["code"] != "total")
    total = next(a["amount"]["value"] for a in adjudications
                 if a["category"]["coding"][0]["code"] == "total")
    assert parts == pytest.approx(total) or parts == 0


def test_carin_errors_are_operation_outcomes(running: Running) -> None:
    request = json.loads(RTPBC_REQUEST.read_text())
    wrong_dob = json.loads(json.dumps(request))
    wrong_dob["entry"][2]["resource"]["birthDate"] = "1980-01-01"
    no_claim = {**request, "entry": [request["entry"][0]]}
    with running.client("admin") as c:
        for body, status, code in ((wrong_dob, 404, "09"), (no_claim, 400, "R8"),
                                   ({"resourceType": "Patient"}, 400, "R8")):
            r = c.post("/v1/rtpbc", json=body)
            assert r.status_code == status
            outcome = r.json()
            assert outcome["resourceType"] == "OperationOutcome"
            assert outcome["issue"][0]["details"]["coding"][0]["code"] == code
        r = c.post("/v1/rtpbc", content=b"<xml/>")
        assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"
    with running.client("family") as c:  # Jane is not in family PPO1001
        _problem(c.post("/v1/rtpbc", json=request), 403)


def test_access_log_has_no_member_data(running: Running, caplog: pytest.LogCaptureFixture
                                       ) -> None:
    with caplog.at_level(logging.INFO, logger="pbm_engine.service"), running.client() as c:
        c.get(f"{MEMBER}/estimate", params={"ndc": PROZAC, "as_of": "2026-03-02"})
        c.get("/v1/members/PPO1001-002/history")
    lines = [r.getMessage() for r in caplog.records if r.name == "pbm_engine.service"]
    assert any("/v1/members/{member_id}/estimate 200" in line for line in lines)
    assert not any("PPO1001" in line or PROZAC in line for line in lines)


def test_open_service_only_on_loopback(tmp_path: Path) -> None:
    with pytest.raises(PbmError, match="refusing"):
        create_app(Settings("book.yaml", str(tmp_path / "x.db"), (), "0.0.0.0"))
