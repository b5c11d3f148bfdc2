// Retention Campaign: launch, measure and close buttons, and the results with their chart.
frappe.ui.form.on("Retention Campaign", {
	refresh(frm) {
		frm.trigger("show_results");
		if (frm.is_new()) return;
		const call = (method, confirm_text) => {
			const run = () =>
				frappe
					.call({ method: `loyalty_crm.services.campaigns.${method}`, args: { name: frm.doc.name }, freeze: true })
					.then((r) => {
						if (typeof r.message === "string") frappe.msgprint(r.message);
						frm.reload_doc();
					});
			confirm_text ? frappe.confirm(confirm_text, run) : run();
		};
		if (frm.doc.status === "Draft") {
			frm.add_custom_button(__("Launch"), () =>
				call(
					"launch_campaign",
					__("Launch now? The control group is drawn, offers are issued and messages are sent; this cannot be undone.")
				)
			).addClass("btn-primary");
		}
		if (["Launched", "Measuring"].includes(frm.doc.status)) {
			frm.add_custom_button(__("Measure now"), () => call("measure_campaign"));
			frm.add_custom_button(__("Close"), () =>
				call("close_campaign", __("Close the campaign? It is measured one last time and can never change again."))
			);
		}
		if (frm.doc.status !== "Draft") {
			frm.add_custom_button(
				__("Members"),
				() => frappe.set_route("List", "Retention Campaign Member", { campaign: frm.doc.name }),
				__("View")
			);
			frm.add_custom_button(
				__("Campaign Results"),
				() => frappe.set_route("query-report", "Campaign Results", { campaign: frm.doc.name }),
				__("View")
			);
		}
	},
	show_results(frm) {
		const wrapper = frm.get_field("results_html").$wrapper;
		wrapper.empty();
		if (!frm.doc.results_json) return;
		const data = JSON.parse(frm.doc.results_json);
		const currency = window.erpnext && erpnext.get_currency ? erpnext.get_currency(frm.doc.company) : null;
		const money = (v) => (v === null || v === undefined ? "–" : format_currency(v, currency));
		const inc = data.incremental_revenue || {};
		$(`<p class="text-muted small"></p>`)
			.text(
				__("Window {0} to {1}; incremental revenue {2} (95% interval {3} to {4}); {5}", [
					frappe.datetime.str_to_user(data.window_start),
					frappe.datetime.str_to_user(data.window_end),
					money(inc.estimate),
					money(inc.low),
					money(inc.high),
					__(data.method),
				])
			)
			.appendTo(wrapper);
		const chart_area = $("<div></div>").appendTo(wrapper);
		new frappe.Chart(chart_area[0], {
			title: __("Cumulative revenue per customer"),
			type: "line",
			height: 240,
			colors: ["#2490ef", "#98a2b3"],
			data: {
				labels: data.curve.day.map((d) => String(d + 1)),
				datasets: [
					{ name: __("Treated"), values: data.curve.treated },
					{ name: __("Control"), values: data.curve.control },
				],
			},
			axisOptions: { xIsSeries: 1 },
		});
	},
});
