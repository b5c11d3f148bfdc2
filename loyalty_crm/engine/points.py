"""Pure arithmetic of the append-only loyalty points ledger.

The Frappe layer stores one "Loyalty Ledger Entry" per row and never edits or deletes one:
every change of a balance is a new row. That keeps an audit trail a customer or an auditor can
replay, and makes cancelling a document a matter of appending its mirror image.

A row is a dict (or a DataFrame row) with the keys of :data:`ROW_KEYS`:

``name``         the row's id.
``entry_type``   one of :data:`ENTRY_TYPES`.
``points``       signed ``Decimal``: positive adds to the balance, negative removes.
``posting_date`` ``date`` the row takes effect.
``expiry_date``  ``date`` or ``None``; only on a row that opens a lot (``None`` = never expires).
``lot``          the row whose points this row draws from or restores to; a row that opens a
                 lot (Earn, Opening, positive Adjust, or a negative "debt" row) names itself.
``reverses``     for a ``Reverse`` row, the row it cancels; for a ``Return`` row, the lot-opening
                 row whose points it gives back (a return is a partial reversal); else ``None``.

Two identities always hold and every planner here preserves them: remaining(lot) is the sum
of the points of the rows whose ``lot`` is that lot, and a customer's balance is the sum of all
their rows' points. Points are ``Decimal`` and rounded only by :func:`round_points` /
:func:`round_currency`; floats never enter the ledger math, so no rounding dust accumulates
across thousands of rows.

Expiry rule: a lot whose ``expiry_date`` is D can be spent up to and including D and expires on
D + 1, which is when :func:`expiring` first reports it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from loyalty_crm.engine.errors import EngineError, _

ENTRY_TYPES = (
	"Earn",
	"Opening",
	"Adjust",
	"Redeem",
	"Expire",
	"Return",
	"Reverse",
	"Settle",
	"Birthday",
	"Campaign",
)
# Birthday: the yearly birthday reward (services/birthdays.py), a type of its own so it is counted apart.
# Campaign: a retention campaign's bonus points (services/campaigns.py), counted apart as an offer cost.
LOT_OPENING_TYPES = ("Earn", "Opening", "Adjust", "Return", "Birthday", "Campaign")
ROW_KEYS = ("name", "entry_type", "points", "posting_date", "expiry_date", "lot", "reverses")
LOT_COLUMNS = ("lot", "opened_on", "expiry_date", "points", "remaining")
MAX_PRECISION = 6
ZERO = Decimal(0)
ONE = Decimal(1)

Number = Decimal | int | float | str
Rows = pd.DataFrame | Sequence[Mapping[str, Any]]
Draws = list[tuple[str, Decimal]]
NameFactory = Callable[[], str]

NOT_ENOUGH_POINTS = _("Not enough points: {0} available, {1} requested")
POINTS_NOT_A_NUMBER = _("Points must be a number, got {0}")
AMOUNT_NOT_A_NUMBER = _("Amounts must be numbers, got {0}")
RATE_NOT_A_NUMBER = _("Rates and multipliers must be numbers, got {0}")


# ---------------------------------------------------------------- rounding and conversion


def to_decimal(value: Number, message: str = POINTS_NOT_A_NUMBER) -> Decimal:
	"""Convert once at the boundary; floats go through ``repr`` so 0.1 stays 0.1, not 0.1000000000000000055.

	Frappe hands Float and Currency fields over as floats; their shortest repr is the value the
	user typed, so nothing is lost as long as it is converted before any arithmetic.
	"""
	if isinstance(value, Decimal):
		result = value
	elif isinstance(value, bool) or value is None:
		raise EngineError(message, value)
	elif isinstance(value, (int, np.integer)):
		result = Decimal(int(value))
	elif isinstance(value, (float, np.floating)):
		result = Decimal(repr(float(value)))
	else:
		try:
			result = Decimal(str(value).strip())
		except InvalidOperation:
			raise EngineError(message, value) from None
	if not result.is_finite():
		raise EngineError(message, value)
	return result


def _check_precision(precision: int) -> int:
	"""Six decimals is the finest the doctype stores; more would round differently in the database."""
	if isinstance(precision, bool) or not isinstance(precision, (int, np.integer)):
		raise EngineError(_("Precision must be a whole number of decimals from 0 to 6, got {0}"), precision)
	if not 0 <= precision <= MAX_PRECISION:
		raise EngineError(_("Precision must be a whole number of decimals from 0 to 6, got {0}"), precision)
	return int(precision)


def round_points(value: Number, precision: int = 2) -> Decimal:
	"""The one place points are rounded (half up, as a customer rounds by hand): 33.335 -> 33.34."""
	quantum = Decimal(1).scaleb(-_check_precision(precision))
	return to_decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)


def round_currency(value: Number, precision: int = 2) -> Decimal:
	"""The one place money is rounded, with the same half-up rule as points so both sides agree."""
	quantum = Decimal(1).scaleb(-_check_precision(precision))
	return to_decimal(value, AMOUNT_NOT_A_NUMBER).quantize(quantum, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------- earning


def points_for_amount(
	amount: Number, points_per_unit: Number, multiplier: Number = 1, precision: int = 2
) -> Decimal:
	"""Points a purchase earns, rounded once at the end so a multiplier does not compound rounding.

	Zero or negative totals earn nothing rather than negative points: returns take points back
	through :func:`return_points`, which knows what was earned.
	"""
	amount = to_decimal(amount, AMOUNT_NOT_A_NUMBER)
	rate = to_decimal(points_per_unit, RATE_NOT_A_NUMBER)
	factor = to_decimal(multiplier, RATE_NOT_A_NUMBER)
	if rate < 0:
		raise EngineError(_("Points per unit cannot be negative, got {0}"), rate)
	if factor < 0:
		raise EngineError(_("A campaign multiplier cannot be negative, got {0}"), factor)
	if amount <= 0:
		return round_points(ZERO, precision)
	return round_points(amount * rate * factor, precision)


def eligible_amount(
	items: pd.DataFrame | Sequence[tuple[str, Number]],
	excluded_groups: Iterable[str],
	invoice_total: Number,
	items_total: Number,
	precision: int = 2,
) -> Decimal:
	"""The part of the invoice total that earns points.

	Scaling the invoice total by the share of eligible item amounts spreads invoice-level
	discounts and taxes over the items in proportion, so a discount on the invoice lowers the
	points of excluded and eligible items alike. ``items`` is a list of ``(item_group, amount)``
	or a DataFrame with those two columns.
	"""
	frame = _items_frame(items)
	total = to_decimal(invoice_total, AMOUNT_NOT_A_NUMBER)
	base = to_decimal(items_total, AMOUNT_NOT_A_NUMBER)
	excluded = frame["item_group"].isin(list(excluded_groups)).to_numpy(dtype=bool)
	if not excluded.any():
		return round_currency(total, precision)
	eligible = sum(frame["amount"].to_numpy(dtype=object)[~excluded], ZERO)
	if base == 0 or eligible == 0:
		return round_currency(ZERO, precision)
	return round_currency(total * eligible / base, precision)


def _items_frame(items: pd.DataFrame | Sequence[tuple[str, Number]]) -> pd.DataFrame:
	"""One shape for both inputs, amounts as Decimal."""
	if isinstance(items, pd.DataFrame):
		missing = [c for c in ("item_group", "amount") if c not in items.columns]
		if missing:
			raise EngineError(_("Invoice items are missing the column(s): {0}"), ", ".join(missing))
		frame = items[["item_group", "amount"]].copy()
	else:
		frame = pd.DataFrame(list(items), columns=["item_group", "amount"], dtype=object)
	frame["amount"] = pd.Series(
		[to_decimal(v, AMOUNT_NOT_A_NUMBER) for v in frame["amount"]], index=frame.index, dtype=object
	)
	return frame


def campaign_multiplier(
	posting_date: date, campaigns: Iterable[tuple[date | None, date | None, Number]]
) -> Decimal:
	"""The best running campaign wins (campaigns do not stack), so overlapping promotions cannot multiply.

	Windows include both ends: a campaign "until 31 May" still counts on 31 May. A missing
	``from_date`` or ``to_date`` leaves that end open.
	"""
	day = _as_date(posting_date)
	best: Decimal | None = None
	for from_date, to_date, multiplier in campaigns:
		start = _as_date(from_date) if from_date is not None else None
		end = _as_date(to_date) if to_date is not None else None
		if start is not None and end is not None and start > end:
			raise EngineError(_("A campaign ends ({1}) before it starts ({0})"), start, end)
		factor = to_decimal(multiplier, RATE_NOT_A_NUMBER)
		if factor < 0:
			raise EngineError(_("A campaign multiplier cannot be negative, got {0}"), factor)
		if (start is None or start <= day) and (end is None or day <= end):
			best = factor if best is None else max(best, factor)
	return ONE if best is None else best


def compute_expiry_date(posting_date: date, expiry_days: int | None) -> date | None:
	"""Same arithmetic as ERPNext's loyalty program (posting date + N days); 0 or None never expires."""
	if expiry_days is None or expiry_days == 0:
		return None
	if isinstance(expiry_days, bool) or not isinstance(expiry_days, (int, np.integer)) or expiry_days < 0:
		raise EngineError(_("Expiry days must be a whole number of days, 0 or more, got {0}"), expiry_days)
	return _as_date(posting_date) + timedelta(days=int(expiry_days))


def plan_earn(
	points: Number,
	posting_date: date,
	expiry_days: int | None = None,
	*,
	entry_type: str = "Earn",
	new_name: NameFactory | None = None,
) -> dict[str, Any]:
	"""The row that opens a lot, so callers cannot forget that a lot names itself.

	A ``Return`` lot gives back points a customer paid with on an invoice they return: new
	points with the life the spent ones had left, not a restoration of the old lots (those may
	since have been spent or expired).
	"""
	if entry_type not in LOT_OPENING_TYPES:
		raise EngineError(
			_("Only these rows open a lot: {0}; got {1}"), ", ".join(LOT_OPENING_TYPES), entry_type
		)
	value = to_decimal(points)
	if value <= 0:
		raise EngineError(_("A new lot must have more than 0 points, got {0}"), value)
	name = _namer(new_name)()
	return _row(
		name, entry_type, value, posting_date, name, None, compute_expiry_date(posting_date, expiry_days)
	)


# ---------------------------------------------------------------- returns


def return_points(
	original_points: Number,
	original_amount: Number,
	returned_amount: Number,
	already_returned_points: Number = 0,
	precision: int = 2,
	*,
	already_returned_amount: Number | None = None,
	tolerance: Number = 0,
) -> Decimal:
	"""Points a (partial) return takes back: original_points x |returned_amount| / original_amount.

	Pass ``already_returned_amount`` (eligible amount of earlier returns against the same invoice)
	and the share is computed cumulatively: target = original_points x (all returned so far) /
	original_amount, minus what earlier returns took. Three returns of a third of 100 points then
	take 33.33 + 33.34 + 33.33, and the return that completes the original amount takes exactly
	what is left, so no rounding dust stays with the customer. Without it each return is rounded
	on its own. Either way the total never exceeds what was earned. Returned amounts within
	``tolerance`` above the original (separately rounded credit notes) count as the full original.
	"""
	earned = to_decimal(original_points)
	original = to_decimal(original_amount, AMOUNT_NOT_A_NUMBER)
	returned = abs(to_decimal(returned_amount, AMOUNT_NOT_A_NUMBER))
	taken = to_decimal(already_returned_points)
	before = (
		ZERO
		if already_returned_amount is None
		else abs(to_decimal(already_returned_amount, AMOUNT_NOT_A_NUMBER))
	)
	slack = abs(to_decimal(tolerance, AMOUNT_NOT_A_NUMBER))
	if original <= 0 or earned <= 0:
		return round_points(ZERO, precision)
	if before + returned > original + slack:
		raise EngineError(
			_(
				"The return ({0}) is larger than what is left of the original amount ({1}); check the returned quantities"
			),
			returned,
			max(original - before, ZERO),
		)
	if before + returned >= original:
		target = earned - taken
	elif already_returned_amount is None:
		target = round_points(earned * returned / original, precision)
	else:
		target = round_points(earned * (before + returned) / original, precision) - taken
	return round_points(min(max(target, ZERO), max(earned - taken, ZERO)), precision)


# ---------------------------------------------------------------- lots


def lot_balances(rows: Rows) -> pd.DataFrame:
	"""One row per lot: what it opened with and what is left of it.

	``remaining`` is a groupby-sum over all rows, so it is right by construction rather than kept
	up to date by hand. Output columns: ``lot, opened_on, expiry_date, points, remaining`` (dates
	as datetime64, NaT = never expires; points as Decimal) plus ``customer`` when the rows have it.
	Debt lots (opened by a negative row) appear with negative ``points`` and ``remaining``.
	"""
	frame = ledger_frame(rows)
	remaining = frame.groupby("lot", sort=False)["points"].sum()
	openers = frame[frame["lot"] == frame["name"]]
	unknown = remaining.index.difference(pd.Index(openers["lot"]))
	if len(unknown):
		raise EngineError(
			_(
				"Ledger rows draw from lot(s) {0} whose opening row is not among the rows; pass all the customer's rows"
			),
			", ".join(map(str, unknown[:10])),
		)
	keep = ["lot", "posting_date", "expiry_date", "points"] + (
		["customer"] if "customer" in frame.columns else []
	)
	lots = openers[keep].rename(columns={"posting_date": "opened_on"})
	lots = lots.assign(remaining=lots["lot"].map(remaining).map(Decimal).astype(object))
	order = list(LOT_COLUMNS) + (["customer"] if "customer" in frame.columns else [])
	return lots[order].reset_index(drop=True)


def ledger_frame(rows: Rows) -> pd.DataFrame:
	"""Validate rows once at the boundary: Decimal points, datetime64 dates, known entry types, unique names."""
	if isinstance(rows, pd.DataFrame):
		frame = rows.copy()
	else:
		frame = pd.DataFrame([dict(row) for row in rows])
	if len(frame.columns) == 0:
		frame = pd.DataFrame(columns=list(ROW_KEYS))
	for optional in ("expiry_date", "reverses"):
		if optional not in frame.columns:
			frame[optional] = None
	missing = [key for key in ROW_KEYS if key not in frame.columns]
	if missing:
		raise EngineError(_("Ledger rows are missing the key(s): {0}"), ", ".join(missing))
	unknown = sorted(set(frame["entry_type"].astype(object)) - set(ENTRY_TYPES))
	if unknown:
		raise EngineError(_("Unknown ledger entry type(s): {0}"), ", ".join(map(str, unknown)))
	if frame["name"].isna().any() or frame["lot"].isna().any():
		raise EngineError(_("Every ledger row needs a name and a lot"))
	duplicated = frame["name"][frame["name"].duplicated()]
	if len(duplicated):
		raise EngineError(
			_("Ledger row names must be unique, repeated: {0}"), ", ".join(map(str, duplicated[:10]))
		)
	frame["name"] = frame["name"].astype(object)
	frame["lot"] = frame["lot"].astype(object)
	frame["reverses"] = frame["reverses"].astype(object).where(frame["reverses"].notna(), None)
	frame["points"] = pd.Series([to_decimal(v) for v in frame["points"]], index=frame.index, dtype=object)
	frame["posting_date"] = _to_datetime(frame["posting_date"])
	frame["expiry_date"] = _to_datetime(frame["expiry_date"])
	return frame


def _lots_frame(lots: pd.DataFrame) -> pd.DataFrame:
	"""Accept lots built by :func:`lot_balances` or by hand (dates as date objects, numbers as str)."""
	missing = [c for c in LOT_COLUMNS if c not in lots.columns]
	if missing:
		raise EngineError(_("Lots are missing the column(s): {0}"), ", ".join(missing))
	frame = lots.copy()
	frame["remaining"] = pd.Series(
		[to_decimal(v) for v in frame["remaining"]], index=frame.index, dtype=object
	)
	frame["points"] = pd.Series([to_decimal(v) for v in frame["points"]], index=frame.index, dtype=object)
	frame["opened_on"] = _to_datetime(frame["opened_on"])
	frame["expiry_date"] = _to_datetime(frame["expiry_date"])
	frame["lot"] = frame["lot"].astype(object)
	return frame


def _one_customer(frame: pd.DataFrame) -> None:
	"""Spending and settling are per customer; mixing two would let one pay with the other's points."""
	if "customer" in frame.columns and frame["customer"].nunique(dropna=True) > 1:
		raise EngineError(
			_("Pass the lots of one customer at a time, got {0} customers"), frame["customer"].nunique()
		)


def _usable(frame: pd.DataFrame, as_of: date) -> pd.DataFrame:
	"""Lots that can still be spent on ``as_of`` (positive, expiry_date on or after it), in spending order."""
	day = pd.Timestamp(_as_date(as_of))
	alive = (frame["expiry_date"].isna() | (frame["expiry_date"] >= day)).to_numpy(dtype=bool)
	return _spend_order(frame[_positive(frame["remaining"]) & alive])


def _spend_order(frame: pd.DataFrame) -> pd.DataFrame:
	"""Soonest expiry first so customers lose as little as possible; never-expiring lots last;
	ties by opening date, then name, so the order is reproducible."""
	return frame.sort_values(["expiry_date", "opened_on", "lot"], na_position="last", kind="mergesort")


def _positive(values: pd.Series) -> np.ndarray:
	"""Exact Decimal comparison as a boolean mask (object arrays compare element by element)."""
	return np.greater(values.to_numpy(dtype=object), 0).astype(bool)


def _negative(values: pd.Series) -> np.ndarray:
	"""See :func:`_positive`."""
	return np.less(values.to_numpy(dtype=object), 0).astype(bool)


def _fifo(usable: pd.DataFrame, amount: Decimal) -> Draws:
	"""Draw up to ``amount`` in the usable order; cumsum + searchsorted finds the last lot touched.

	Each draw is at most the lot's remaining, so no lot is consumed twice.
	"""
	if amount <= 0 or usable.empty:
		return []
	remaining = usable["remaining"].to_numpy(dtype=object)
	running = np.cumsum(remaining)
	last = min(int(np.searchsorted(running, amount, side="left")), len(remaining) - 1)
	taken = remaining[: last + 1].copy()
	taken[last] = min(taken[last], amount - (running[last] - remaining[last]))
	return list(zip(usable["lot"].to_numpy(dtype=object)[: last + 1].tolist(), taken.tolist(), strict=True))


def allocate(lots: pd.DataFrame, amount: Number, as_of: date) -> Draws:
	"""Which lots pay for ``amount`` points: ``[(lot, positive points), ...]``; the caller writes negative rows.

	Expired lots (expiry_date before ``as_of``) and debt lots are never drawn from.
	"""
	frame = _lots_frame(lots)
	_one_customer(frame)
	wanted = to_decimal(amount)
	if wanted < 0:
		raise EngineError(_("Points to allocate cannot be negative, got {0}"), wanted)
	usable = _usable(frame, as_of)
	available = sum(usable["remaining"].to_numpy(dtype=object), ZERO)
	if wanted > available:
		raise EngineError(NOT_ENOUGH_POINTS, available, wanted)
	return _fifo(usable, wanted)


def available_points(lots: pd.DataFrame, as_of: date) -> Decimal:
	"""What the customer can spend today: usable lots minus any debt, never below zero.

	Debt is subtracted because a settlement would take those points anyway.
	"""
	frame = _lots_frame(lots)
	_one_customer(frame)
	usable = sum(_usable(frame, as_of)["remaining"].to_numpy(dtype=object), ZERO)
	debt = sum(frame["remaining"][_negative(frame["remaining"])], ZERO)
	return max(usable + debt, ZERO)


def max_redeemable_points(invoice_total: Number, conversion_factor: Number, precision: int = 2) -> Decimal:
	"""Points worth at most the invoice total, rounded down so redemption never exceeds what is owed."""
	total = to_decimal(invoice_total, AMOUNT_NOT_A_NUMBER)
	factor = to_decimal(conversion_factor, RATE_NOT_A_NUMBER)
	if factor <= 0:
		raise EngineError(
			_("The conversion factor (currency per point) must be more than 0, got {0}"), factor
		)
	if total <= 0:
		return round_points(ZERO, precision)
	quantum = Decimal(1).scaleb(-_check_precision(precision))
	return (total / factor).quantize(quantum, rounding=ROUND_DOWN)


def redemption_amount(points: Number, conversion_factor: Number, precision: int = 2) -> Decimal:
	"""Money value of redeemed points, rounded once, in the invoice currency."""
	return round_currency(to_decimal(points) * to_decimal(conversion_factor, RATE_NOT_A_NUMBER), precision)


def plan_redemption(
	lots: pd.DataFrame,
	points: Number,
	as_of: date,
	min_redeem: Number | None = None,
	max_points_for_invoice: Number | None = None,
) -> Draws:
	"""Validate a redemption in the order a cashier can fix it, then draw FIFO.

	``max_points_for_invoice`` is what the invoice total allows (see :func:`max_redeemable_points`);
	``None`` means no minimum / no invoice cap.
	"""
	wanted = to_decimal(points)
	if wanted <= 0:
		raise EngineError(_("Points to redeem must be more than 0, got {0}"), wanted)
	if min_redeem is not None and wanted < to_decimal(min_redeem):
		raise EngineError(
			_("At least {0} points must be redeemed at a time, got {1}"), to_decimal(min_redeem), wanted
		)
	if max_points_for_invoice is not None and wanted > to_decimal(max_points_for_invoice):
		raise EngineError(
			_("At most {0} points can be redeemed on this invoice (worth its total), got {1}"),
			to_decimal(max_points_for_invoice),
			wanted,
		)
	available = available_points(lots, as_of)
	if wanted > available:
		raise EngineError(NOT_ENOUGH_POINTS, available, wanted)
	return allocate(lots, wanted, as_of)


def rows_for_draws(
	draws: Draws,
	entry_type: str,
	posting_date: date,
	*,
	reverses: str | None = None,
	new_name: NameFactory | None = None,
) -> list[dict[str, Any]]:
	"""Negative rows for draws (Redeem, Expire, Adjust): one per lot so each lot's remaining stays exact."""
	namer = _namer(new_name)
	return [
		_row(namer(), entry_type, -value, posting_date, lot, reverses) for lot, value in draws if value != 0
	]


# ---------------------------------------------------------------- cancelling and returning


def plan_reversal(
	rows_of_source_document: Rows,
	all_customer_rows: Rows,
	as_of: date,
	allow_negative: bool,
	*,
	new_name: NameFactory | None = None,
) -> list[dict[str, Any]]:
	"""Rows that undo a cancelled document; every new row has ``entry_type="Reverse"`` and ``reverses`` set.

	- A negative row (Redeem draw, Return, Expire, negative Adjust, debt) gets its points back on
	  the lot it drew from, even if that lot has expired since: the next expiry run expires them
	  again, which is what would have happened had they never been spent.
	- A lot the document opened (Earn, Opening, positive Adjust) is taken back: what is left in
	  the lot comes from the lot itself; points already spent are drawn from the customer's other
	  usable lots (FIFO); any shortfall becomes a debt row (``lot`` = its own name, negative) if
	  ``allow_negative``, else the whole plan fails. Points that expired or were already returned
	  are not taken back twice. If nothing is left to take back, a 0-point row still records the
	  reversal so a retry adds nothing.
	- ``Reverse`` and ``Settle`` rows are skipped: the first are already reversals, the second
	  only move points between the customer's own lots and leave the balance unchanged.
	- Rows already reversed are skipped, so calling this twice plans nothing the second time.

	Restorations are planned before take-backs, so points a cancelled invoice redeemed can pay
	for points it earned. Apply :func:`plan_settlement` afterwards to clear any debt.
	"""
	source = ledger_frame(rows_of_source_document)
	ledger = ledger_frame(all_customer_rows)
	_one_customer(ledger)
	namer = _namer(new_name)
	done = set(ledger["reverses"][ledger["entry_type"] == "Reverse"].dropna())
	todo = source[~source["name"].isin(done) & ~source["entry_type"].isin(["Reverse", "Settle"])]
	restores = todo[_negative(todo["points"])]
	takebacks = todo[(todo["lot"] == todo["name"]).to_numpy(dtype=bool) & _positive(todo["points"])]
	planned = [
		_row(namer(), "Reverse", -row.points, as_of, row.lot, row.name) for row in restores.itertuples()
	]
	for row in takebacks.itertuples():
		current = pd.concat([ledger, ledger_frame(planned)], ignore_index=True) if planned else ledger
		owed = _still_owed(current, row.name, row.points)
		planned += _take_back(
			current,
			row.name,
			owed,
			as_of,
			allow_negative,
			entry_type="Reverse",
			reverses=row.name,
			namer=namer,
			message=_(
				"The points this document earned were already redeemed: {0} points short; cancel the documents that redeemed them first, or allow a negative points balance"
			),
			keep_zero=True,
		)
	return planned


def plan_return(
	earn_row: Mapping[str, Any],
	all_customer_rows: Rows,
	original_amount: Number,
	returned_amount: Number,
	as_of: date,
	allow_negative: bool,
	*,
	already_returned_amount: Number | None = None,
	tolerance: Number = 0,
	precision: int = 2,
	new_name: NameFactory | None = None,
) -> list[dict[str, Any]]:
	"""``Return`` rows (``reverses`` = the earn row) taking back the points a credit note's items earned.

	The amount is :func:`return_points` of the earn, counting what earlier returns against it
	already took (net of cancelled returns). It comes from the earn's own lot first, then the
	customer's other usable lots (FIFO), then a debt row or an error, like :func:`plan_reversal`.
	``already_returned_amount`` is the eligible amount of earlier submitted returns against the
	same invoice; pass it (0 for the first return) so the last return takes exactly the remainder.
	``None`` rounds each return on its own (still capped at what was earned).
	"""
	earn = ledger_frame([earn_row]).iloc[0]
	ledger = ledger_frame(all_customer_rows)
	_one_customer(ledger)
	if earn["lot"] != earn["name"] or earn["points"] <= 0:
		raise EngineError(
			_("Row {0} did not open a points lot, so no points can be returned against it"), earn["name"]
		)
	if earn["name"] not in set(ledger["name"]):
		raise EngineError(_("Row {0} is not among the customer's ledger rows"), earn["name"])
	if (ledger["reverses"][ledger["entry_type"] == "Reverse"] == earn["name"]).any():
		raise EngineError(
			_("The points of {0} were already cancelled, so there is nothing to return"), earn["name"]
		)
	taken = _returned(ledger, earn["name"])
	points = return_points(
		earn["points"],
		original_amount,
		returned_amount,
		taken,
		precision,
		already_returned_amount=already_returned_amount,
		tolerance=tolerance,
	)
	return _take_back(
		ledger,
		earn["name"],
		points,
		as_of,
		allow_negative,
		entry_type="Return",
		reverses=earn["name"],
		namer=_namer(new_name),
		message=_(
			"The points this return takes back were already redeemed: {0} points short; cancel the documents that redeemed them first, or allow a negative points balance"
		),
		keep_zero=False,
	)


def _returned(ledger: pd.DataFrame, earn_name: str) -> Decimal:
	"""Points returned against an earn so far, net of cancelled returns."""
	returns = ledger[(ledger["entry_type"] == "Return") & (ledger["reverses"] == earn_name)]
	undone = ledger[(ledger["entry_type"] == "Reverse") & ledger["reverses"].isin(returns["name"])]
	return -(sum(returns["points"], ZERO) + sum(undone["points"], ZERO))


def _still_owed(ledger: pd.DataFrame, earn_name: str, earned: Decimal) -> Decimal:
	"""What cancelling an earn must take back: not what expired or was returned already."""
	expires = ledger[(ledger["entry_type"] == "Expire") & (ledger["lot"] == earn_name)]
	unexpired = ledger[(ledger["entry_type"] == "Reverse") & ledger["reverses"].isin(expires["name"])]
	expired = -(sum(expires["points"], ZERO) + sum(unexpired["points"], ZERO))
	return max(earned - expired - _returned(ledger, earn_name), ZERO)


def _take_back(
	ledger: pd.DataFrame,
	own_lot: str,
	owed: Decimal,
	as_of: date,
	allow_negative: bool,
	*,
	entry_type: str,
	reverses: str,
	namer: NameFactory,
	message: str,
	keep_zero: bool,
) -> list[dict[str, Any]]:
	"""Own lot first, then other usable lots, then debt: the customer keeps exactly what they are owed."""
	lots = lot_balances(ledger)
	own_left = sum(lots["remaining"][lots["lot"] == own_lot], ZERO)
	draws: Draws = [(own_lot, min(max(own_left, ZERO), owed))]
	others = _usable(lots[lots["lot"] != own_lot], as_of)
	draws += _fifo(others, owed - draws[0][1])
	short = owed - sum((value for _lot, value in draws), ZERO)
	if short > 0 and not allow_negative:
		raise EngineError(message, short)
	rows = [_row(namer(), entry_type, -value, as_of, lot, reverses) for lot, value in draws if value != 0]
	if short > 0:
		debt = namer()
		rows.append(_row(debt, entry_type, -short, as_of, debt, reverses))
	if not rows and keep_zero:
		rows.append(_row(namer(), entry_type, ZERO, as_of, own_lot, reverses))
	return rows


# ---------------------------------------------------------------- debt and expiry


def settle_debt(lots: pd.DataFrame, as_of: date | None = None) -> list[tuple[str, str, Decimal]]:
	"""Pay debt lots from positive lots: ``[(from_lot, to_debt_lot, points), ...]``.

	Without it a customer could hold usable points and a debt at once and spend the points the
	debt is owed from. Positive lots are spent in the :func:`allocate` order (only those usable on
	``as_of`` when given, so expired points expire rather than pay debt); oldest debt first.
	"""
	frame = _lots_frame(lots)
	_one_customer(frame)
	debts = frame[_negative(frame["remaining"])].sort_values(["opened_on", "lot"], kind="mergesort")
	payers = _spend_order(frame[_positive(frame["remaining"])]) if as_of is None else _usable(frame, as_of)
	owed = [[lot, -value] for lot, value in zip(debts["lot"], debts["remaining"], strict=True)]
	transfers: list[tuple[str, str, Decimal]] = []
	debt_index = 0
	for lot, value in zip(payers["lot"], payers["remaining"], strict=True):
		while value > 0 and debt_index < len(owed):
			moved = min(value, owed[debt_index][1])
			transfers.append((lot, owed[debt_index][0], moved))
			value -= moved
			owed[debt_index][1] -= moved
			if owed[debt_index][1] == 0:
				debt_index += 1
	return transfers


def plan_settlement(
	lots: pd.DataFrame, as_of: date, *, new_name: NameFactory | None = None
) -> list[dict[str, Any]]:
	"""Settle rows for :func:`settle_debt`: ``-x`` on the paying lot, ``+x`` on the debt lot; balance unchanged."""
	namer = _namer(new_name)
	rows: list[dict[str, Any]] = []
	for payer, debt, value in settle_debt(lots, as_of):
		rows.append(_row(namer(), "Settle", -value, as_of, payer, None))
		rows.append(_row(namer(), "Settle", value, as_of, debt, None))
	return rows


def expiring(lots: pd.DataFrame, as_of: date) -> pd.DataFrame:
	"""Lots to expire on ``as_of``: ``lot, points_to_expire`` (+ ``customer`` if the lots have it).

	Vectorised over any number of customers. A lot expiring on D is reported from D + 1 on. Once
	the caller appends the Expire rows (``-points_to_expire`` on the lot) the lot's remaining is 0,
	so a second run the same day reports nothing.
	"""
	frame = _lots_frame(lots)
	day = pd.Timestamp(_as_date(as_of))
	positive = _positive(frame["remaining"])
	past = (frame["expiry_date"].notna() & (frame["expiry_date"] < day)).to_numpy(dtype=bool)
	due = frame[positive & past]
	columns = (["customer"] if "customer" in frame.columns else []) + ["lot", "remaining"]
	return due[columns].rename(columns={"remaining": "points_to_expire"}).reset_index(drop=True)


def plan_expiry(
	lots: pd.DataFrame, as_of: date, *, new_name: NameFactory | None = None
) -> list[dict[str, Any]]:
	"""Expire rows for :func:`expiring`, for callers that handle one customer at a time."""
	due = expiring(lots, as_of)
	return rows_for_draws(
		list(zip(due["lot"], due["points_to_expire"], strict=True)), "Expire", as_of, new_name=new_name
	)


# ---------------------------------------------------------------- small helpers


def _row(
	name: str,
	entry_type: str,
	points: Decimal,
	posting_date: date,
	lot: str,
	reverses: str | None,
	expiry_date: date | None = None,
) -> dict[str, Any]:
	"""A ledger row with exactly :data:`ROW_KEYS`, ready for the Frappe layer to insert."""
	return {
		"name": name,
		"entry_type": entry_type,
		"points": points,
		"posting_date": _as_date(posting_date),
		"expiry_date": expiry_date,
		"lot": lot,
		"reverses": reverses,
	}


def _namer(new_name: NameFactory | None) -> NameFactory:
	"""Rows must be named before insertion because a debt row's lot is its own name."""
	return new_name if new_name is not None else (lambda: uuid.uuid4().hex[:12])


def _as_date(value: date | datetime | pd.Timestamp | str) -> date:
	"""Accept what Frappe hands over (date, datetime, 'YYYY-MM-DD') and compare days only."""
	if isinstance(value, pd.Timestamp):
		return value.date()
	if isinstance(value, datetime):
		return value.date()
	if isinstance(value, date):
		return value
	try:
		return pd.Timestamp(value).date()
	except (ValueError, TypeError):
		raise EngineError(_("Not a date: {0}"), value) from None


def _to_datetime(column: pd.Series) -> pd.Series:
	"""Day-grain datetime64 with NaT for missing, so comparisons are vectorised."""
	if pd.api.types.is_datetime64_any_dtype(column) and getattr(column.dt, "tz", None) is None:
		return column.dt.normalize()
	values = pd.to_datetime(column.astype(object).where(column.notna(), None), errors="coerce")
	bad = values.isna() & column.notna()
	if bad.any():
		raise EngineError(_("Not a date: {0}"), column[bad].iloc[0])
	return values.dt.normalize()
