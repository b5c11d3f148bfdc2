// Customer form: a link to the customer's points ledger next to the Loyalty section.
frappe.ui.form.on("Customer", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(
			__("Loyalty Ledger"),
			() => frappe.set_route("List", "Loyalty Ledger Entry", { customer: frm.doc.name }),
			__("View")
		);
	},
});

// Customer form: the customer's segment memberships (primary first) in the Loyalty section.
frappe.ui.form.on("Customer", {
	refresh(frm) {
		const field = frm.get_field("loyalty_crm_segments_html");
		if (!field) return;
		if (frm.is_new()) {
			field.$wrapper.empty();
			return;
		}
		frappe
			.call("loyalty_crm.services.segments.customer_memberships", { customer: frm.doc.name })
			.then((r) => {
				const rows = r.message || [];
				if (!rows.length) {
					field.$wrapper.html(
						`<p class="text-muted small">${__("Not in any customer segment yet.")}</p>`
					);
					return;
				}
				const esc = frappe.utils.escape_html;
				const body = rows
					.map(
						(row) => `<tr>
							<td><span class="indicator-pill" style="background:${esc(row.color || "var(--gray-100)")}">&nbsp;</span>
								<a href="/app/customer-segment/${encodeURIComponent(row.segment)}">${esc(row.segment)}</a></td>
							<td>${esc(row.company)}</td>
							<td>${esc(__(row.rfm_segment || ""))} ${esc(row.rfm_score || "")}</td>
							<td>${esc(__(row.lifecycle_stage || ""))}</td>
							<td>${esc(row.abc_class || "")} / ${esc(__(row.clv_band || ""))}</td>
						</tr>`
					)
					.join("");
				field.$wrapper.html(`<table class="table table-sm small">
					<thead><tr><th>${__("Customer Segment")}</th><th>${__("Company")}</th>
					<th>${__("RFM Segment")}</th><th>${__("Lifecycle Stage")}</th>
					<th>${__("ABC Class")} / ${__("CLV Band")}</th></tr></thead>
					<tbody>${body}</tbody></table>`);
			});
	},
});
