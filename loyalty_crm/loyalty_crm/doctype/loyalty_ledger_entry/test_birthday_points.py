# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Birthday points on a real site: once per birthday, the 29 February rule, catch-up days, redaction."""

from decimal import Decimal

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.services import birthdays, ledger
from loyalty_crm.testing import make_customer, set_settings

test_dependencies = ["Customer", "Company"]


def birthday_rows(customer):
	return frappe.get_all(
		ledger.LEDGER,
		filters={"customer": customer, "entry_type": "Birthday"},
		fields=["points", "posting_date", "reason", "company", "lot", "name"],
		order_by="posting_date asc",
	)


def born(date_of_birth, prefix="Birthday"):
	customer = make_customer(prefix)
	frappe.db.set_value("Customer", customer, birthdays.DOB_FIELD, date_of_birth)
	return customer


class TestBirthdayPoints(FrappeTestCase):
	def setUp(self):
		set_settings(birthday_points=25)

	def tearDown(self):
		frappe.db.rollback()
		frappe.clear_document_cache("Loyalty Settings", "Loyalty Settings")

	def test_once_per_year_and_again_next_year(self):
		customer = born("1990-03-14")
		birthdays.grant_due("2026-03-13")  # the day before: nothing yet
		self.assertEqual(birthday_rows(customer), [])

		birthdays.grant_due("2026-03-14")
		rows = birthday_rows(customer)
		self.assertEqual(len(rows), 1)
		self.assertEqual(Decimal(str(rows[0].points)), Decimal(25))
		self.assertEqual(str(rows[0].posting_date), "2026-03-14")
		self.assertEqual(rows[0].lot, rows[0].name)  # a lot of its own, spendable like earned points
		self.assertEqual(rows[0].reason, "Birthday 2026-03-14")
		self.assertEqual(ledger.balance(customer), Decimal(25))

		# the daily job again the same day and the next days: nothing more
		birthdays.grant_due("2026-03-14")
		birthdays.grant_due("2026-03-16")
		self.assertEqual(len(birthday_rows(customer)), 1)
		# asked for explicitly: refused with a message, nothing written
		with self.assertRaisesRegex(birthdays.BirthdayRewardError, "already received the birthday points"):
			birthdays.grant_birthday_points(customer, "2026-03-15")
		self.assertEqual(len(birthday_rows(customer)), 1)

		birthdays.grant_due("2027-03-14")
		self.assertEqual(
			[str(row.posting_date) for row in birthday_rows(customer)], ["2026-03-14", "2027-03-14"]
		)

	def test_missed_days_are_caught_up_then_the_birthday_is_gone(self):
		caught, missed = born("1985-06-01"), born("1985-06-01")
		birthdays.grant_due("2026-06-04")  # scheduler off for three days
		self.assertEqual(len(birthday_rows(caught)), 1)
		self.assertEqual(birthday_rows(caught)[0].reason, "Birthday 2026-06-01")
		frappe.db.delete(ledger.LEDGER, {"customer": missed})  # as if 'missed' were a new member
		birthdays.grant_due("2026-06-05")  # four days late: too late
		self.assertEqual(birthday_rows(missed), [])
		with self.assertRaisesRegex(birthdays.BirthdayRewardError, "No birthday of customer"):
			birthdays.grant_birthday_points(missed, "2026-06-05")

	def test_29_february_is_28_february_in_common_years(self):
		leapling = born("2000-02-29")
		birthdays.grant_due("2026-02-27")
		self.assertEqual(birthday_rows(leapling), [])
		birthdays.grant_due("2026-02-28")
		self.assertEqual([row.reason for row in birthday_rows(leapling)], ["Birthday 2026-02-28"])
		birthdays.grant_due("2026-03-01")  # no second one the next day
		self.assertEqual(len(birthday_rows(leapling)), 1)

		# in a leap year it is 29 February, and 28 February earns nothing
		birthdays.grant_due("2028-02-28")
		self.assertEqual(len(birthday_rows(leapling)), 1)
		birthdays.grant_due("2028-02-29")
		self.assertEqual([row.reason for row in birthday_rows(leapling)][-1], "Birthday 2028-02-29")
		with self.assertRaisesRegex(birthdays.BirthdayRewardError, "already received"):
			birthdays.grant_birthday_points(leapling, "2028-03-01")

	def test_late_december_birthday_caught_up_in_january_counts_for_its_year(self):
		customer = born("1970-12-30")
		birthdays.grant_due("2027-01-02")
		self.assertEqual([row.reason for row in birthday_rows(customer)], ["Birthday 2026-12-30"])
		birthdays.grant_due("2026-12-30")  # that birthday again: refused quietly by the job
		self.assertEqual(len(birthday_rows(customer)), 1)

	def test_off_redacted_and_disabled_earn_nothing(self):
		redacted = born("1111-01-01")  # what Frappe's personal data deletion writes into a Date
		disabled = born("1990-01-01")
		frappe.db.set_value("Customer", disabled, "disabled", 1)
		birthdays.grant_due("2026-01-01")
		self.assertEqual((birthday_rows(redacted), birthday_rows(disabled)), ([], []))

		set_settings(birthday_points=0)
		customer = born("1990-01-01")
		self.assertEqual(birthdays.grant_due("2026-01-01"), 0)
		self.assertEqual(birthday_rows(customer), [])
		with self.assertRaisesRegex(birthdays.BirthdayRewardError, "Birthday points are off"):
			birthdays.grant_birthday_points(customer, "2026-01-01")

	def test_deletion_request_redacts_the_date_of_birth_and_it_earns_nothing(self):
		from frappe.website.doctype.personal_data_download_request.personal_data_download_request import (
			get_user_data,
		)

		email = f"born-{frappe.generate_hash(length=6)}@example.com"
		frappe.get_doc(
			{"doctype": "User", "email": email, "first_name": "Born", "send_welcome_email": 0}
		).insert(ignore_permissions=True)
		customer = born("1990-01-01")
		frappe.db.set_value("Customer", customer, "email_id", email)
		self.assertIn(customer, get_user_data(email), "the personal data download includes the customer")
		# Frappe's own flow, minus the confirmation email
		request = frappe.get_doc(
			{"doctype": "Personal Data Deletion Request", "email": email, "status": "Pending Approval"}
		)
		request.autoname()
		request.db_insert()
		request._anonymize_data(email=email)
		redacted = frappe.db.get_value("Customer", customer, birthdays.DOB_FIELD)
		self.assertNotEqual(str(redacted), "1990-01-01")
		birthdays.grant_due("2026-01-01")
		birthdays.grant_due(str(redacted).replace("1111", "2026"))
		self.assertEqual(birthday_rows(customer), [])

	def test_date_of_birth_in_the_future_is_refused_on_save(self):
		doc = frappe.get_doc("Customer", make_customer())
		doc.set(birthdays.DOB_FIELD, "2999-01-01")
		with self.assertRaisesRegex(frappe.ValidationError, "Date of birth 2999-01-01 is in the future"):
			doc.save()

	def test_birthday_week_badge(self):
		customer = born("1990-01-02")
		self.assertEqual(birthdays.birthday_status(customer, "2025-12-29"), {"birthday_week": False})
		status = birthdays.birthday_status(customer, "2025-12-30")  # 3 days before, across the new year
		self.assertEqual(
			(status["birthday_week"], status["birthday"], status["is_today"]), (True, "2026-01-02", False)
		)
		self.assertTrue(birthdays.birthday_status(customer, "2026-01-02")["is_today"])
		self.assertTrue(birthdays.birthday_status(customer, "2026-01-05")["birthday_week"])
		self.assertFalse(birthdays.birthday_status(customer, "2026-01-06")["birthday_week"])

	def test_birthday_email_is_queued_when_a_template_is_chosen(self):
		from loyalty_crm.testing import ensure_outgoing_email_account

		ensure_outgoing_email_account()
		birthdays.make_birthday_email_template()
		set_settings(birthday_points=25, birthday_email_template=birthdays.EMAIL_TEMPLATE)
		customer = born("1990-05-05")
		frappe.db.set_value("Customer", customer, "email_id", "birthday-test@example.com")
		birthdays.grant_due("2026-05-05")
		queued = frappe.get_all(
			"Email Queue",
			filters={"reference_doctype": "Customer", "reference_name": customer},
			fields=["message"],
		)
		self.assertEqual(len(queued), 1)
		self.assertIn("25", queued[0].message)
