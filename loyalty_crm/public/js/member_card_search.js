// Sales Invoice and POS Invoice (desk): a member card number typed or scanned into the Customer
// field, then Enter, picks the card's holder; an unknown number says so.
//
// The Customer search already finds a card number (install adds the card field to Customer's
// search fields), so picking from the drop-down works without this file. What this adds is Enter:
// the drop-down's own Enter picks its first suggestion, which right after a scanner's burst is
// still the list for the previous text (another customer). So Enter on text that could be a card
// number is caught first (capture phase on the form, before the drop-down's listener on the
// input), the server is asked for the card's holder, and when there is none Enter does what it
// would have done once the search has answered (a customer ID or a phone number still works).
if (!window.loyalty_crm_card_search_hooked) {
	window.loyalty_crm_card_search_hooked = true;
	for (const doctype of ["Sales Invoice", "POS Invoice"]) {
		frappe.ui.form.on(doctype, {
			onload(frm) {
				loyalty_crm_card_search(frm);
			},
		});
	}
}

function loyalty_crm_card_search(frm) {
	// the Point of Sale's invoice has no form page of its own (pos.js handles the till)
	if (!(frm.wrapper instanceof HTMLElement) || frm.wrapper.loyalty_crm_card_keys) return;
	frm.wrapper.loyalty_crm_card_keys = true;
	frm.wrapper.addEventListener(
		"keydown",
		(e) => {
			const field = frm.fields_dict.customer;
			if (e.key !== "Enter" || !field || !field.$input || e.target !== field.$input[0]) return;
			const text = String(e.target.value || "");
			const number = text.replace(/\s+/g, "").toUpperCase();
			// names are not card numbers: a card number has a digit and no inner spaces
			if (!/^[A-Z0-9-]{4,32}$/.test(number) || !/[0-9]/.test(number)) return;
			e.preventDefault();
			e.stopPropagation();
			frappe
				.call({ method: "loyalty_crm.services.cards.find_by_card", args: { card_number: number } })
				.then((r) => {
					const result = r.message || {};
					if (result.found) {
						field.awesomplete && field.awesomplete.close();
						frm.set_value("customer", result.customer);
						return;
					}
					loyalty_crm_search_settled(field, text).then((options) => {
						if (options.length) {
							field.awesomplete && field.awesomplete.close();
							frm.set_value("customer", options[0].value);
						} else {
							frappe.show_alert({ message: result.message, indicator: "red" }, 7);
						}
					});
				});
		},
		true
	);
}

// The customers the link search found for `text` (its cache, filled when the answer arrives),
// without the "Create a new" and "Advanced Search" entries; [] after 3 s without an answer.
function loyalty_crm_search_settled(field, text) {
	return new Promise((resolve) => {
		const started = Date.now();
		const poll = () => {
			const cache = field.$input && field.$input.cache && field.$input.cache["Customer"];
			const list = cache && cache[text];
			if (list) {
				resolve(list.filter((o) => o.value && !String(o.value).includes("__link_option")));
			} else if (Date.now() - started > 3000) {
				resolve([]);
			} else {
				setTimeout(poll, 100);
			}
		};
		poll();
	});
}
