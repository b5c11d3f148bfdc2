"""Property tests: random earn / return / redeem / cancel / expire / settle sequences keep the ledger sound.

The machine plays the Frappe layer: it calls the planners, appends their rows to an in-memory
ledger and never edits a row. After every step the ledger identities are checked.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from loyalty_crm.engine import points as P
from loyalty_crm.engine.errors import EngineError

CENT = Decimal("0.01")
START = date(2024, 1, 1)


def _frozen(row: dict) -> tuple:
	return tuple(sorted(row.items()))


class LedgerMachine(RuleBasedStateMachine):
	allow_negative = True

	def __init__(self) -> None:
		super().__init__()
		counter = itertools.count()
		self.new_name = lambda: f"LE{next(counter):05d}"
		self.rows: list[dict] = []
		self.frozen: list[tuple] = []
		self.today = START
		self.invoices: list[dict] = []  # earn row name, amount, returned amount, cancelled
		self.redemptions: list[dict] = []  # rows, cancelled
		self.returns: list[dict] = []  # invoice, amount, rows, cancelled
		self._lots: tuple[int, pd.DataFrame] | None = None

	# ------------------------------------------------------------ helpers

	def lots(self) -> pd.DataFrame:
		"""Recomputed only when rows were appended (rows never change otherwise)."""
		if self._lots is None or self._lots[0] != len(self.rows):
			self._lots = (len(self.rows), P.lot_balances(self.rows))
		return self._lots[1].copy()

	def remaining(self) -> dict[str, Decimal]:
		lots = self.lots()
		return dict(zip(lots["lot"], lots["remaining"], strict=True))

	def append(self, planned: list[dict]) -> None:
		"""Append like the Frappe layer, first checking no draw exceeds what its lot holds."""
		before = self.remaining()
		drawn: dict[str, Decimal] = {}
		for row in planned:
			assert set(row) == set(P.ROW_KEYS)
			assert isinstance(row["points"], Decimal)
			if row["points"] < 0 and row["lot"] != row["name"]:
				drawn[row["lot"]] = drawn.get(row["lot"], Decimal(0)) - row["points"]
		for lot, value in drawn.items():
			assert value <= before[lot], f"lot {lot} drawn {value} > remaining {before[lot]}"
		self.rows.extend(planned)
		self.frozen.extend(_frozen(row) for row in planned)

	def settle(self) -> None:
		self.append(P.plan_settlement(self.lots(), self.today, new_name=self.new_name))

	def returned_points(self, earn_name: str) -> Decimal:
		ledger = pd.DataFrame(self.rows)
		returns = ledger[(ledger["entry_type"] == "Return") & (ledger["reverses"] == earn_name)]
		undone = ledger[(ledger["entry_type"] == "Reverse") & ledger["reverses"].isin(returns["name"])]
		return -(sum(returns["points"], Decimal(0)) + sum(undone["points"], Decimal(0)))

	def plan_or_refuse(self, plan) -> list[dict] | None:
		"""A refused plan must leave the ledger as it was; only allowed without negative balances."""
		count = len(self.rows)
		try:
			return plan()
		except EngineError as error:
			assert not self.allow_negative, str(error)
			assert "already redeemed" in str(error)
			assert len(self.rows) == count
			return None

	# ------------------------------------------------------------ rules

	@rule(
		amount=st.decimals(min_value="0.01", max_value="500", places=2),
		per_unit=st.sampled_from([Decimal("1"), Decimal("0.1"), Decimal("0.37")]),
		expiry_days=st.sampled_from([None, 0, 1, 3, 10, 30]),
	)
	def earn(self, amount: Decimal, per_unit: Decimal, expiry_days: int | None) -> None:
		points = P.points_for_amount(amount, per_unit)
		if points <= 0:
			return
		row = P.plan_earn(points, self.today, expiry_days, new_name=self.new_name)
		self.append([row])
		self.invoices.append({"earn": row, "amount": amount, "returned": Decimal(0), "cancelled": False})
		self.settle()

	@precondition(lambda self: any(not i["cancelled"] and i["returned"] < i["amount"] for i in self.invoices))
	@rule(data=st.data(), thirds=st.integers(1, 3))
	def partial_return(self, data: st.DataObject, thirds: int) -> None:
		open_invoices = [i for i in self.invoices if not i["cancelled"] and i["returned"] < i["amount"]]
		invoice = data.draw(st.sampled_from(open_invoices))
		left = invoice["amount"] - invoice["returned"]
		amount = min(left, P.round_currency(invoice["amount"] * thirds / 3))
		planned = self.plan_or_refuse(
			lambda: P.plan_return(
				invoice["earn"],
				self.rows,
				invoice["amount"],
				-amount,
				self.today,
				self.allow_negative,
				already_returned_amount=invoice["returned"],
				new_name=self.new_name,
			)
		)
		if planned is None:
			return
		assert all(row["entry_type"] == "Return" and row["points"] < 0 for row in planned)
		self.append(planned)
		invoice["returned"] += amount
		self.returns.append({"invoice": invoice, "amount": amount, "rows": planned, "cancelled": False})
		earned = invoice["earn"]["points"]
		returned = self.returned_points(invoice["earn"]["name"])
		assert returned <= earned
		if invoice["returned"] == invoice["amount"]:
			assert returned == earned  # the last return takes exactly the remainder

	@rule(data=st.data())
	def redeem(self, data: st.DataObject) -> None:
		available = P.available_points(self.lots(), self.today)
		if available <= 0:
			return
		wanted = data.draw(st.decimals(min_value=CENT, max_value=available, places=2))
		draws = P.plan_redemption(
			self.lots(), wanted, self.today, min_redeem=CENT, max_points_for_invoice=None
		)
		assert sum(value for _lot, value in draws) == wanted
		planned = P.rows_for_draws(draws, "Redeem", self.today, new_name=self.new_name)
		self.append(planned)
		self.redemptions.append({"rows": planned, "cancelled": False})

	@precondition(lambda self: any(not i["cancelled"] for i in self.invoices))
	@rule(data=st.data())
	def cancel_earn(self, data: st.DataObject) -> None:
		invoice = data.draw(st.sampled_from([i for i in self.invoices if not i["cancelled"]]))
		planned = self.plan_or_refuse(
			lambda: P.plan_reversal(
				[invoice["earn"]], self.rows, self.today, self.allow_negative, new_name=self.new_name
			)
		)
		if planned is None:
			return
		assert planned and all(row["reverses"] == invoice["earn"]["name"] for row in planned)
		self.append(planned)
		invoice["cancelled"] = True
		again = P.plan_reversal(
			[invoice["earn"]], self.rows, self.today, self.allow_negative, new_name=self.new_name
		)
		assert again == []

	@precondition(lambda self: any(not r["cancelled"] for r in self.redemptions))
	@rule(data=st.data())
	def cancel_redemption(self, data: st.DataObject) -> None:
		redemption = data.draw(st.sampled_from([r for r in self.redemptions if not r["cancelled"]]))
		before = sum((row["points"] for row in self.rows), Decimal(0))
		planned = P.plan_reversal(
			redemption["rows"], self.rows, self.today, self.allow_negative, new_name=self.new_name
		)
		self.append(planned)
		redemption["cancelled"] = True
		restored = -sum((row["points"] for row in redemption["rows"]), Decimal(0))
		assert sum((row["points"] for row in self.rows), Decimal(0)) == before + restored
		self.settle()

	@precondition(
		lambda self: any(not r["cancelled"] and not r["invoice"]["cancelled"] for r in self.returns)
	)
	@rule(data=st.data())
	def cancel_return(self, data: st.DataObject) -> None:
		candidates = [r for r in self.returns if not r["cancelled"] and not r["invoice"]["cancelled"]]
		credit_note = data.draw(st.sampled_from(candidates))
		planned = P.plan_reversal(
			credit_note["rows"], self.rows, self.today, self.allow_negative, new_name=self.new_name
		)
		self.append(planned)
		credit_note["cancelled"] = True
		credit_note["invoice"]["returned"] -= credit_note["amount"]
		self.settle()

	@rule(days=st.integers(0, 20))
	def expire(self, days: int) -> None:
		self.today += timedelta(days=days)
		planned = P.plan_expiry(self.lots(), self.today, new_name=self.new_name)
		self.append(planned)
		assert P.expiring(self.lots(), self.today).empty  # running the job twice expires nothing more
		assert P.plan_expiry(self.lots(), self.today, new_name=self.new_name) == []

	@rule()
	def settle_debt(self) -> None:
		self.settle()
		lots = self.lots()
		usable = P._usable(P._lots_frame(lots), self.today)
		has_debt = (lots["remaining"] < 0).any()
		assert not (has_debt and len(usable)), "debt survived alongside usable points"

	# ------------------------------------------------------------ invariants

	@invariant()
	def rows_are_never_modified(self) -> None:
		assert [_frozen(row) for row in self.rows] == self.frozen
		assert len({row["name"] for row in self.rows}) == len(self.rows)

	@invariant()
	def balance_is_sum_of_rows_and_of_lots(self) -> None:
		balance = sum((row["points"] for row in self.rows), Decimal(0))
		assert sum(self.lots()["remaining"], Decimal(0)) == balance
		if not self.allow_negative:
			assert balance >= 0

	@invariant()
	def only_debt_lots_go_negative(self) -> None:
		lots = self.lots()
		for points, remaining in zip(lots["points"], lots["remaining"], strict=True):
			if points > 0:
				assert remaining >= 0
		if not self.allow_negative:
			assert (lots["points"] > 0).all()

	@invariant()
	def returns_never_exceed_earnings(self) -> None:
		for invoice in self.invoices:
			assert self.returned_points(invoice["earn"]["name"]) <= invoice["earn"]["points"]


class StrictLedgerMachine(LedgerMachine):
	allow_negative = False


LedgerMachine.TestCase.settings = settings(
	max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
StrictLedgerMachine.TestCase.settings = LedgerMachine.TestCase.settings

TestLedgerAllowNegative = LedgerMachine.TestCase
TestLedgerStrict = StrictLedgerMachine.TestCase


@given(
	earned=st.decimals(min_value="0.01", max_value="10000", places=2),
	parts=st.lists(st.integers(1, 1000), min_size=1, max_size=8),
	precision=st.integers(0, 4),
)
def test_returns_in_any_split_add_up_to_exactly_what_was_earned(earned, parts, precision):
	earned = P.round_points(earned, precision)
	original = Decimal(sum(parts))
	taken = returned = Decimal(0)
	for part in parts:
		points = P.return_points(earned, original, -part, taken, precision, already_returned_amount=returned)
		assert points >= 0
		taken += points
		returned += part
		assert taken <= earned
	assert taken == earned


@given(
	remaining=st.lists(st.decimals(min_value="-5", max_value="50", places=2), min_size=1, max_size=8),
	expiry_offsets=st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=8, max_size=8),
	data=st.data(),
)
def test_allocate_draws_exactly_from_usable_lots_in_order(remaining, expiry_offsets, data):
	as_of = date(2024, 6, 1)
	lots = pd.DataFrame(
		{
			"lot": [f"L{i}" for i in range(len(remaining))],
			"opened_on": [START + timedelta(days=i) for i in range(len(remaining))],
			"expiry_date": [
				None if o is None else as_of + timedelta(days=o) for o in expiry_offsets[: len(remaining)]
			],
			"points": remaining,
			"remaining": remaining,
		}
	)
	usable = {
		lot: value
		for lot, value, offset in zip(lots["lot"], remaining, expiry_offsets, strict=False)
		if value > 0 and (offset is None or offset >= 0)
	}
	total = sum(usable.values(), Decimal(0))
	if total == 0:
		return
	wanted = data.draw(st.decimals(min_value=CENT, max_value=total, places=2))
	draws = P.allocate(lots, wanted, as_of)
	assert sum(value for _lot, value in draws) == wanted
	assert len({lot for lot, _value in draws}) == len(draws)
	for position, (lot, value) in enumerate(draws):
		assert lot in usable and 0 < value <= usable[lot]
		if position < len(draws) - 1:
			assert value == usable[lot]  # every lot but the last is emptied
	with pytest.raises(EngineError, match="Not enough points"):
		P.allocate(lots, total + CENT, as_of)
