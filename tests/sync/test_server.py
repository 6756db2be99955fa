"""The reference server speaks the contract (sections 6 and 7 of shared/reference/eber-api.md)."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import requests

from devtools.loyalty_server.server import DEFAULT_PROGRAMME
from frontdesk.demo.generator import generate_members
from frontdesk.domain.money import Money
from frontdesk.domain.programme import (
    EarnContext,
    MemberStanding,
    SaleDraft,
    SaleLine,
    load_programme,
    preview_earning,
)
from sync.errors import NotFound, ValidationError
from tests.sync.conftest import RunningServer


def receipt() -> str:
    return f"R-{uuid.uuid4().hex[:12]}"


def test_seeded_members_are_the_demo_generators(server: RunningServer) -> None:
    client = server.client()
    for member in list(generate_members(300, 7))[200::20]:  # members no other test buys for (tiers move)
        user = client.user_show(user_id=member.server_id)
        assert (user["first_name"], user["last_name"]) == (member.first_name, member.last_name)
        assert f"+65{user['phone']}" == member.phone_e164 and user["phone_code"] == "SG"
        assert user["external_member_id"] == member.member_no
        assert user["member_tiers"][0]["code"] == member.tier_code
        by_phone = client.user_show(phone=user["phone"], phone_code="SG")
        assert by_phone["phone"] == user["phone"]


def test_issue_point_computes_points_with_the_programme_engine(server: RunningServer) -> None:
    client = server.client()
    member = client.user_show(user_id=100010)
    answer = client.issue_point({
        "user_id": 100010, "amount": "153.20", "transaction_no": receipt(), "custom_store_id": "TAMPINES",
        "tax": "12.20", "service_charge": "0.00", "discount": "0.00",
        "utc_transaction_created_at": "2026-03-01 03:00:00",
        "item_data_json": [{"name": "Colour Retouch", "sku": "SVC-COL-R", "category": "Colour", "quantity": 1,
                            "unit_amount": "120.00", "total_amount": "120.00"},
                           {"name": "Hair Serum", "sku": "PRD-SER-100", "category": "Retail", "quantity": 1,
                            "unit_amount": "21.00", "total_amount": "21.00"}]})
    programme = load_programme(DEFAULT_PROGRAMME)
    draft = SaleDraft(outlet="TAMPINES", sales_mode="counter",
                      occurred_at=datetime(2026, 3, 1, 3, tzinfo=timezone.utc), currency="SGD",
                      lines=(SaleLine("Colour Retouch", "SVC-COL-R", "Colour", 1, Money.parse("120.00"),
                                      Money.parse("10.38"), Money.zero(), Money.zero()),
                             SaleLine("Hair Serum", "PRD-SER-100", "Retail", 1, Money.parse("21.00"),
                                      Money.parse("1.82"), Money.zero(), Money.zero())),
                      tips=Money.zero(), bill_discount=Money.zero())
    expected = preview_earning(programme, draft, MemberStanding(tier_code=member["member_tiers"][0]["code"]),
                               EarnContext())
    assert answer["points"] == expected.total_points > 0
    assert answer["point_balance"] == member["points"][0]["points"] + expected.total_points
    assert answer["transaction"]["amount"] == "153.20" and answer["transaction"]["type"] == "purchase"
    assert "Points Earned" in answer["print"]["default"]


def test_unknown_phone_creates_the_member(server: RunningServer) -> None:
    client = server.client()
    answer = client.issue_point({"phone": "81239876", "phone_code": "SG", "amount": "40.00",
                                 "transaction_no": receipt(), "custom_store_id": "TAMPINES"})
    user = client.user_show(phone="81239876", phone_code="SG")
    assert user["id"] == answer["user_id"]


def test_pay_with_points_deducts_them(server: RunningServer) -> None:
    client = server.client()
    before = client.user_show(user_id=100020)["points"][0]["points"]
    spend = min(before, 600)
    if spend < 500:
        client.adjust_points({"user_id": 100020, "action": "add", "points": 600})
        before += 600
        spend = 600
    answer = client.issue_point({"user_id": 100020, "amount": "6.00", "point_conversion_points": spend,
                                 "transaction_no": receipt(), "custom_store_id": "TAMPINES"})
    assert answer["total_deducted_points"] == spend
    assert answer["point_balance"] == before - spend + answer["points"]
    with pytest.raises(ValidationError) as caught:
        client.issue_point({"user_id": 100020, "amount": "1.00", "point_conversion_points": 10,
                            "transaction_no": receipt(), "custom_store_id": "TAMPINES"})
    assert "point_conversion_points" in caught.value.fields


def test_redeem_verify_does_not_use_the_code_then_use_does(server: RunningServer) -> None:
    client = server.client()
    user = client.user_show(user_id=100025, list_redeemable=True)
    codes = [item["redeem_code"] for item in user["redeemable_list"] if item["redeem_type"] == "issued_reward"]
    assert codes == ["V100025"]
    for flag in ("1", "true"):
        verified = client.redeem({"redeem_code": "V100025", "verify_only": flag, "amount": "50.00"})
        assert verified["verify_only"] is True and verified["pos_redeem_amount"] == "5.00"
    number = receipt()
    used = client.redeem({"redeem_code": "V100025", "transaction_no": number, "custom_store_id": "TAMPINES"})
    assert used["status_after"] == "USED"
    with pytest.raises(ValidationError) as caught:
        client.redeem({"redeem_code": "V100025", "transaction_no": receipt()})
    assert "already been used" in caught.value.messages("redeem_code")[0]
    client.void_used_reward({"redeem_code": "V100025", "transaction_no": number})
    again = client.user_show(user_id=100025, list_redeemable=True)
    assert "V100025" in [item["redeem_code"] for item in again["redeemable_list"]]
    with pytest.raises(NotFound):
        client.redeem({"redeem_code": "NO-SUCH-CODE"})


def test_catalogue_reward_costs_points_and_void_restores_them(server: RunningServer) -> None:
    client = server.client()
    client.adjust_points({"user_id": 100030, "action": "add", "points": 2000})
    before = client.user_show(user_id=100030)["points"][0]["points"]
    number = receipt()
    used = client.redeem({"redeem_code": "CUT10", "user_id": 100030, "amount": "68.00", "transaction_no": number})
    assert used["points_deducted"] == 1000 and used["point_balance"] == before - 1000
    restored = client.void_used_reward({"redeem_code": "CUT10", "transaction_no": number})
    assert restored["point_balance"] == before


def test_void_reverses_points_once(server: RunningServer) -> None:
    client = server.client()
    before = client.user_show(user_id=100040)["points"][0]["points"]
    sale = client.issue_point({"user_id": 100040, "amount": "68.00", "transaction_no": receipt(),
                               "custom_store_id": "TAMPINES"})
    void = client.void_transaction(sale["transaction_id"])
    assert void["points"] == -sale["points"] and void["point_balance"] == before
    with pytest.raises(ValidationError) as caught:
        client.void_transaction(sale["transaction_id"])
    assert "already been voided" in caught.value.messages("transaction_id")[0]
    with pytest.raises(NotFound):
        client.void_transaction(999_999_999)


def test_point_transactions_are_listed_by_receipt(server: RunningServer) -> None:
    client = server.client()
    number = receipt()
    sale = client.issue_point({"user_id": 100041, "amount": "10.00", "transaction_no": number,
                               "custom_store_id": "TAMPINES"})
    found = client.point_transactions(transaction_no=number, custom_store_id="TAMPINES")["data"]
    assert [row["id"] for row in found] == [sale["transaction_id"]]
    assert client.point_transactions(transaction_no=number, custom_store_id="JURONG")["data"] == []


def test_strict_mode_serves_only_the_documented_contract(server_factory) -> None:  # type: ignore[no-untyped-def]
    strict = server_factory("--strict")
    client = strict.client()
    number = receipt()
    form = {"user_id": 100041, "amount": "10.00", "transaction_no": number, "custom_store_id": "TAMPINES"}
    key = uuid.uuid4().hex
    client.issue_point(form, idempotency_key=key)
    with pytest.raises(ValidationError):  # the key is not honoured: the receipt number is all there is
        client.issue_point(form, idempotency_key=key)
    newest = client.point_transactions(page=1, limit=5, transaction_no="no-such-receipt")["data"]
    assert newest[0]["transaction_no"] == number  # filters beyond page/limit/display_name are ignored
    assert [row["id"] for row in newest] == sorted((row["id"] for row in newest), reverse=True)
    with pytest.raises(NotFound):
        client.programme()


def test_user_create_update_and_duplicates(server: RunningServer) -> None:
    client = server.client()
    email = f"walk.in.{uuid.uuid4().hex[:6]}@example.com"
    created = client.create_user({"first_name": "Walk", "last_name": "In", "email": email, "phone": "87776655",
                                  "phone_code": "SG", "birth_day": 3, "birth_month": 4, "birth_year": 1990,
                                  "external_member_id": f"FD-{uuid.uuid4().hex[:6]}"})
    assert created["id"] > 0 and created["email"] == email
    assert client.get_user(created["id"])["last_name"] == "In"
    updated = client.update_user(created["id"], {"display_name": "Wally"})
    assert updated["display_name"] == "Wally"
    with pytest.raises(ValidationError) as caught:
        client.create_user({"first_name": "Other", "email": email})
    assert "email" in caught.value.fields
    with pytest.raises(ValidationError) as caught:
        client.create_user({"first_name": "R2D2", "email": "r2@example.com"})
    assert caught.value.fields["first_name"] == ["The first name may only contain letters."]


def test_adjust_never_goes_below_zero(server: RunningServer) -> None:
    client = server.client()
    balance = client.user_show(user_id=100050)["points"][0]["points"]
    with pytest.raises(ValidationError):
        client.adjust_points({"user_id": 100050, "action": "deduct", "points": balance + 1})
    answer = client.adjust_points({"user_id": 100050, "action": "add", "points": 5, "note": "goodwill"})
    assert answer["point_balance"] == balance + 5


def test_member_list_pages_with_next_url_and_from_date(server: RunningServer) -> None:
    client = server.client()
    pages = list(client.list_users_pages(limit=120))
    ids = [user["id"] for page in pages for user in page["data"]]
    assert len(ids) == len(set(ids)) >= 300
    assert len(pages) >= 3 and pages[-1]["next_url"] is None
    time.sleep(1.05)  # `from_date` has whole seconds and is inclusive: step past the seeding second
    client.update_user(100077, {"display_name": "Changed Later"})
    stamp = client.get_user(100077)["updated_at"]
    recent = [user["id"] for page in client.list_users_pages(from_date=stamp) for user in page["data"]]
    assert 100077 in recent and len(recent) < 50


def test_programme_with_etag(server: RunningServer) -> None:
    client = server.client()
    first = client.programme()
    assert first.status == 200 and first.data["program"]["programme"]["code"] == "LUMIERE-REWARDS"
    etag = first.headers["ETag"]
    assert client.programme(etag).status == 304
    assert client.programme('"stale"').status == 200


def test_unknown_route_is_a_json_404(server: RunningServer) -> None:
    response = requests.get(f"{server.api_url}/no/such/thing", auth=(server.api_key, ""), timeout=5)
    assert response.status_code == 404
    assert response.json() == {"error": {"exception": ["The requested resource was not found."]}}


def test_query_form_and_json_inputs_are_merged(server: RunningServer) -> None:
    number = receipt()
    response = requests.post(f"{server.api_url}/integration/issue_point?user_id=100060",
                             json={"amount": "15.00", "transaction_no": number, "custom_store_id": "TAMPINES"},
                             auth=(server.api_key, ""), timeout=5)
    assert response.status_code == 200, response.text
    assert response.json()["transaction"]["transaction_no"] == number


def test_fault_switches_validate_their_input(server: RunningServer) -> None:
    bad = requests.post(f"{server.root_url}/_faults", json={"error_rate": 2}, auth=(server.api_key, ""), timeout=5)
    assert bad.status_code == 400
    unknown = requests.post(f"{server.root_url}/_faults", json={"explode": 1}, auth=(server.api_key, ""), timeout=5)
    assert unknown.status_code == 400
    assert requests.get(f"{server.root_url}/_faults", timeout=5).status_code == 401


def test_error_after_commit_applies_the_effect_and_the_key_replays_it(server: RunningServer) -> None:
    client = server.client()
    key, number = uuid.uuid4().hex, receipt()
    server.faults(error_after_commit_rate=1.0)
    with pytest.raises(Exception):
        client.issue_point({"user_id": 100070, "amount": "10.00", "transaction_no": number,
                            "custom_store_id": "TAMPINES"}, idempotency_key=key)
    server.faults()
    answer = client.issue_point({"user_id": 100070, "amount": "10.00", "transaction_no": number,
                                 "custom_store_id": "TAMPINES"}, idempotency_key=key)
    assert answer["status"] is True
    assert len(client.point_transactions(transaction_no=number)["data"]) == 1


def test_amounts_are_exact_strings(server: RunningServer) -> None:
    answer = server.client().issue_point({"user_id": 100071, "amount": Decimal("0.10"), "transaction_no": receipt(),
                                          "custom_store_id": "TAMPINES"})
    assert answer["transaction"]["amount"] == "0.10"
