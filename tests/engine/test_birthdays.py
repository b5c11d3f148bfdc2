"""Birthday rules: the 29 February rule, the catch-up days, the birthday week, redacted dates."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from loyalty_crm.engine import birthdays as B
from loyalty_crm.engine.errors import EngineError


def test_29_february_is_28_february_in_common_years_only():
	born = date(2000, 2, 29)
	assert B.birthday_on(born, 2026) == date(2026, 2, 28)
	assert B.birthday_on(born, 2028) == date(2028, 2, 29)
	assert B.birthday_on(born, 2100) == date(2100, 2, 28)  # 2100 is not a leap year
	assert B.birthday_on(date(1990, 3, 1), 2026) == date(2026, 3, 1)


def test_reward_is_due_from_the_birthday_to_the_catch_up_days():
	born = date(1990, 3, 14)
	assert B.reward_birthday(born, date(2026, 3, 13)) is None
	for late in range(B.CATCH_UP_DAYS + 1):
		assert B.reward_birthday(born, date(2026, 3, 14) + timedelta(days=late)) == date(2026, 3, 14)
	assert B.reward_birthday(born, date(2026, 3, 14) + timedelta(days=B.CATCH_UP_DAYS + 1)) is None


def test_december_birthday_caught_up_in_january_is_last_years():
	assert B.reward_birthday(date(1970, 12, 30), date(2027, 1, 2)) == date(2026, 12, 30)


def test_birthday_week_is_centred_and_crosses_the_new_year():
	born = date(1990, 1, 2)
	assert not B.in_birthday_week(born, date(2025, 12, 29))
	assert B.in_birthday_week(born, date(2025, 12, 30))
	assert B.in_birthday_week(born, date(2026, 1, 5))
	assert not B.in_birthday_week(born, date(2026, 1, 6))
	assert not B.in_birthday_week(None, date(2026, 1, 2))


def test_unknown_dates_earn_nothing():
	today = date(2026, 1, 1)
	assert B.reward_birthday(date(1111, 1, 1), today) is None  # Frappe's redaction value
	assert B.reward_birthday(date(2027, 1, 1), today) is None  # in the future


def test_due_rewards_matches_the_single_customer_rule_for_every_day_of_two_years():
	births = pd.Series(
		pd.to_datetime(
			[
				"2000-02-29",
				"1990-03-14",
				"1970-12-30",
				"1985-01-01",
				"1111-01-01",
				None,
				"2030-01-01",
				"1996-02-28",
			]
		),
		index=pd.Index([f"C{i}" for i in range(8)], name="customer"),
	)
	day = date(2027, 1, 1)
	while day < date(2029, 1, 1):
		due = B.due_rewards(births, day)
		expected = {
			customer: B.reward_birthday(value.date(), day)
			for customer, value in births.items()
			if not pd.isna(value) and B.reward_birthday(value.date(), day) is not None
		}
		assert due.to_dict() == expected, day
		day += timedelta(days=1)


def test_due_rewards_on_many_customers_is_one_pass():
	rng = np.random.default_rng(7)
	days = rng.integers(0, 365 * 60, size=100_000)
	births = pd.Series(pd.Timestamp("1950-01-01") + pd.to_timedelta(days, unit="D"))
	due = B.due_rewards(births, date(2026, 7, 1))
	# about CATCH_UP_DAYS + 1 days' worth of birthdays out of 365
	assert 0.5 * 4 / 365 < len(due) / len(births) < 1.5 * 4 / 365


def test_bad_input():
	with pytest.raises(EngineError, match="Series"):
		B.due_rewards([date(1990, 1, 1)], date(2026, 1, 1))
	with pytest.raises(EngineError, match="in the future"):
		B.validate_date_of_birth(date(2030, 1, 1), date(2026, 1, 1))
	with pytest.raises(EngineError, match="before 1900"):
		B.validate_date_of_birth(date(1111, 1, 1), date(2026, 1, 1))
