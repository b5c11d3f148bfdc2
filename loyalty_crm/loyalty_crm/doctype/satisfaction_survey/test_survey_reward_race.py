# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Two answers about the same invoice at the same moment, on two MariaDB connections: one reward."""

import threading
from decimal import Decimal

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.testing import balance, make_customer, sales_invoice, set_settings, survey_template

test_dependencies = ["Sales Invoice"]


def answer_on_own_connection(site: str, answer: dict, start: threading.Barrier, outcome: list):
	"""One desk user: their own Frappe context and connection, committed like a web request."""
	frappe.init(site=site)
	frappe.connect()
	try:
		survey = frappe.get_doc({"doctype": "Satisfaction Survey", **answer})
		start.wait(timeout=30)
		survey.insert(ignore_permissions=True)
		frappe.db.commit()
		outcome.append(float(frappe.db.get_value("Satisfaction Survey", survey.name, "points_awarded") or 0))
	except Exception as error:
		frappe.db.rollback()
		outcome.append(str(error))
	finally:
		frappe.destroy()


class TestSurveyRewardRace(FrappeTestCase):
	def test_two_answers_at_once_are_rewarded_once(self):
		set_settings()
		template = survey_template(reward_points=25)  # also the default template
		customer = make_customer("LCRM Survey Race")
		invoice = sales_invoice(customer, rate=100)
		frappe.db.commit()  # the other connections must see the invoice and the template
		before = balance(customer)

		answer = {
			"customer": customer,
			"source_doctype": "Sales Invoice",
			"source_name": invoice.name,
			"template": template,
		}
		start = threading.Barrier(2)
		outcome: list = []
		site = frappe.local.site
		desks = [
			threading.Thread(
				target=answer_on_own_connection, args=(site, {**answer, "csat": csat}, start, outcome)
			)
			for csat in (4, 5)
		]
		for desk in desks:
			desk.start()
		for desk in desks:
			desk.join(timeout=120)
		frappe.init(site=site)
		frappe.db.rollback()

		self.assertTrue(all(isinstance(points, float) for points in outcome), outcome)
		self.assertEqual(sorted(outcome), [0.0, 25.0], outcome)
		earn = frappe.get_all(
			"Loyalty Ledger Entry",
			filters={"against_voucher_no": invoice.name, "voucher_type": "Satisfaction Survey"},
			pluck="points",
		)
		self.assertEqual(earn, [25])
		self.assertEqual(balance(customer), before + Decimal(25))
