"""Birthdays: which day a birthday falls on in a given year, the birthday week, who is due a reward.

The 29 February rule: a customer born on 29 February celebrates on **28 February** in a year
that has no 29 February. We keep the birthday inside its own month (1 March would move a
February birthday into March, so a "February birthdays" offer would miss them) and it is the
rule most civil codes use for coming of age. In leap years it is 29 February as usual.

The reward is due on the birthday itself; if the daily job did not run that day (the scheduler
was off, the server down), the next run up to :data:`CATCH_UP_DAYS` later still grants it, so
nobody loses their birthday points to an outage. Each birthday earns once: the Frappe layer
refuses a second grant for the same birthday.

The till shows a birthday badge during the *birthday week*: from :data:`WEEK_BEFORE` days
before to :data:`WEEK_AFTER` days after the birthday, seven days centred on it, so a customer
shopping for their party a few days early is greeted too.

Dates of birth before 1900 are treated as unknown: Frappe's personal data deletion replaces a
redacted Date with 1111-01-01, and that must not earn a New Year's birthday.
"""

from __future__ import annotations

import calendar
from datetime import date

import numpy as np
import pandas as pd

from loyalty_crm.engine.errors import EngineError, _

CATCH_UP_DAYS = 3
WEEK_BEFORE = 3
WEEK_AFTER = 3
EARLIEST_YEAR = 1900


def birthday_on(date_of_birth: date, year: int) -> date:
	"""The day ``date_of_birth`` is celebrated in ``year`` (29 February -> 28 February in common years)."""
	if date_of_birth.month == 2 and date_of_birth.day == 29 and not calendar.isleap(year):
		return date(year, 2, 28)
	return date(year, date_of_birth.month, date_of_birth.day)


def nearest_birthday(date_of_birth: date, today: date) -> date:
	"""The celebration of last, this or next year closest to ``today`` (a late-December birthday seen in January)."""
	candidates = [birthday_on(date_of_birth, today.year + shift) for shift in (-1, 0, 1)]
	return min(candidates, key=lambda day: abs((day - today).days))


def is_known(date_of_birth: date | None, today: date) -> bool:
	"""A date of birth worth celebrating: set, not in the future, not a redaction placeholder."""
	return date_of_birth is not None and EARLIEST_YEAR <= date_of_birth.year and date_of_birth <= today


def in_birthday_week(date_of_birth: date | None, today: date) -> bool:
	"""True from WEEK_BEFORE days before to WEEK_AFTER days after the (nearest) birthday."""
	if not is_known(date_of_birth, today):
		return False
	offset = (today - nearest_birthday(date_of_birth, today)).days
	return -WEEK_BEFORE <= offset <= WEEK_AFTER


def reward_birthday(date_of_birth: date | None, today: date) -> date | None:
	"""The birthday a reward on ``today`` would be for, or None when none is due today.

	Due from the birthday to CATCH_UP_DAYS after it; before the birthday nothing is due yet.
	"""
	if not is_known(date_of_birth, today):
		return None
	birthday = nearest_birthday(date_of_birth, today)
	return birthday if 0 <= (today - birthday).days <= CATCH_UP_DAYS else None


def due_rewards(dates_of_birth: pd.Series, today: date) -> pd.Series:
	"""For a Series of dates of birth indexed by customer: the birthday each due customer is rewarded for.

	Vectorised over all customers (the daily job reads every customer with a date of birth): the
	celebration day is computed for last, this and next year with the 29 February rule, and a
	customer is due when one of them lies between CATCH_UP_DAYS days ago and today. Returns a
	Series (customer -> birthday as ``date``) of the due customers only.
	"""
	if not isinstance(dates_of_birth, pd.Series):
		raise EngineError(_("Dates of birth must be a Series indexed by customer"))
	dob = pd.to_datetime(dates_of_birth, errors="coerce")
	today_ts = pd.Timestamp(today)
	known = dob.notna() & (dob.dt.year >= EARLIEST_YEAR) & (dob <= today_ts)
	dob = dob[known]
	if dob.empty:
		return pd.Series([], dtype=object, index=pd.Index([], name=dates_of_birth.index.name))
	month = dob.dt.month.to_numpy()
	day = dob.dt.day.to_numpy()
	due = pd.Series(pd.NaT, index=dob.index, dtype="datetime64[ns]")
	for year in (today.year - 1, today.year):
		leap = calendar.isleap(year)
		day_in_year = np.where((month == 2) & (day == 29) & (not leap), 28, day)
		celebrated = pd.to_datetime(
			pd.DataFrame({"year": year, "month": month, "day": day_in_year}, index=dob.index)
		)
		offset = (today_ts - celebrated).dt.days
		due = due.where(~((offset >= 0) & (offset <= CATCH_UP_DAYS)), celebrated)
	due = due.dropna()
	return pd.Series([stamp.date() for stamp in due], index=due.index, dtype=object)


def validate_date_of_birth(date_of_birth: date, today: date) -> None:
	"""Refuse a date of birth in the future or before 1900, naming the value."""
	if date_of_birth > today:
		raise EngineError(_("Date of birth {0} is in the future"), date_of_birth.isoformat())
	if date_of_birth.year < EARLIEST_YEAR:
		raise EngineError(_("Date of birth {0} is before 1900"), date_of_birth.isoformat())
