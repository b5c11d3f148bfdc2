// Churn Model Run: the backtest of one training; the calibration table rendered under its JSON.
frappe.ui.form.on("Churn Model Run", {
	refresh(frm) {
		let bins = [];
		try {
			bins = JSON.parse(frm.doc.calibration || "[]");
		} catch (e) {
			bins = [];
		}
		const field = frm.get_field("calibration");
		if (!field || !bins.length) return;
		const rows = bins
			.map(
				(bin) => `<tr><td>${frappe.utils.escape_html(String(bin.bin))}</td>
				<td>${format_number(bin.mean_predicted, null, 3)}</td>
				<td>${format_number(bin.observed_rate, null, 3)}</td>
				<td>${format_number(bin.customers, null, 0)}</td></tr>`
			)
			.join("");
		frm.set_df_property(
			"calibration",
			"description",
			`<table class="table table-sm small"><thead><tr><th>${__("Bin")}</th>
			<th>${__("Mean Predicted")}</th><th>${__("Observed Churn Rate")}</th><th>${__("Customers")}</th>
			</tr></thead><tbody>${rows}</tbody></table>`
		);
	},
});
