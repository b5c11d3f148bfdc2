"""A launched and measured Retention Campaign for the browser check (tests/browser/campaign_results.py).

Run by `bench --site S execute loyalty_crm.testing_campaigns.browser_campaign`; it leaves 40
customers, a segment, their invoices and the campaign on the site (committed), as a manual test
would. Treated customers buy more often than control customers, so the results show a lift.
"""

from __future__ import annotations

import frappe
from frappe.utils import add_days, nowdate

from loyalty_crm.testing import COMPANY, before_tests, make_customer, sales_invoice


def browser_campaign() -> dict:
	from loyalty_crm.loyalty_crm.doctype.retention_campaign.test_retention_campaign import (
		make_campaign,
		make_segment,
	)
	from loyalty_crm.services import campaigns

	before_tests()
	frappe.db.set_single_value("Loyalty Settings", "enable_accrual", 1)
	customers = [make_customer("Browser Campaign") for _index in range(40)]
	for index, customer in enumerate(customers):
		frappe.db.set_value("Customer", customer, "loyalty_crm_segment", ("At Risk", "Lapsed")[index % 2])
	launch = add_days(nowdate(), -20)
	doc = make_campaign(
		make_segment(customers),
		campaign_name=f"Win-back {frappe.generate_hash(length=4)}",
		launch_date=launch,
		end_date=add_days(launch, 13),
		measurement_days=30,
		control_share=25,
		offer_type="Bonus Points",
		bonus_points=200,
		points_expiry_days=60,
	)
	campaigns.launch(doc.name)
	groups = dict(
		frappe.get_all(
			"Retention Campaign Member",
			filters={"campaign": doc.name},
			fields=["customer", "campaign_group"],
			as_list=True,
		)
	)
	for index, customer in enumerate(sorted(groups)):
		treated = groups[customer] == "Treated"
		# about 70 % of treated and 30 % of control customers come back, on spread-out days
		if (index % 10) < (7 if treated else 3):
			day = (index * 7) % 20
			sales_invoice(
				customer,
				rate=80 + (index * 37) % 120,
				posting_date=add_days(launch, day),
				set_posting_time=1,
			)
	campaigns.measure(doc.name)
	frappe.db.commit()
	return {"campaign": doc.name, "company": COMPANY}
