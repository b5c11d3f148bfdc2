// Customer Segment: refresh in the background, list members, explain the rule fields.
frappe.ui.form.on("Customer Segment", {
	refresh(frm) {
		const fields = (frm.doc.__onload && frm.doc.__onload.rule_fields) || [];
		frm.get_field("rule_fields_help").$wrapper.html(
			frm.doc.method === "Rule"
				? `<p class="text-muted small">${__("Fields a rule may use")}: <code>${fields.join(
						"</code>, <code>"
				  )}</code></p>`
				: ""
		);
		if (frm.is_new()) return;
		frm.add_custom_button(__("Refresh now"), () =>
			frappe
				.call("loyalty_crm.services.segments.refresh_now", { segment: frm.doc.name })
				.then((r) => frappe.show_alert({ message: r.message, indicator: "blue" }))
		);
		frm.add_custom_button(
			__("Members"),
			() => frappe.set_route("List", "Customer Segment Membership", { segment: frm.doc.name }),
			__("View")
		);
		frm.add_custom_button(
			__("Customer Segments Report"),
			() => frappe.set_route("query-report", "Customer Segments", { segment: frm.doc.name }),
			__("View")
		);
	},
	method(frm) {
		frm.trigger("refresh");
	},
});
