"""Give a kit site the company ERPNext's own test suites expect, before they run.

ERPNext's CI makes its site with `bench run-tests`, whose `before_tests` hook runs the setup
wizard for the company "Wind Power LLC" when no company exists. The kit's sites were set up for
"Test Retail" instead, so that hook does nothing there and every Sales Invoice test fails in
setUp ("Could not find Company: Wind Power LLC"). A baseline that fails everything compares
nothing, so both sites of the comparison get the same company, made the way the setup wizard
makes it, before either runs a suite.

Run with the bench's Python from its sites folder: `../env/bin/python prepare_site.py SITE`.
"""

import sys

import frappe


def prepare(site: str) -> None:
	frappe.init(site=site, sites_path=".")
	frappe.connect()
	try:
		if not frappe.db.exists("Company", "Wind Power LLC"):
			frappe.get_doc(
				{
					"doctype": "Company",
					"company_name": "Wind Power LLC",
					"abbr": "WP",
					"default_currency": "USD",
					"country": "United States",
					"chart_of_accounts": "Standard",
					"create_chart_of_accounts_based_on": "Standard Template",
				}
			).insert(ignore_permissions=True)
		frappe.db.commit()
		print(f"{site}: company Wind Power LLC ready")
	finally:
		frappe.destroy()


if __name__ == "__main__":
	prepare(sys.argv[1])
