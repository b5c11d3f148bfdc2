// Point of Sale: show the customer's tier, points and redeemable amount at the till.
// Chains to the page's own on_page_load (and any other app's) instead of replacing it.
(() => {
	const page = frappe.pages["point-of-sale"];
	if (!page || page.loyalty_crm_chained) return;
	const previous = page.on_page_load;
	page.loyalty_crm_chained = true;
	page.on_page_load = function (wrapper) {
		if (previous) previous.call(this, wrapper);
		loyalty_crm_pos.watch_customer();
	};
})();

const loyalty_crm_pos = {
	watch_customer() {
		if (this.watching) return;
		this.watching = true;
		frappe.ui.form.on("POS Invoice", {
			customer(frm) {
				loyalty_crm_pos.show(frm);
			},
			company(frm) {
				loyalty_crm_pos.show(frm);
			},
		});
	},

	show(frm) {
		if (!frm.doc.customer || !frm.doc.company) return;
		frappe
			.call("loyalty_crm.api.customer_loyalty", {
				customer: frm.doc.customer,
				company: frm.doc.company,
			})
			.then(({ message: info }) => {
				if (!info) return;
				frm.loyalty_crm = info;
				const amount = format_currency(info.redeemable_amount, frm.doc.currency);
				const tier = info.tier ? `${__(info.tier)} · ` : "";
				frappe.show_alert(
					{
						message: __("{0}{1} points, {2} redeemable with {3}", [
							tier,
							format_number(info.available_points),
							amount,
							__(info.mode_of_payment),
						]),
						indicator: "blue",
					},
					10
				);
			});
	},
};
