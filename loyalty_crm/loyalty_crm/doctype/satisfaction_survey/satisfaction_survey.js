// Copyright (c) 2026, loyalty_crm developers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Satisfaction Survey", {
	setup(frm) {
		frm.set_query("source_doctype", () => ({
			filters: { name: ["in", ["Sales Invoice", "POS Invoice"]] },
		}));
		frm.set_query("source_name", () => ({
			filters: { customer: frm.doc.customer, docstatus: 1 },
		}));
		frm.set_query("contact", () => ({
			query: "frappe.contacts.doctype.contact.contact.contact_query",
			filters: { link_doctype: "Customer", link_name: frm.doc.customer },
		}));
	},
	onload(frm) {
		if (frm.is_new() && !frm.doc.channel) {
			frm.set_value("channel", "Desk Entry");
		}
	},
	refresh(frm) {
		if (!frm.is_new() && frm.doc.source_name) {
			frm.add_custom_button(__("Invoice"), () =>
				frappe.set_route("Form", frm.doc.source_doctype, frm.doc.source_name)
			);
		}
		if (frm.doc.points_awarded) {
			frm.dashboard.set_headline(
				__("{0} loyalty points were awarded for this survey.", [frm.doc.points_awarded])
			);
		}
	},
	customer(frm) {
		frm.set_value("contact", null);
		frm.set_value("source_name", null);
	},
	nps(frm) {
		frm.set_value("nps_answered", frm.doc.nps === null || frm.doc.nps === undefined ? 0 : 1);
	},
});
