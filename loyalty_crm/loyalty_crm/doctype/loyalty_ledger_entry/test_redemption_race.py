# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""Two tills spend the same customer's last points at the same moment, on two MariaDB connections."""

import threading
from decimal import Decimal

import frappe
from frappe.tests.utils import FrappeTestCase

from loyalty_crm.testing import (
	balance,
	make_customer,
	points_of,
	pos_sales_invoice,
	sales_invoice,
	set_settings,
)

test_dependencies = ["Sales Invoice", "POS Profile"]


def submit_on_own_connection(site: str, name: str, start: threading.Barrier, outcome: dict):
	"""One till: its own Frappe context and database connection, committed like a web request."""
	frappe.init(site=site)
	frappe.connect()
	try:
		invoice = frappe.get_doc("Sales Invoice", name)
		start.wait(timeout=30)
		invoice.submit()
		frappe.db.commit()
		outcome[name] = "submitted"
	except Exception as error:
		frappe.db.rollback()
		outcome[name] = str(error)
	finally:
		frappe.destroy()


class TestRedemptionRace(FrappeTestCase):
	def test_only_one_till_gets_the_last_points(self):
		set_settings()
		customer = make_customer("LCRM Race")
		sales_invoice(customer, rate=1000)  # 1000 points = 10.00, all of them redeemed by each till
		drafts = [
			pos_sales_invoice(customer, 50, {"Loyalty Points": 10, "Cash": 40}, submit=False)
			for _ in range(2)
		]
		frappe.db.commit()  # the other connections must see the drafts and the points

		start = threading.Barrier(2)
		outcome: dict[str, str] = {}
		tills = [
			threading.Thread(
				target=submit_on_own_connection, args=(frappe.local.site, d.name, start, outcome)
			)
			for d in drafts
		]
		site = frappe.local.site
		for till in tills:
			till.start()
		for till in tills:
			till.join(timeout=120)
		frappe.init(site=site)  # the threads ran in their own contexts; make sure ours is intact
		frappe.db.rollback()

		results = sorted(outcome.values())
		self.assertEqual(len(results), 2, outcome)
		self.assertEqual(results.count("submitted"), 1, outcome)
		refused = next(message for message in results if message != "submitted")
		self.assertIn("Not enough points", refused)
		winner = next(name for name, message in outcome.items() if message == "submitted")
		self.assertEqual(points_of("Sales Invoice", winner, "Redeem"), Decimal("-1000"))
		# 1000 earned - 1000 redeemed + 40 earned on the cash part of the winning sale
		self.assertEqual(balance(customer), Decimal("40"))
