"""Site health checks for `bench --site S loyalty-crm doctor`.

Each check returns a row (ok, label, detail) rather than printing, so the bench command
prints them and the integration tests assert on them.
"""

from dataclasses import dataclass

import frappe
from frappe import _
from frappe.utils import cint, flt
from frappe.utils.scheduler import is_scheduler_disabled

from loyalty_crm.install import LOYALTY_MODE_OF_PAYMENT, ROLES, get_custom_fields

SUPPORTED_MAJOR = 15


@dataclass
class Check:
	ok: bool
	label: str
	detail: str
	blocking: bool = True


def run_checks() -> list[Check]:
	return [
		check_app_installed(),
		check_erpnext_version(),
		check_custom_fields(),
		check_roles(),
		check_scheduler(),
		*check_settings(),
		check_mode_of_payment(),
	]


def is_healthy(checks: list[Check]) -> bool:
	return all(check.ok for check in checks if check.blocking)


def check_app_installed() -> Check:
	installed = "loyalty_crm" in frappe.get_installed_apps()
	return Check(
		installed, _("App installed"), _("loyalty_crm is installed") if installed else _("not installed")
	)


def check_erpnext_version() -> Check:
	if "erpnext" not in frappe.get_installed_apps():
		return Check(False, _("ERPNext"), _("ERPNext is not installed on this site"))
	version = frappe.get_attr("erpnext.__version__")
	major = cint(str(version).split(".")[0])
	return Check(
		major == SUPPORTED_MAJOR,
		_("ERPNext version"),
		_("{0} (supported: {1}.x)").format(version, SUPPORTED_MAJOR),
	)


def check_custom_fields() -> Check:
	missing = [
		f"{doctype}.{field['fieldname']}"
		for doctype, fields in get_custom_fields().items()
		for field in fields
		if not frappe.db.exists("Custom Field", {"dt": doctype, "fieldname": field["fieldname"]})
	]
	return Check(
		not missing,
		_("Custom fields"),
		_("all present") if not missing else _("missing: {0} (run bench migrate)").format(", ".join(missing)),
	)


def check_roles() -> Check:
	missing = [role for role in ROLES if not frappe.db.exists("Role", role)]
	return Check(
		not missing,
		_("Roles"),
		_("all present") if not missing else _("missing: {0} (run bench migrate)").format(", ".join(missing)),
	)


def check_scheduler() -> Check:
	"""Not blocking: a development site runs without the scheduler, but expiry then never runs."""
	disabled = is_scheduler_disabled(verbose=False)
	return Check(
		not disabled,
		_("Scheduler"),
		_("enabled") if not disabled else _("disabled: points will not expire and nightly jobs will not run"),
		blocking=False,
	)


def check_settings() -> list[Check]:
	settings = frappe.get_single("Loyalty Settings")
	checks = [
		Check(
			flt(settings.points_per_unit) > 0 or not settings.enable_accrual,
			_("Points per currency unit"),
			str(flt(settings.points_per_unit)),
		),
		Check(
			0 <= cint(settings.points_precision) <= 6,
			_("Points decimals"),
			_("{0} (must be 0 to 6)").format(cint(settings.points_precision)),
		),
		Check(flt(settings.point_value) >= 0, _("Value of one point"), str(flt(settings.point_value))),
	]
	return checks


def check_mode_of_payment() -> Check:
	if not frappe.db.exists("Mode of Payment", LOYALTY_MODE_OF_PAYMENT):
		return Check(
			False,
			_("Mode of payment"),
			_("{0} is missing (run bench migrate)").format(LOYALTY_MODE_OF_PAYMENT),
		)
	mapped = set(
		frappe.get_all("Mode of Payment Account", {"parent": LOYALTY_MODE_OF_PAYMENT}, pluck="company")
	)
	unmapped = [company for company in frappe.get_all("Company", pluck="name") if company not in mapped]
	return Check(
		not unmapped,
		_("Mode of payment accounts"),
		_("every company has an account")
		if not unmapped
		else _("no account for: {0} (run bench migrate)").format(", ".join(unmapped)),
		blocking=False,
	)
