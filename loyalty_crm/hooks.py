app_name = "loyalty_crm"
app_title = "Loyalty CRM"
app_publisher = "loyalty_crm developers"
app_description = "Customer-loyalty CRM for ERPNext: points ledger, tiers, segments, CLV, churn and surveys"
app_email = "dev@loyalty-crm.invalid"
app_license = "MIT"
required_apps = ["frappe/erpnext"]

# Installation
# ------------
# Roles exist before the doctypes that grant them permissions are synced.
before_install = "loyalty_crm.install.before_install"
after_install = "loyalty_crm.install.after_install"
after_migrate = "loyalty_crm.install.after_migrate"
before_uninstall = "loyalty_crm.install.before_uninstall"
after_uninstall = "loyalty_crm.install.after_uninstall"

before_tests = "loyalty_crm.testing.before_tests"

# Every place the app touches ERPNext documents
# --------------------------------------------
doc_events = {
	("Sales Invoice", "POS Invoice"): {
		"before_validate": "loyalty_crm.events.invoice.before_validate",
		"validate": "loyalty_crm.events.invoice.validate",
		"on_submit": "loyalty_crm.events.invoice.on_submit",
		"on_cancel": "loyalty_crm.events.invoice.on_cancel",
	},
	# Survey links made on submit, when Survey Settings say so
	# Campaign coupons: checked and counted on desk Sales Invoices as ERPNext does at the till
	"Sales Invoice": {
		"on_submit": [
			"loyalty_crm.services.surveys.on_invoice_submit",
			"loyalty_crm.events.coupon.on_submit",
		],
		"validate": "loyalty_crm.events.coupon.validate",
		"on_cancel": "loyalty_crm.events.coupon.on_cancel",
	},
	"POS Invoice": {
		"on_submit": "loyalty_crm.services.surveys.on_invoice_submit",
		"validate": "loyalty_crm.events.coupon.validate",
	},
	# Members: a date of birth in the future or before 1900, a card number that is not one, are refused
	"Customer": {
		"validate": [
			"loyalty_crm.services.birthdays.validate_customer",
			"loyalty_crm.services.cards.validate_customer",
		]
	},
}

# The ledger keeps its history when a cancelled invoice is deleted.
ignore_links_on_delete = ["Loyalty Ledger Entry", "Loyalty Tier History"]

scheduler_events = {
	"daily": [
		# expiry, segments, tiers, churn scores and CLV bands: one read, chunked writes
		"loyalty_crm.services.nightly.run_nightly_daily",
		"loyalty_crm.services.campaigns.measure_campaigns_daily",
		"loyalty_crm.services.birthdays.grant_birthday_points_daily",
		# the analytics reports become Prepared Reports once the invoices pass a size
		"loyalty_crm.services.report_scale.update_prepared_reports_daily",
	],
	"weekly": ["loyalty_crm.services.churn.train_churn_weekly"],
}

# Desk and till
# -------------
doctype_js = {
	"Customer": "public/js/customer.js",
	# survey links; a member card number typed into Customer, then Enter, picks the member
	"Sales Invoice": ["public/js/survey_invoice.js", "public/js/member_card_search.js"],
	"POS Invoice": ["public/js/survey_invoice.js", "public/js/member_card_search.js"],
}
page_js = {"point-of-sale": "public/js/pos.js"}
# Report filter labels and the Loyalty CRM breadcrumb (every desk page; the reports call it).
app_include_js = ["/assets/loyalty_crm/js/loyalty_reports.js"]

# Satisfaction surveys
# --------------------
# Print formats call these to put the survey link and its QR code on the receipt.
jinja = {
	"methods": [
		"loyalty_crm.services.surveys.loyalty_survey_qr",
		"loyalty_crm.services.surveys.loyalty_survey_url",
		# the Loyalty Member Card print format: number, Code 128 barcode, QR code
		"loyalty_crm.services.cards.loyalty_member_card",
	],
}

# Surveys are personal data: Frappe's personal data download and deletion find them by email.
user_data_fields = [
	{
		"doctype": "Satisfaction Survey",
		"filter_by": "email",
		"redact_fields": ["comment", "resolution_notes", "email", "customer_name"],
	},
	# The date of birth (birthday rewards); Frappe redacts a Date to 1111-01-01, which earns nothing.
	{
		"doctype": "Customer",
		"filter_by": "email_id",
		"redact_fields": ["loyalty_crm_date_of_birth"],
	},
]
