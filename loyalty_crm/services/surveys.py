"""Satisfaction surveys: signed survey links, answers, reward points and the receipt QR code.

A link carries a token ``<payload>.<signature>``: the payload names the invoice (doctype,
name), its customer and the last day the link is valid; the signature is HMAC-SHA256 over the
payload with the site's secret (Survey Settings, stored encrypted). The token is deterministic,
so the receipt can be printed again and shows the same link. Only a hash of the token is
stored, in a Survey Invitation; its row lock makes the link single-use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit
from frappe.utils import add_days, cint, flt, get_url, getdate, now_datetime, nowdate

from loyalty_crm.engine import points as points_engine
from loyalty_crm.engine.errors import EngineError
from loyalty_crm.engine.surveys import SCORES
from loyalty_crm.services import ledger

SETTINGS = "Survey Settings"
SURVEY = "Satisfaction Survey"
INVITATION = "Survey Invitation"
INVOICE_DOCTYPES = ("Sales Invoice", "POS Invoice")
LANGUAGES = ("en", "zh")
MAX_COMMENT = 2000
SCORE_LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}


class SurveyLinkError(frappe.ValidationError):
	"""A survey link that cannot be answered: invalid, expired, used or not for this invoice."""


# ---------------------------------------------------------------- settings and secret


def settings():
	return frappe.get_cached_doc(SETTINGS)


def ensure_secret() -> None:
	"""Install and migrate create the signing secret once; it never changes afterwards."""
	if not frappe.db.exists("DocType", SETTINGS):
		return
	doc = frappe.get_single(SETTINGS)
	if doc.get_password("token_secret", raise_exception=False):
		return
	doc.token_secret = secrets.token_urlsafe(48)
	doc.flags.ignore_permissions = True
	doc.save()
	frappe.clear_document_cache(SETTINGS, SETTINGS)


def _secret() -> bytes:
	secret = frappe.get_single(SETTINGS).get_password("token_secret", raise_exception=False)
	if not secret:
		ensure_secret()
		secret = frappe.get_single(SETTINGS).get_password("token_secret", raise_exception=False)
	return secret.encode()


# ---------------------------------------------------------------- tokens


def _b64(data: bytes) -> str:
	return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
	return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(doctype: str, name: str, customer: str, expires_on) -> str:
	"""HMAC-SHA256 over (invoice doctype, invoice name, customer, last valid day)."""
	payload = json.dumps(
		[doctype, name, customer, str(getdate(expires_on))], separators=(",", ":"), ensure_ascii=False
	)
	body = _b64(payload.encode())
	signature = hmac.new(_secret(), body.encode(), hashlib.sha256).digest()
	return f"{body}.{_b64(signature)}"


def token_hash(token: str) -> str:
	return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class LinkCheck:
	"""What a token is worth: ``status`` is ok, invalid, expired, used or foreign."""

	status: str
	message: str = ""
	doctype: str | None = None
	name: str | None = None
	customer: str | None = None
	expires_on: date | None = None
	invitation: str | None = None

	@property
	def ok(self) -> bool:
		return self.status == "ok"


def check_token(token: str | None) -> LinkCheck:
	"""Verify a token's signature, expiry, invoice, customer and use, writing nothing."""
	invalid = LinkCheck(
		"invalid", _("This survey link is not valid. Please use the link or QR code on your receipt.")
	)
	token = (token or "").strip()
	if not token or len(token) > 1000 or token.count(".") != 1:
		return invalid
	body, signature = token.split(".")
	try:
		expected = hmac.new(_secret(), body.encode(), hashlib.sha256).digest()
		if not hmac.compare_digest(expected, _unb64(signature)):
			return invalid
		doctype, name, customer, expires_on = json.loads(_unb64(body).decode())
		expires_on = getdate(expires_on)
	except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
		return invalid
	check = LinkCheck("ok", "", doctype, name, customer, expires_on)
	if doctype not in INVOICE_DOCTYPES:
		return invalid
	invoice_customer = frappe.db.get_value(doctype, {"name": name, "docstatus": 1}, "customer")
	if not invoice_customer:
		return invalid
	if invoice_customer != customer:
		check.status = "foreign"
		check.message = _(
			"This survey link belongs to another customer's purchase, so it cannot be used here."
		)
		return check
	if expires_on < getdate(nowdate()):
		check.status = "expired"
		check.message = _("This survey link expired on {0}. Thank you for your interest.").format(
			frappe.format(expires_on, {"fieldtype": "Date"})
		)
		return check
	invitation = frappe.db.get_value(INVITATION, token_hash(token), ["name", "used_on"], as_dict=True)
	if invitation:
		check.invitation = invitation.name
		if invitation.used_on:
			check.status = "used"
			check.message = _("This survey has already been answered. Thank you!")
	elif _answered_invitation(doctype, name):
		check.status = "used"
		check.message = _("This survey has already been answered. Thank you!")
	return check


def _answered_invitation(doctype: str, name: str) -> str | None:
	return frappe.db.get_value(
		INVITATION, {"source_doctype": doctype, "source_name": name, "used_on": ("is", "set")}
	)


# ---------------------------------------------------------------- invitations and links


def _check_invoice(doc) -> None:
	if doc.doctype not in INVOICE_DOCTYPES:
		frappe.throw(_("Survey links are made for Sales Invoices and POS Invoices only"))
	if doc.docstatus != 1:
		frappe.throw(_("Submit the invoice before creating its survey link"))
	if doc.get("is_return"):
		frappe.throw(_("A return has no survey link; use the original invoice"))
	if not doc.customer:
		frappe.throw(_("The invoice has no customer to ask"))


def issue_invitation(doc, expires_on=None) -> str:
	"""The invoice's open survey link, made once; an expired one is replaced by a new one.

	Returns the token. A used link is refused: an invoice is answered once.
	"""
	_check_invoice(doc)
	if _answered_invitation(doc.doctype, doc.name):
		frappe.throw(
			_("The survey for {0} {1} has already been answered").format(_(doc.doctype), doc.name),
			SurveyLinkError,
		)
	if expires_on is None:
		open_until = frappe.db.get_value(
			INVITATION,
			{
				"source_doctype": doc.doctype,
				"source_name": doc.name,
				"customer": doc.customer,
				"expires_on": (">=", nowdate()),
			},
			"max(expires_on)",
		)
		if open_until:
			return make_token(doc.doctype, doc.name, doc.customer, open_until)
		expires_on = add_days(nowdate(), cint(settings().invitation_valid_days) or 30)
	token = make_token(doc.doctype, doc.name, doc.customer, expires_on)
	_insert_invitation(token, doc.doctype, doc.name, doc.customer, expires_on, doc.company)
	return token


def _insert_invitation(token: str, doctype: str, name: str, customer: str, expires_on, company=None) -> str:
	digest = token_hash(token)
	if frappe.db.exists(INVITATION, digest):
		return digest
	try:
		_new_invitation(digest, doctype, name, customer, expires_on, company)
	except frappe.DuplicateEntryError:
		pass  # a parallel request made it first; the caller's row lock sorts out who answers
	return digest


def _new_invitation(digest: str, doctype: str, name: str, customer: str, expires_on, company=None):
	frappe.get_doc(
		{
			"doctype": INVITATION,
			"token_hash": digest,
			"customer": customer,
			"company": company or frappe.db.get_value(doctype, name, "company"),
			"template": settings().default_template,
			"source_doctype": doctype,
			"source_name": name,
			"issued_on": now_datetime(),
			"expires_on": getdate(expires_on),
		}
	).insert(ignore_permissions=True)


def survey_url(token: str, lang: str | None = None) -> str:
	query = {"t": token, **({"lang": lang} if lang else {})}
	return get_url("/survey?" + urlencode(query))


@frappe.whitelist()
def get_survey_link(doctype: str, name: str) -> dict:
	"""The button on Sales/POS Invoice forms: the invoice's survey link, made on request."""
	doc = frappe.get_doc(doctype, name)
	doc.check_permission("read")
	token = issue_invitation(doc)
	url = survey_url(token)
	return {"url": url, "qr": qr_data_uri(url), "expires_on": str(check_token(token).expires_on)}


def on_invoice_submit(doc, method=None) -> None:
	"""doc_events: with the setting on, every submitted invoice gets its survey link at once."""
	config = settings()
	if not (config.enable_surveys and config.issue_on_submit):
		return
	if doc.get("is_return") or doc.get("is_consolidated") or not doc.customer:
		return
	issue_invitation(doc)


# ---------------------------------------------------------------- QR code on the receipt


def qr_data_uri(url: str) -> str:
	import segno

	return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


def loyalty_survey_qr(doc) -> str:
	"""Jinja method for print formats: the invoice's survey link as an SVG QR data URI.

	Empty for drafts, returns and when surveys are off, so a print format can always call it.
	"""
	url = loyalty_survey_url(doc)
	return qr_data_uri(url) if url else ""


def loyalty_survey_url(doc) -> str:
	"""Jinja method: the invoice's survey link (made on first print), or empty where none applies."""
	doc = frappe._dict(doc.as_dict() if hasattr(doc, "as_dict") else doc)
	if (
		doc.get("doctype") not in INVOICE_DOCTYPES
		or doc.get("docstatus") != 1
		or doc.get("is_return")
		or doc.get("is_consolidated")
		or not doc.get("customer")
		or not settings().enable_surveys
	):
		return ""
	try:
		token = issue_invitation(frappe.get_doc(doc.doctype, doc.name))
	except SurveyLinkError:
		return ""
	return survey_url(token)


# ---------------------------------------------------------------- answers


def validate_answers(doc) -> None:
	"""Scores in range, whole numbers, comment not too long, with messages a customer understands."""
	for field, (low, high) in SCORES.items():
		value = doc.get(field)
		if not _given(doc, field):
			doc.set(field, 0)
			if field == "nps":
				doc.nps_answered = 0
			continue
		number = whole_number(value)
		if number is None:
			frappe.throw(
				_("{0} must be a whole number from {1} to {2}, got {3}").format(
					_(SCORE_LABELS[field]), low, high, frappe.bold(str(value)[:20])
				),
				title=_("Invalid Answer"),
			)
		if not low <= number <= high:
			frappe.throw(
				_("{0} must be between {1} and {2}, got {3}").format(
					_(SCORE_LABELS[field]), low, high, number
				),
				title=_("Invalid Answer"),
			)
		doc.set(field, number)
		if field == "nps":
			doc.nps_answered = 1
	comment = doc.comment or ""
	if len(comment) > MAX_COMMENT:
		frappe.throw(
			_("The comment is {0} characters long; please keep it to {1}").format(len(comment), MAX_COMMENT),
			title=_("Invalid Answer"),
		)
	if not any(doc.get(field) for field in ("nps_answered", "csat", "ces")) and not (
		comment.strip() or cint(doc.complaint)
	):
		frappe.throw(_("Answer at least one question"), title=_("Invalid Answer"))


def _given(doc, field: str) -> bool:
	"""Whether a score was answered. Int columns store an unanswered score as 0, and NPS 0 is a
	real answer, so a stored 0 counts as answered only where the answer flag says so."""
	value = doc.get(field)
	if value is None or (isinstance(value, str) and not value.strip()):
		return False
	if doc.is_new() or whole_number(value) != 0:
		return True
	before = doc.get_doc_before_save()
	if field == "nps" and before is not None and cint(before.nps_answered):
		return True
	return before is not None and cint(before.get(field)) != 0


def whole_number(value) -> int | None:
	if isinstance(value, bool):
		return None
	if isinstance(value, int):
		return value
	try:
		number = float(str(value).strip())
	except ValueError:
		return None
	if number != number or number in (float("inf"), float("-inf")) or number != int(number):
		return None  # NaN, infinity (1e309 in a spreadsheet) and fractions are not answers
	return int(number)


def check_customer(doc) -> None:
	"""The customer must exist: Frappe's link check lets a missing one through on this doctype,
	because the link also fetches the customer's name, and the survey would then belong to nobody."""
	if doc.customer and not frappe.db.exists("Customer", doc.customer):
		frappe.throw(
			_("Customer {0} does not exist; pick one from the list").format(
				frappe.bold(str(doc.customer)[:40])
			),
			frappe.LinkValidationError,
		)


def fill_from_invoice(doc) -> None:
	"""Company and POS Profile come from the invoice, and the invoice must be the customer's."""
	if not doc.source_name:
		doc.source_doctype = doc.source_doctype if doc.source_doctype in INVOICE_DOCTYPES else None
		doc.company = doc.company or frappe.defaults.get_user_default("Company")
		return
	if doc.source_doctype not in INVOICE_DOCTYPES:
		frappe.throw(_("A survey can only be about a Sales Invoice or a POS Invoice"))
	invoice = frappe.db.get_value(
		doc.source_doctype,
		doc.source_name,
		["customer", "company", "docstatus", "pos_profile"],
		as_dict=True,
	)
	if not invoice or invoice.docstatus != 1:
		frappe.throw(_("{0} {1} is not a submitted invoice").format(_(doc.source_doctype), doc.source_name))
	if invoice.customer != doc.customer:
		frappe.throw(
			_("{0} {1} belongs to customer {2}, not {3}").format(
				_(doc.source_doctype), doc.source_name, invoice.customer, doc.customer
			)
		)
	doc.company = invoice.company
	doc.pos_profile = invoice.pos_profile


def fill_email(doc) -> None:
	if doc.email:
		return
	if doc.contact:
		doc.email = frappe.db.get_value("Contact", doc.contact, "email_id")
	if not doc.email:
		doc.email = frappe.db.get_value("Customer", doc.customer, "email_id")


def track_resolution(doc) -> None:
	if not cint(doc.complaint):
		doc.resolution_status = doc.complaint_category = None
		doc.resolved_by = doc.resolved_on = None
		return
	doc.resolution_status = doc.resolution_status or "Open"
	if doc.resolution_status == "Resolved":
		if not doc.resolved_on:
			doc.resolved_by, doc.resolved_on = frappe.session.user, now_datetime()
	else:
		doc.resolved_by = doc.resolved_on = None


# ---------------------------------------------------------------- reward points


def reward_points(template: str | None) -> Decimal:
	name = template or settings().default_template
	if not name:
		return Decimal(0)
	points = frappe.db.get_value("Survey Template", {"name": name, "enabled": 1}, "reward_points")
	return points_engine.round_points(Decimal(str(flt(points))), ledger.precision())


def lock_for_reward(doc) -> None:
	"""Take the customer lock before the survey row is written, not only after.

	Two answers about one invoice at once: if each inserted its survey first and then waited for
	the customer, the first one's look for an earlier reward (which reads surveys) would wait for
	the second one's uncommitted survey row while the second waits for the customer: a deadlock
	(seen on a real site). Locking first makes the second answer wait before it writes anything.
	"""
	if not doc.flags.skip_reward and doc.customer and doc.source_doctype and doc.source_name:
		ledger.lock_customer(doc.customer)


def award_points(doc) -> Decimal:
	"""Points for answering: once per invoice, written to the ledger with the survey as source.

	"Once per invoice" is read from the ledger, not from the surveys: a survey can be deleted
	(by force, or before this rule existed), its ledger rows cannot. The Earn row carries the
	invoice as its *against* document, so a later survey for that invoice finds it.
	"""
	if doc.flags.skip_reward or not (doc.source_doctype and doc.source_name and doc.company):
		return Decimal(0)
	points = reward_points(doc.template)
	if points <= 0:
		return Decimal(0)
	ledger.lock_customer(doc.customer)
	if rewarded_for_invoice(doc.source_doctype, doc.source_name):
		return Decimal(0)
	try:
		row = points_engine.plan_earn(
			points,
			getdate(doc.submitted_on),
			ledger.settings().default_expiry_days or None,
			new_name=ledger.new_entry_name,
		)
	except EngineError as error:
		ledger.throw_engine_error(error)
	ledger.append_rows(
		[row],
		customer=doc.customer,
		company=doc.company,
		voucher_type=SURVEY,
		voucher_no=doc.name,
		reason=_("Answered the satisfaction survey for {0} {1}").format(
			_(doc.source_doctype), doc.source_name
		),
		against=(doc.source_doctype, doc.source_name),
	)
	ledger.settle_debts(doc.customer, doc.company, getdate(doc.submitted_on))
	doc.db_set("points_awarded", float(points), update_modified=False)
	return points


def rewarded_for_invoice(doctype: str, name: str) -> str | None:
	"""The ledger's Earn row that rewarded a survey about this invoice, if any.

	A locking read: under the customer lock it sees a reward another request committed while we
	waited. Rows written before the ledger named the invoice are found through their survey.
	"""
	values = {"survey": SURVEY, "doctype": doctype, "name": name}
	rows = frappe.db.sql(
		f"""select name from `tab{ledger.LEDGER}`
		where voucher_type = %(survey)s and entry_type = 'Earn'
			and against_voucher_type = %(doctype)s and against_voucher_no = %(name)s
		limit 1 for update""",
		values,
	) or frappe.db.sql(
		f"""select lle.name from `tab{ledger.LEDGER}` lle
		join `tab{SURVEY}` survey on survey.name = lle.voucher_no
		where lle.voucher_type = %(survey)s and lle.entry_type = 'Earn'
			and coalesce(lle.against_voucher_no, '') = ''
			and survey.source_doctype = %(doctype)s and survey.source_name = %(name)s
		limit 1 for update""",
		values,
	)
	return rows[0][0] if rows else None


def check_delete(doc) -> None:
	"""A survey that earned points stays: it is the reason for points the customer holds.

	Deleting it would leave ledger rows without their source; taking the points back is a
	decision for a Loyalty Points Adjustment, never a side effect of tidying up surveys.
	"""
	rows = frappe.get_all(
		ledger.LEDGER,
		filters={"voucher_type": SURVEY, "voucher_no": doc.name},
		fields=["name", "points"],
		order_by="creation asc",
	)
	total = sum((ledger.to_decimal(row.points) for row in rows), Decimal(0))
	if rows:
		frappe.throw(
			_(
				"Satisfaction Survey {0} earned {1} loyalty points (ledger entry {2}), so it cannot be deleted. To take the points back, submit a Loyalty Points Adjustment; to hide personal data, use a Personal Data Deletion Request."
			).format(doc.name, points_engine.round_points(total, ledger.precision()), rows[0].name),
			frappe.LinkExistsError,
			title=_("Satisfaction Survey"),
		)


# ---------------------------------------------------------------- the public page's submission


def _submission_limit() -> int:
	return cint(settings().submissions_per_hour) or 20


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=_submission_limit, seconds=60 * 60)
def submit(
	token: str,
	nps=None,
	csat=None,
	ces=None,
	comment: str | None = None,
	complaint=None,
	complaint_category: str | None = None,
	lang: str | None = None,
) -> dict:
	"""The survey page's submit button. Guests answer only through a valid, unused link."""
	from loyalty_crm.services.input_checks import check_text

	# Frappe does not check the declared types here (this module's annotations are strings),
	# so a guest's list or object must be refused by hand rather than crash on .strip().
	if not isinstance(token, str):
		token = ""  # not a link at all: refused below like any invalid link
	lang = check_text(lang, _("Language"), 20)
	if lang:
		set_language(lang)
	answers = {
		"nps": nps,
		"csat": csat,
		"ces": ces,
		"comment": comment,
		"complaint": complaint,
		"complaint_category": complaint_category,
	}
	survey = submit_response(token, answers, language=frappe.local.lang)
	return {"survey": survey.name, "points": flt(survey.points_awarded), "message": thank_you_text(survey)}


def submit_response(token: str, answers: dict, language: str | None = None, channel: str = "Receipt Link"):
	"""Check the link, lock its invitation, save the answers, mark the link used: all or nothing."""
	if not settings().enable_surveys:
		frappe.throw(_("Surveys are switched off"), SurveyLinkError)
	check = check_token(token)
	if not check.ok:
		frappe.throw(check.message, SurveyLinkError, title=_("Survey Link"))
	from loyalty_crm.services.input_checks import clean_answers

	answers = clean_answers(answers, MAX_COMMENT, SCORE_LABELS, SCORES)  # before anything is written
	name = _insert_invitation(token, check.doctype, check.name, check.customer, check.expires_on)
	invitation = frappe.db.sql(
		f"select name, used_on, template from `tab{INVITATION}` where name = %s for update",
		name,
		as_dict=True,
	)[0]
	if invitation.used_on or _answered_invitation(check.doctype, check.name):
		frappe.throw(_("This survey has already been answered. Thank you!"), SurveyLinkError)
	complaint = str(answers.get("complaint") or "").strip().lower() in ("1", "true", "on", "yes")
	survey = frappe.get_doc(
		{
			"doctype": SURVEY,
			"customer": check.customer,
			"source_doctype": check.doctype,
			"source_name": check.name,
			"channel": channel,
			"language": language,
			"template": invitation.template or settings().default_template,
			"invitation": name,
			"submitted_on": now_datetime(),
			"nps": _blank_to_none(answers.get("nps")),
			"csat": _blank_to_none(answers.get("csat")),
			"ces": _blank_to_none(answers.get("ces")),
			"comment": (answers.get("comment") or "").strip() or None,
			"complaint": int(complaint),
			"complaint_category": (answers.get("complaint_category") or "Other") if complaint else None,
		}
	)
	if complaint and survey.complaint_category not in complaint_categories():
		survey.complaint_category = "Other"
	survey.insert(ignore_permissions=True)
	frappe.db.set_value(INVITATION, name, {"used_on": now_datetime(), "survey": survey.name})
	return survey


def _blank_to_none(value):
	return None if value is None or (isinstance(value, str) and not value.strip()) else value


def complaint_categories() -> list[str]:
	options = frappe.get_meta(SURVEY).get_field("complaint_category").options or ""
	return [option for option in options.split("\n") if option]


# ---------------------------------------------------------------- page texts


def set_language(lang: str | None) -> str:
	"""The survey speaks English or Simplified Chinese; anything zh-ish but Traditional is zh."""
	code = (lang or "").strip().lower().replace("_", "-")
	if code.startswith("zh") and code not in ("zh-tw", "zh-hk"):
		code = "zh"
	elif code.split("-")[0] == "en":
		code = "en"
	else:
		code = None
	if code:
		frappe.local.lang = code
		frappe.local.lang_full_dict = None
	return code or frappe.local.lang


def page_language(form_lang: str | None, accept_language: str | None) -> str:
	if form_lang and set_language(form_lang) in LANGUAGES:
		return frappe.local.lang
	for part in (accept_language or "").split(","):
		code = part.split(";")[0].strip().lower()
		if code.startswith("zh") and code not in ("zh-tw", "zh-hk"):
			return set_language("zh")
		if code.startswith("en"):
			return set_language("en")
	return set_language(frappe.local.lang if frappe.local.lang in LANGUAGES else "en")


def template_texts(template: str | None, lang: str) -> dict:
	"""The template's wording in ``lang`` where given, else the built-in wording, translated."""
	texts = {
		"title": _("How was your visit?"),
		"intro": _(
			"Thank you for shopping with us. Your answers take a minute and help us serve you better."
		),
		"nps_question": _("How likely are you to recommend us to a friend or colleague?"),
		"csat_question": _("How satisfied are you with your purchase?"),
		"ces_question": _("It was easy to get what I needed."),
		"comment_question": _("Anything else you would like to tell us?"),
		"complaint_question": _("I would like to make a complaint"),
		"thank_you": _("Thank you! Your answers have been received."),
	}
	ask = {"nps": 1, "csat": 1, "ces": 1, "comment": 1, "complaint": 1}
	points = reward_points(template)
	name = template or settings().default_template
	if name and frappe.db.exists("Survey Template", name):
		doc = frappe.get_cached_doc("Survey Template", name)
		ask = {key: cint(doc.get(f"ask_{key}")) for key in ask}
		row = next((row for row in doc.texts if (row.language or "").lower() == lang), None)
		if row:
			texts.update({key: row.get(key) for key in texts if row.get(key)})
	return {**texts, "ask": ask, "points": points}


def thank_you_text(survey) -> str:
	return template_texts(survey.template, frappe.local.lang or "en")["thank_you"]
