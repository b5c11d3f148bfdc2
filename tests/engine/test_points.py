"""Example tests for the points ledger math, with the arithmetic worked out in comments."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal as D

import pandas as pd
import pytest

from loyalty_crm.engine import points as P
from loyalty_crm.engine.errors import EngineError


@pytest.fixture
def new_name():
	counter = itertools.count(1)
	return lambda: f"N{next(counter)}"


def lot(name: str, opened: date, expiry: date | None, remaining: str, points: str | None = None) -> dict:
	return {
		"lot": name,
		"opened_on": opened,
		"expiry_date": expiry,
		"points": D(points or remaining),
		"remaining": D(remaining),
	}


def row(name, entry_type, points, posting, lot=None, expiry=None, reverses=None) -> dict:
	return {
		"name": name,
		"entry_type": entry_type,
		"points": D(points),
		"posting_date": posting,
		"expiry_date": expiry,
		"lot": lot or name,
		"reverses": reverses,
	}


def balance(rows) -> D:
	return sum((r["points"] for r in rows), D(0))


# ---------------------------------------------------------------- rounding


@pytest.mark.parametrize(
	("value", "precision", "expected"),
	[
		("33.335", 2, "33.34"),  # half up, not to even
		("33.325", 2, "33.33"),  # banker's rounding would give 33.32
		("-33.335", 2, "-33.34"),  # symmetric away from zero
		("2.5", 0, "3"),
		("3.5", 0, "4"),
		("7", 3, "7.000"),
		(0.1 + 0.2, 2, "0.30"),  # float 0.30000000000000004 goes through str, not binary
		("1.2345675", 6, "1.234568"),
	],
)
def test_round_points_half_up(value, precision, expected):
	result = P.round_points(value, precision)
	assert isinstance(result, D)
	assert str(result) == expected


def test_round_currency_uses_the_same_rule():
	assert str(P.round_currency("10.005", 2)) == "10.01"
	assert str(P.round_currency("10.5", 0)) == "11"


@pytest.mark.parametrize("precision", [-1, 7, 2.0, True])
def test_precision_out_of_range(precision):
	with pytest.raises(EngineError, match="Precision must be a whole number of decimals from 0 to 6"):
		P.round_points("1", precision)


def test_not_a_number():
	with pytest.raises(EngineError, match="Points must be a number, got abc"):
		P.round_points("abc")
	with pytest.raises(EngineError, match="must be a number"):
		P.round_points(float("nan"))


# ---------------------------------------------------------------- earning


def test_points_for_amount():
	# 1234.56 x 0.1 x 1.5 = 185.184 -> 185.18
	assert P.points_for_amount(D("1234.56"), D("0.1"), D("1.5")) == D("185.18")
	# 99.5 x 1 = 99.5 -> 100 with 0 decimals (half up)
	assert str(P.points_for_amount(D("99.5"), D("1"), precision=0)) == "100"
	# 33.335 x 1 -> 33.34
	assert P.points_for_amount(D("33.335"), 1) == D("33.34")


@pytest.mark.parametrize("amount", [D(0), D("-50")])
def test_no_points_for_zero_or_negative_totals(amount):
	assert P.points_for_amount(amount, D("2")) == 0


def test_negative_rate_is_refused():
	with pytest.raises(EngineError, match="Points per unit cannot be negative, got -1"):
		P.points_for_amount(D(10), D(-1))


def test_eligible_amount_spreads_invoice_discount():
	items = [("Food", D(60)), ("Tobacco", D(40))]
	# items 100, invoice after a 10% discount 90; food share 60/100 -> 90 x 0.6 = 54.00
	assert P.eligible_amount(items, {"Tobacco"}, D(90), D(100)) == D("54.00")
	frame = pd.DataFrame(items, columns=["item_group", "amount"])
	assert P.eligible_amount(frame, {"Tobacco"}, D(90), D(100)) == D("54.00")
	assert frame["amount"].tolist() == [D(60), D(40)]  # input untouched


def test_eligible_amount_rounds_once():
	# 100 x 1/3 = 33.333... -> 33.33
	assert P.eligible_amount([("A", 1), ("B", 2)], {"B"}, D(100), D(3)) == D("33.33")


def test_eligible_amount_edges():
	assert P.eligible_amount([("A", 10), ("B", 5)], {"A", "B"}, D(15), D(15)) == 0  # all excluded
	assert P.eligible_amount([("A", 10)], set(), D("11.90"), D(10)) == D("11.90")  # taxes included
	assert P.eligible_amount([], set(), D(5), D(0)) == D(5)


def test_campaign_windows_are_inclusive_and_best_wins():
	campaigns = [(date(2024, 5, 1), date(2024, 5, 31), D(2)), (date(2024, 5, 31), date(2024, 6, 2), D(3))]
	assert P.campaign_multiplier(date(2024, 4, 30), campaigns) == 1
	assert P.campaign_multiplier(date(2024, 5, 1), campaigns) == 2  # first day counts
	assert P.campaign_multiplier(date(2024, 5, 31), campaigns) == 3  # both run: 3 beats 2
	assert P.campaign_multiplier(date(2024, 6, 2), campaigns) == 3  # last day counts
	assert P.campaign_multiplier(date(2024, 6, 3), campaigns) == 1
	assert P.campaign_multiplier(date(2030, 1, 1), [(date(2024, 1, 1), None, "1.5")]) == D("1.5")


def test_campaign_that_ends_before_it_starts():
	with pytest.raises(EngineError, match=r"A campaign ends \(2024-05-01\) before it starts \(2024-05-31\)"):
		P.campaign_multiplier(date(2024, 5, 10), [(date(2024, 5, 31), date(2024, 5, 1), 2)])


def test_compute_expiry_date():
	# 2024 is a leap year: Jan 31 + 29 days = Feb 29, + 30 = Mar 1
	assert P.compute_expiry_date(date(2024, 1, 31), 30) == date(2024, 3, 1)
	assert P.compute_expiry_date(date(2024, 1, 31), 0) is None
	assert P.compute_expiry_date(date(2024, 1, 31), None) is None
	with pytest.raises(EngineError, match="Expiry days must be a whole number of days, 0 or more, got -1"):
		P.compute_expiry_date(date(2024, 1, 31), -1)


def test_plan_earn_opens_a_lot(new_name):
	earned = P.plan_earn(D("12.5"), date(2024, 1, 1), 10, new_name=new_name)
	assert earned == row("N1", "Earn", "12.5", date(2024, 1, 1), expiry=date(2024, 1, 11))
	with pytest.raises(EngineError, match="A new lot must have more than 0 points, got 0"):
		P.plan_earn(D(0), date(2024, 1, 1))


# ---------------------------------------------------------------- returns


def test_three_thirds_return_exactly_what_was_earned():
	# 100 points on 300.00; each return is 100.00
	first = P.return_points(D(100), D(300), D(-100), D(0), 2, already_returned_amount=D(0))
	# 100 x 100/300 = 33.333 -> 33.33
	assert first == D("33.33")
	second = P.return_points(D(100), D(300), D(-100), first, 2, already_returned_amount=D(100))
	# cumulative 100 x 200/300 = 66.667 -> 66.67, minus 33.33 already taken = 33.34
	assert second == D("33.34")
	third = P.return_points(D(100), D(300), D(-100), first + second, 2, already_returned_amount=D(200))
	# completes the amount: 100 - 66.67 = 33.33
	assert third == D("33.33")
	assert first + second + third == D(100)


def test_thirds_with_zero_decimals():
	# 10 points on 3.00: round(3.33)=3, round(6.67)=7 -> 4, then 10 - 7 = 3
	taken, returned = D(0), D(0)
	steps = []
	for _ in range(3):
		points = P.return_points(D(10), D(3), D(1), taken, 0, already_returned_amount=returned)
		steps.append(points)
		taken, returned = taken + points, returned + 1
	assert steps == [D(3), D(4), D(3)]


def test_return_without_history_is_rounded_alone_and_capped():
	# 100 x 100/300 = 33.33 each time; after 99.99 taken only 0.01 is left of the 100 earned
	assert P.return_points(D(100), D(300), D(100), D("33.33")) == D("33.33")
	assert P.return_points(D(100), D(300), D(100), D("99.99")) == D("0.01")
	assert P.return_points(D(100), D(300), D(300), D("40")) == D(60)  # full return takes the rest


def test_return_larger_than_original_is_refused():
	with pytest.raises(
		EngineError, match=r"The return \(301\) is larger than what is left of the original amount \(300\)"
	):
		P.return_points(D(100), D(300), D(-301), D(0))
	with pytest.raises(
		EngineError, match=r"The return \(150\) is larger than what is left of the original amount \(100\)"
	):
		P.return_points(D(100), D(300), D(150), D(0), already_returned_amount=D(200))


def test_return_tolerance_counts_rounding_overshoot_as_full_return():
	# separately rounded credit notes may add up to 300.01 of 300.00
	assert P.return_points(
		D(100), D(300), D("100.01"), D("66.67"), already_returned_amount=D(200), tolerance="0.01"
	) == D("33.33")


def test_nothing_to_return_when_nothing_earned():
	assert P.return_points(D(100), D(0), D(10), D(0)) == 0
	assert P.return_points(D(0), D(50), D(10), D(0)) == 0


# ---------------------------------------------------------------- lots, FIFO, expiry


def test_lot_balances_sums_rows_per_lot():
	rows = [
		row("E1", "Earn", "100", date(2024, 1, 1), expiry=date(2024, 2, 1)),
		row("E2", "Earn", "50", date(2024, 1, 5)),
		row("R1", "Redeem", "-70", date(2024, 1, 10), lot="E1"),
		row("R2", "Redeem", "-5", date(2024, 1, 10), lot="E2"),
	]
	lots = P.lot_balances(rows).set_index("lot")
	assert lots.loc["E1", "remaining"] == D(30)  # 100 - 70
	assert lots.loc["E2", "remaining"] == D(45)  # 50 - 5
	assert lots.loc["E1", "points"] == D(100)
	assert lots.loc["E1", "expiry_date"] == pd.Timestamp("2024-02-01")
	assert pd.isna(lots.loc["E2", "expiry_date"])
	assert sum(lots["remaining"]) == balance(rows)


def test_lot_balances_refuses_incomplete_rows():
	with pytest.raises(EngineError, match="lot\\(s\\) E9 whose opening row is not among the rows"):
		P.lot_balances([row("R1", "Redeem", "-1", date(2024, 1, 1), lot="E9")])
	with pytest.raises(EngineError, match="Unknown ledger entry type\\(s\\): Gift"):
		P.lot_balances([row("E1", "Gift", "1", date(2024, 1, 1))])
	with pytest.raises(EngineError, match="Ledger row names must be unique, repeated: E1"):
		P.lot_balances([row("E1", "Earn", "1", date(2024, 1, 1)), row("E1", "Earn", "2", date(2024, 1, 1))])


def fifo_lots() -> pd.DataFrame:
	return pd.DataFrame(
		[
			lot("A", date(2024, 1, 1), date(2024, 3, 1), "10"),
			lot("B", date(2024, 1, 10), date(2024, 2, 1), "20"),
			lot("C", date(2023, 12, 1), None, "30"),  # never expires: spent last although oldest
			lot("D", date(2024, 1, 5), date(2024, 2, 1), "5"),  # same expiry as B, opened earlier
			lot("X", date(2023, 1, 1), date(2024, 1, 1), "99"),  # expired
			lot("Z", date(2023, 1, 1), None, "0", "8"),  # used up
		]
	)


def test_allocate_soonest_expiry_first():
	lots = fifo_lots()
	before = lots.copy()
	# order D(5) B(20) A(10) C(30); 40 = 5 + 20 + 10 + 5
	assert P.allocate(lots, D(40), date(2024, 1, 20)) == [
		("D", D(5)),
		("B", D(20)),
		("A", D(10)),
		("C", D(5)),
	]
	assert P.allocate(lots, D(3), date(2024, 1, 20)) == [("D", D(3))]
	assert P.allocate(lots, D(25), date(2024, 1, 20)) == [("D", D(5)), ("B", D(20))]
	assert P.allocate(lots, D(0), date(2024, 1, 20)) == []
	pd.testing.assert_frame_equal(lots, before)


def test_allocate_not_enough():
	# usable on Jan 20: 5 + 20 + 10 + 30 = 65 (X expired, Z empty)
	with pytest.raises(EngineError, match="Not enough points: 65 available, 66 requested"):
		P.allocate(fifo_lots(), D(66), date(2024, 1, 20))


def test_expiry_boundary_day():
	lots = pd.DataFrame([lot("A", date(2024, 1, 1), date(2024, 2, 1), "10")])
	# usable up to and including its expiry date
	assert P.allocate(lots, D(10), date(2024, 2, 1)) == [("A", D(10))]
	assert P.available_points(lots, date(2024, 2, 1)) == D(10)
	assert P.expiring(lots, date(2024, 2, 1)).empty
	# gone the day after
	assert P.available_points(lots, date(2024, 2, 2)) == 0
	with pytest.raises(EngineError, match="Not enough points: 0 available, 10 requested"):
		P.allocate(lots, D(10), date(2024, 2, 2))
	due = P.expiring(lots, date(2024, 2, 2))
	assert due.to_dict("records") == [{"lot": "A", "points_to_expire": D(10)}]


def test_expiring_many_customers_and_twice(new_name):
	rows = [
		dict(row("E1", "Earn", "10", date(2024, 1, 1), expiry=date(2024, 1, 5)), customer="C1"),
		dict(row("E2", "Earn", "7", date(2024, 1, 1), expiry=date(2024, 1, 5)), customer="C2"),
		dict(row("R2", "Redeem", "-7", date(2024, 1, 2), lot="E2"), customer="C2"),  # nothing left to expire
		dict(row("E3", "Earn", "4", date(2024, 1, 1), expiry=date(2024, 1, 9)), customer="C2"),  # not yet
		dict(row("E4", "Earn", "3", date(2024, 1, 1)), customer="C3"),  # never
	]
	due = P.expiring(P.lot_balances(rows), date(2024, 1, 6))
	assert due.to_dict("records") == [{"customer": "C1", "lot": "E1", "points_to_expire": D(10)}]
	expire_rows = [
		dict(r, customer=c)
		for r, c in zip(
			P.rows_for_draws(
				list(zip(due["lot"], due["points_to_expire"], strict=True)),
				"Expire",
				date(2024, 1, 6),
				new_name=new_name,
			),
			due["customer"],
			strict=True,
		)
	]
	assert expire_rows[0]["points"] == D(-10) and expire_rows[0]["lot"] == "E1"
	assert P.expiring(P.lot_balances(rows + expire_rows), date(2024, 1, 6)).empty


def test_available_points_subtracts_debt():
	lots = pd.DataFrame([lot("A", date(2024, 1, 1), None, "50"), lot("DEBT", date(2024, 1, 2), None, "-20")])
	assert P.available_points(lots, date(2024, 1, 3)) == D(30)  # 50 - 20
	lots.loc[1, "remaining"] = D(-80)
	assert P.available_points(lots, date(2024, 1, 3)) == 0  # 50 - 80 floored at 0


def test_lots_of_two_customers_are_refused():
	lots = pd.DataFrame([dict(lot("A", date(2024, 1, 1), None, "5"), customer=c) for c in ("C1", "C2")])
	lots.loc[1, "lot"] = "B"
	with pytest.raises(EngineError, match="Pass the lots of one customer at a time, got 2 customers"):
		P.allocate(lots, D(1), date(2024, 1, 1))


# ---------------------------------------------------------------- redemption


def test_plan_redemption_draws_fifo():
	assert P.plan_redemption(fifo_lots(), D(25), date(2024, 1, 20), D(10), D(100)) == [
		("D", D(5)),
		("B", D(20)),
	]


@pytest.mark.parametrize(
	("points", "message"),
	[
		(D(0), "Points to redeem must be more than 0, got 0"),
		(D(-5), "Points to redeem must be more than 0, got -5"),
		(D(5), "At least 10 points must be redeemed at a time, got 5"),
		(D(61), r"At most 60 points can be redeemed on this invoice \(worth its total\), got 61"),
		# available Jan 20: 65
		(D(66), "Not enough points: 65 available, 66 requested"),
	],
)
def test_plan_redemption_refusals(points, message):
	lots = fifo_lots()
	before = lots.copy()
	max_points = D(60) if points != D(66) else D(100)
	with pytest.raises(EngineError, match=message):
		P.plan_redemption(
			lots, points, date(2024, 1, 20), min_redeem=D(10), max_points_for_invoice=max_points
		)
	pd.testing.assert_frame_equal(lots, before)


def test_redemption_limits_by_invoice_total():
	# 99.99 / 0.5 = 199.98 points; 10 / 3 = 3.333 -> rounded down to 3.33
	assert P.max_redeemable_points(D("99.99"), D("0.5")) == D("199.98")
	assert P.max_redeemable_points(D(10), D(3)) == D("3.33")
	assert P.max_redeemable_points(D(-10), D(3)) == 0
	# 3.33 points x 3 = 9.99
	assert P.redemption_amount(D("3.33"), D(3)) == D("9.99")
	with pytest.raises(EngineError, match="conversion factor"):
		P.max_redeemable_points(D(10), D(0))


# ---------------------------------------------------------------- reversal


def ledger_with_spent_earn() -> list[dict]:
	# E1 earned 100 (the invoice to cancel), E2 50 from another invoice; 70 of E1 redeemed
	return [
		row("E1", "Earn", "100", date(2024, 1, 1), expiry=date(2024, 3, 1)),
		row("E2", "Earn", "50", date(2024, 1, 5)),
		row("R1", "Redeem", "-70", date(2024, 1, 10), lot="E1"),
	]


def test_reversal_without_negative_balance_refuses_shortfall(new_name):
	rows = ledger_with_spent_earn()
	snapshot = [dict(r) for r in rows]
	# cancel E1: 30 left in E1 + 70 spent; E2 can give 50 -> 20 short
	with pytest.raises(EngineError, match="already redeemed: 20 points short"):
		P.plan_reversal([rows[0]], rows, date(2024, 1, 12), allow_negative=False, new_name=new_name)
	assert rows == snapshot


def test_reversal_takes_spent_points_from_other_lots(new_name):
	rows = ledger_with_spent_earn() + [row("E3", "Earn", "40", date(2024, 1, 6), expiry=date(2024, 2, 1))]
	planned = P.plan_reversal([rows[0]], rows, date(2024, 1, 12), allow_negative=False, new_name=new_name)
	# 30 from E1 itself; 70 spent: E3 expires first (Feb 1) -> 40, then E2 (never) -> 30
	assert planned == [
		row("N1", "Reverse", "-30", date(2024, 1, 12), lot="E1", reverses="E1"),
		row("N2", "Reverse", "-40", date(2024, 1, 12), lot="E3", reverses="E1"),
		row("N3", "Reverse", "-30", date(2024, 1, 12), lot="E2", reverses="E1"),
	]
	# balance 100 + 50 + 40 - 70 = 120, minus the 100 earned = 20
	assert balance(rows + planned) == D(20)
	# cancelling again plans nothing
	assert P.plan_reversal([rows[0]], rows + planned, date(2024, 1, 13), allow_negative=False) == []


def test_reversal_with_negative_balance_writes_a_debt_row(new_name):
	rows = ledger_with_spent_earn()
	planned = P.plan_reversal([rows[0]], rows, date(2024, 1, 12), allow_negative=True, new_name=new_name)
	# 30 from E1, 50 from E2, 20 short -> debt row that is its own lot
	assert planned == [
		row("N1", "Reverse", "-30", date(2024, 1, 12), lot="E1", reverses="E1"),
		row("N2", "Reverse", "-50", date(2024, 1, 12), lot="E2", reverses="E1"),
		row("N3", "Reverse", "-20", date(2024, 1, 12), lot="N3", reverses="E1"),
	]
	after = rows + planned
	assert balance(after) == D(-20)  # 150 - 70 - 100
	lots = P.lot_balances(after).set_index("lot")
	assert lots.loc["N3", "remaining"] == D(-20) and lots.loc["N3", "points"] == D(-20)
	assert P.available_points(lots.reset_index(), date(2024, 1, 12)) == 0


def test_reversal_does_not_take_back_expired_or_returned_points(new_name):
	rows = [
		row("E1", "Earn", "100", date(2024, 1, 1), expiry=date(2024, 1, 31)),
		row("E2", "Earn", "80", date(2024, 1, 5)),
		row("T1", "Return", "-10", date(2024, 1, 6), lot="E1", reverses="E1"),
		row("R1", "Redeem", "-60", date(2024, 1, 10), lot="E1"),
		row("X1", "Expire", "-30", date(2024, 2, 1), lot="E1"),
	]
	planned = P.plan_reversal([rows[0]], rows, date(2024, 2, 2), allow_negative=False, new_name=new_name)
	# E1: 100 - 10 - 60 - 30 = 0 left. owed = 100 earned - 10 returned - 30 expired = 60
	# (the redeemed part), all from E2 (80)
	assert planned == [row("N1", "Reverse", "-60", date(2024, 2, 2), lot="E2", reverses="E1")]


def test_reversal_of_fully_expired_earn_records_a_zero_row(new_name):
	rows = [
		row("E1", "Earn", "100", date(2024, 1, 1), expiry=date(2024, 1, 31)),
		row("X1", "Expire", "-100", date(2024, 2, 1), lot="E1"),
	]
	planned = P.plan_reversal([rows[0]], rows, date(2024, 2, 2), allow_negative=False, new_name=new_name)
	assert planned == [row("N1", "Reverse", "0", date(2024, 2, 2), lot="E1", reverses="E1")]
	assert P.plan_reversal([rows[0]], rows + planned, date(2024, 2, 3), allow_negative=False) == []


def test_cancelled_redemption_restores_even_an_expired_lot(new_name):
	rows = [
		row("E1", "Earn", "100", date(2024, 1, 1), expiry=date(2024, 1, 31)),
		row("E2", "Earn", "10", date(2024, 1, 2)),
		row("R1", "Redeem", "-95", date(2024, 1, 10), lot="E1"),
		row("R2", "Redeem", "-5", date(2024, 1, 10), lot="E2"),
		row("X1", "Expire", "-5", date(2024, 2, 1), lot="E1"),
	]
	planned = P.plan_reversal(rows[2:4], rows, date(2024, 2, 5), allow_negative=False, new_name=new_name)
	assert planned == [
		row("N1", "Reverse", "95", date(2024, 2, 5), lot="E1", reverses="R1"),
		row("N2", "Reverse", "5", date(2024, 2, 5), lot="E2", reverses="R2"),
	]
	# E1 expired on Jan 31, so the 95 restored to it are expired again by the next run
	due = P.expiring(P.lot_balances(rows + planned), date(2024, 2, 5))
	assert due.to_dict("records") == [{"lot": "E1", "points_to_expire": D(95)}]


def test_cancelling_an_invoice_that_earned_and_redeemed(new_name):
	rows = [
		row("E0", "Earn", "100", date(2024, 1, 1)),
		row("R1", "Redeem", "-100", date(2024, 1, 5), lot="E0"),  # invoice INV redeems 100 ...
		row("E1", "Earn", "20", date(2024, 1, 5)),  # ... and earns 20
		row("R2", "Redeem", "-20", date(2024, 1, 6), lot="E1"),  # the 20 spent later
	]
	planned = P.plan_reversal(rows[1:3], rows, date(2024, 1, 7), allow_negative=False, new_name=new_name)
	# restore 100 to E0 first; E1 is empty so its 20 come from E0: no shortfall
	assert planned == [
		row("N1", "Reverse", "100", date(2024, 1, 7), lot="E0", reverses="R1"),
		row("N2", "Reverse", "-20", date(2024, 1, 7), lot="E0", reverses="E1"),
	]
	assert balance(rows + planned) == D(80)  # 100 - 20 spent elsewhere


# ---------------------------------------------------------------- returns on the ledger


def test_plan_return_draws_own_lot_first_then_others(new_name):
	rows = [
		row("E1", "Earn", "90", date(2024, 1, 1)),
		row("E2", "Earn", "50", date(2024, 1, 2), expiry=date(2024, 6, 1)),
		row("R1", "Redeem", "-80", date(2024, 1, 3), lot="E1"),
	]
	first = P.plan_return(
		rows[0], rows, D(300), D(-100), date(2024, 1, 4), False, already_returned_amount=0, new_name=new_name
	)
	# 90 x 100/300 = 30: 10 left in E1, 20 from E2
	assert first == [
		row("N1", "Return", "-10", date(2024, 1, 4), lot="E1", reverses="E1"),
		row("N2", "Return", "-20", date(2024, 1, 4), lot="E2", reverses="E1"),
	]
	rows += first
	# remaining 200 of 300 takes the other 60, but only 30 are left in E2 -> 30 short
	with pytest.raises(
		EngineError, match="The points this return takes back were already redeemed: 30.00 points short"
	):
		P.plan_return(rows[0], rows, D(300), D(-200), date(2024, 1, 5), False, already_returned_amount=100)
	debt = P.plan_return(
		rows[0], rows, D(300), D(-200), date(2024, 1, 5), True, already_returned_amount=100, new_name=new_name
	)
	assert debt == [
		row("N3", "Return", "-30", date(2024, 1, 5), lot="E2", reverses="E1"),
		row("N4", "Return", "-30", date(2024, 1, 5), lot="N4", reverses="E1"),
	]
	# 30 + 30 + 30 = 90 returned in total: exactly what E1 earned
	assert -balance(first + debt) == D(90)


def test_plan_return_after_a_cancelled_return(new_name):
	rows = [
		row("E1", "Earn", "60", date(2024, 1, 1)),
		row("T1", "Return", "-20", date(2024, 1, 2), lot="E1", reverses="E1"),
		row("V1", "Reverse", "20", date(2024, 1, 3), lot="E1", reverses="T1"),  # credit note cancelled
	]
	# the cancelled return no longer counts: returning all 120 of 120 takes all 60
	planned = P.plan_return(
		rows[0], rows, D(120), D(-120), date(2024, 1, 4), False, already_returned_amount=0, new_name=new_name
	)
	assert planned == [row("N1", "Return", "-60", date(2024, 1, 4), lot="E1", reverses="E1")]


def test_plan_return_refuses_bad_rows():
	rows = [row("E1", "Earn", "60", date(2024, 1, 1)), row("R1", "Redeem", "-5", date(2024, 1, 2), lot="E1")]
	with pytest.raises(EngineError, match="Row R1 did not open a points lot"):
		P.plan_return(rows[1], rows, D(10), D(-5), date(2024, 1, 3), False)
	with pytest.raises(EngineError, match="larger than what is left"):
		P.plan_return(rows[0], rows, D(10), D(-11), date(2024, 1, 3), False)
	cancelled = rows + [row("V1", "Reverse", "-55", date(2024, 1, 3), lot="E1", reverses="E1")]
	with pytest.raises(EngineError, match="The points of E1 were already cancelled"):
		P.plan_return(rows[0], cancelled, D(10), D(-5), date(2024, 1, 4), False)


# ---------------------------------------------------------------- debt settlement


def test_settle_debt_pays_oldest_debt_from_soonest_expiring_lots(new_name):
	lots = pd.DataFrame(
		[
			lot("D1", date(2024, 1, 1), None, "-30"),
			lot("D2", date(2024, 1, 2), None, "-10"),
			lot("A", date(2024, 1, 3), None, "25"),
			lot("B", date(2024, 1, 4), date(2024, 2, 1), "20"),
			lot("X", date(2023, 1, 4), date(2024, 1, 1), "70"),  # expired: expires, does not pay
		]
	)
	# B (expires first) 20 -> D1, then A: 10 -> D1, 10 -> D2; A keeps 5
	assert P.settle_debt(lots, date(2024, 1, 10)) == [
		("B", "D1", D(20)),
		("A", "D1", D(10)),
		("A", "D2", D(10)),
	]
	planned = P.plan_settlement(lots, date(2024, 1, 10), new_name=new_name)
	assert [(r["entry_type"], r["lot"], r["points"]) for r in planned] == [
		("Settle", "B", D(-20)),
		("Settle", "D1", D(20)),
		("Settle", "A", D(-10)),
		("Settle", "D1", D(10)),
		("Settle", "A", D(-10)),
		("Settle", "D2", D(10)),
	]
	assert balance(planned) == 0


def test_settle_debt_partially_when_points_run_out():
	lots = pd.DataFrame([lot("D1", date(2024, 1, 1), None, "-30"), lot("A", date(2024, 1, 3), None, "12")])
	assert P.settle_debt(lots) == [("A", "D1", D(12))]
	assert P.settle_debt(lots.iloc[:1]) == []
