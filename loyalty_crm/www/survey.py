"""The public survey page, /survey?t=TOKEN[&lang=zh]: answered without logging in.

The page only reads; the answers go to loyalty_crm.services.surveys.submit (rate-limited).
"""

import frappe
from frappe import _

from loyalty_crm.services import surveys

no_cache = 1
sitemap = 0


def get_context(context):
	request = getattr(frappe.local, "request", None)
	accept = request.headers.get("Accept-Language") if request else None
	lang = surveys.page_language(frappe.form_dict.get("lang") or frappe.form_dict.get("_lang"), accept)
	token = frappe.form_dict.get("t") or ""
	check = surveys.check_token(token)
	template = None
	if check.ok:
		template = (
			frappe.db.get_value(surveys.INVITATION, check.invitation, "template")
			if check.invitation
			else None
		)
	texts = surveys.template_texts(template, lang)
	enabled = surveys.settings().enable_surveys
	context.update(
		{
			"no_header": 1,
			"no_breadcrumbs": 1,
			"lang": lang,
			"token": token if check.ok else "",
			"state": check.status if enabled else "invalid",
			"message": check.message if enabled else _("Surveys are switched off"),
			"texts": texts,
			"ask": texts["ask"],
			"points": float(texts["points"]),
			"points_label": f"{texts['points'].normalize():f}",
			"max_comment": surveys.MAX_COMMENT,
			"complaint_categories": [(value, _(value)) for value in surveys.complaint_categories()],
			"other_lang": "en" if lang == "zh" else "zh",
			"other_lang_label": "English" if lang == "zh" else "简体中文",
			"csrf_token": frappe.sessions.get_csrf_token() if frappe.session.user != "Guest" else "",
			"title": texts["title"],
		}
	)
	return context
