// Point of Sale: the customer's tier and points in the cart, the redeemable amount at payment,
// the member card (a scanned or typed card number picks the member) and the birthday-week badge.
//
// page_js is appended after ERPNext's page script, so on_page_load is already ERPNext's (or another
// app's chain) here: call it, then watch the page. The till's DOM is watched, not POS Invoice form
// events: the till triggers `customer` twice per pick (frappe.model.set_value, then
// script_manager.trigger), and a form handler added here runs before ERPNext's controller and
// makes it wait for pending calls, so its `company` handler cleared the warehouse the POS Profile
// had just set ("Item ... is not available under warehouse ."). The cart re-renders the customer
// section and the payment modes often; whatever is missing is added again after each change.
(() => {
	const page = frappe.pages["point-of-sale"];
	if (!page || page.loyalty_crm_chained) return;
	const previous = page.on_page_load;
	page.loyalty_crm_chained = true;
	page.on_page_load = function (wrapper) {
		const result = previous ? previous.apply(this, arguments) : undefined;
		loyalty_crm_pos.watch(wrapper);
		return result;
	};

	const loyalty_crm_pos = {
		cache: new Map(), // "invoice|customer|company" -> promise of api.customer_loyalty
		invoice: null,

		watch(wrapper) {
			if (wrapper.loyalty_crm_observer) return;
			let queued = false;
			wrapper.loyalty_crm_observer = new MutationObserver(() => {
				if (queued) return;
				queued = true;
				requestAnimationFrame(() => {
					queued = false;
					this.hook_card_search(wrapper);
					this.sync(wrapper);
				});
			});
			wrapper.loyalty_crm_observer.observe(wrapper, { childList: true, subtree: true });
		},

		sync(wrapper) {
			const frm = wrapper.pos && wrapper.pos.frm;
			if (!frm || !frm.doc || !frm.doc.customer || !frm.doc.company) return;
			// a new invoice (e.g. after a sale) reads the balance again
			if (this.invoice !== frm.doc.name) {
				this.invoice = frm.doc.name;
				this.cache.clear();
			}
			const key = [frm.doc.name, frm.doc.customer, frm.doc.company].join("|");
			const $section = $(wrapper).find(".customer-section .customer-name-desc");
			const $modes = $(wrapper).find(".payment-container .payment-modes");
			const need_badge =
				$section.length && !$section.find(`.loyalty-crm-badge[data-key="${CSS.escape(key)}"]`).length;
			const need_note =
				$modes.is(":visible") &&
				!$modes.find(`.loyalty-crm-redeem[data-key="${CSS.escape(key)}"]`).length;
			if (!need_badge && !need_note) return;
			this.info(key, frm.doc.customer, frm.doc.company).then((info) => {
				if (!info || [frm.doc.name, frm.doc.customer, frm.doc.company].join("|") !== key) return;
				this.render_badge(wrapper, key, info, frm.doc.currency);
				this.render_note(wrapper, key, info, frm);
			});
		},

		info(key, customer, company) {
			if (!this.cache.has(key)) {
				const request = frappe
					.call({ method: "loyalty_crm.api.customer_loyalty", args: { customer, company } })
					.then((r) => r.message)
					.catch(() => {
						this.cache.delete(key);
					});
				this.cache.set(key, request);
			}
			return this.cache.get(key);
		},

		render_badge(wrapper, key, info, currency) {
			const $section = $(wrapper).find(".customer-section .customer-name-desc");
			if (!$section.length || $section.find(`.loyalty-crm-badge[data-key="${CSS.escape(key)}"]`).length)
				return;
			$section.find(".loyalty-crm-badge").remove();
			const esc = frappe.utils.escape_html;
			const tier_label = esc(__("Loyalty Tier"));
			const tier = info.tier
				? `<span class="indicator-pill blue" title="${tier_label}">${esc(__(info.tier))}</span>`
				: "";
			const title = __("Balance {0} points, {1} available to redeem now", [
				points(info.balance),
				points(info.available_points),
			]);
			$section.append(`
				<div class="loyalty-crm-badge" data-key="${esc(key)}"
					style="display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-top: 4px;">
					${tier}
					<span class="indicator-pill ${info.balance > 0 ? "green" : "gray"}" title="${esc(title)}">
						${esc(__("{0} points", [points(info.balance)]))}
					</span>
					<span class="text-muted small">${esc(redeemable_text(info, currency))}</span>
					${birthday_pill(info)}
					${
						info.card_number
							? `<span class="text-muted small loyalty-crm-card" title="${esc(__("Member Card Number"))}">
								${esc(__("Card {0}", [spaced_card(info.card_number)]))}</span>`
							: ""
					}
				</div>
			`);
		},

		// Member cards: ERPNext's customer search already finds a card number (the card field is one
		// of Customer's search fields), but a scanner types the number and Enter at once, before the
		// drop-down has results. So on Enter, or when 12 digits with a valid check digit are typed,
		// ask the server for the card's holder and pick them; an unknown number is said under the field.
		hook_card_search(wrapper) {
			if (!wrapper.loyalty_crm_card_keys) {
				// Enter on a card number is ours, caught before it reaches the input: the drop-down's
				// own Enter would pick its first suggestion, which for a scanner's burst is still the
				// list of the previous text (another customer). Capture phase on the page, so it runs
				// before the drop-down's listener on the input itself.
				wrapper.loyalty_crm_card_keys = true;
				wrapper.addEventListener(
					"keydown",
					(e) => {
						if (e.key !== "Enter" || !e.target.closest(".customer-section .customer-field")) return;
						if (!looks_like_card(normalise_card(String(e.target.value || "")))) return;
						e.preventDefault();
						e.stopPropagation();
						this.lookup_card(wrapper, e.target.value);
					},
					true
				);
			}
			const $input = $(wrapper).find(".customer-section .customer-field input");
			if (!$input.length || $input.data("loyalty-crm-card")) return;
			$input.data("loyalty-crm-card", true);
			$input.on("input.loyalty_crm", () => {
				$(wrapper).find(".loyalty-crm-card-note").remove();
				const number = normalise_card(String($input.val() || ""));
				if (is_generated_card(number)) this.lookup_card(wrapper, number);
			});
		},

		lookup_card(wrapper, value) {
			const number = normalise_card(String(value || ""));
			if (!looks_like_card(number)) return;
			if (this.looking_up === number) return;
			this.looking_up = number;
			const before = wrapper.pos && wrapper.pos.frm && wrapper.pos.frm.doc.customer;
			frappe
				.call({ method: "loyalty_crm.services.cards.find_by_card", args: { card_number: number } })
				.then((r) => {
					const result = r.message || {};
					const cart = wrapper.pos && wrapper.pos.cart;
					if (result.found && cart && cart.customer_field) {
						cart.customer_field.awesomplete && cart.customer_field.awesomplete.close();
						cart.customer_field.set_value(result.customer);
						return;
					}
					// Not a card: what Enter would have done, once ERPNext's search has answered for this
					// text (a phone number, a customer ID): pick its first customer, else say so.
					const field = cart && cart.customer_field;
					search_settled(field, value).then((options) => {
						const now = wrapper.pos && wrapper.pos.frm && wrapper.pos.frm.doc.customer;
						if (now && now !== before) return;
						if (options.length) {
							field.awesomplete && field.awesomplete.close();
							field.set_value(options[0].value);
							return;
						}
						// above the field, in the section's column (the field itself is a flex row): below
						// it, the search's drop-down ("Create a new Customer") would cover the note
						const $field = $(wrapper).find(".customer-section .customer-field");
						$(wrapper).find(".loyalty-crm-card-note").remove();
						$field.before(
							`<div class="loyalty-crm-card-note text-danger small" style="margin-bottom: 6px;">
								${frappe.utils.escape_html(result.message || __("No member has card number {0}", [number]))}
							</div>`
						);
					});
				})
				.always(() => {
					this.looking_up = null;
				});
		},

		render_note(wrapper, key, info, frm) {
			const payment = wrapper.pos.payment;
			if (!info.mode_of_payment || !payment) return;
			const mode = payment.sanitize_mode_of_payment(info.mode_of_payment);
			const $mode = $(wrapper).find(`.payment-modes .mode-of-payment[data-mode="${CSS.escape(mode)}"]`);
			if (!$mode.length || $mode.find(`.loyalty-crm-redeem[data-key="${CSS.escape(key)}"]`).length)
				return;
			$mode.find(".loyalty-crm-redeem").remove();
			const esc = frappe.utils.escape_html;
			const currency = frm.doc.currency;
			const value = format_currency(info.point_value, currency, decimals(info.point_value));
			const can_use =
				info.redeemable_amount > 0 && info.available_points >= (info.min_redeem_points || 0);
			const $note = $(`
				<div class="loyalty-crm-redeem" data-key="${esc(key)}"
					style="display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px; margin-top: 6px;
						font-size: var(--text-sm); font-weight: normal;">
					<span class="indicator-pill ${can_use ? "green" : "gray"}">${esc(redeemable_text(info, currency))}</span>
					<span class="text-muted">${esc(__("{0} points × {1}", [points(info.available_points), value]))}</span>
					${can_use ? `<button class="btn btn-xs btn-default loyalty-crm-use">${esc(__("Use Points"))}</button>` : ""}
				</div>
			`);
			$note.find(".loyalty-crm-use").on("click", (e) => {
				e.preventDefault();
				this.use_points(payment, frm, info, mode);
			});
			// before the amount control, so the note stays visible while the mode is being edited
			const $control = $mode.children(".mode-of-payment-control");
			$control.length ? $note.insertBefore($control) : $mode.append($note);
		},

		use_points(payment, frm, info, mode) {
			// Pay what the points cover, at most the invoice total; take it off the default mode's amount
			// when together they would pay more than the total.
			const doc = frm.doc;
			const total = flt(
				cint(frappe.sys_defaults.disable_rounded_total)
					? doc.grand_total
					: doc.rounded_total || doc.grand_total
			);
			const amount = Math.min(flt(info.redeemable_amount), total);
			const control = payment[`${mode}_control`];
			if (!control) return;
			control.set_value(amount);
			const others = (doc.payments || []).filter((p) => p.mode_of_payment !== info.mode_of_payment);
			const paid_by_others = others.reduce((sum, p) => sum + flt(p.amount), 0);
			const fallback = others.find((p) => p.default) || others[0];
			const excess = paid_by_others + amount - total;
			if (fallback && excess > 0) {
				const other_control =
					payment[`${payment.sanitize_mode_of_payment(fallback.mode_of_payment)}_control`];
				other_control && other_control.set_value(Math.max(0, flt(fallback.amount) - excess));
			}
		},
	};

	// as printed on the card: 8000 0000 0052
	function spaced_card(number) {
		return /^[0-9]+$/.test(number) ? number.replace(/(.{4})(?=.)/g, "$1 ") : number;
	}

	// The customers ERPNext's link search found for `text` (its cache, filled when the answer
	// arrives), without its "Create a new" and "Advanced Search" entries; [] after 3 s without one.
	function search_settled(field, text) {
		return new Promise((resolve) => {
			const started = Date.now();
			const poll = () => {
				const cache = field && field.$input && field.$input.cache && field.$input.cache["Customer"];
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

	// names are not card numbers: a card number has a digit and no inner spaces once normalised
	function looks_like_card(number) {
		return /^[A-Z0-9-]{4,32}$/.test(number) && /[0-9]/.test(number);
	}

	function normalise_card(value) {
		return value.replace(/\s+/g, "").toUpperCase();
	}

	// 12 digits whose last is the Luhn check digit of the first 11 (engine/member_cards.py)
	function is_generated_card(number) {
		if (!/^[0-9]{12}$/.test(number)) return false;
		let total = 0;
		for (let i = 10; i >= 0; i--) {
			let digit = +number[i];
			if ((10 - i) % 2 === 0) {
				digit *= 2;
				if (digit > 9) digit -= 9;
			}
			total += digit;
		}
		return (10 - (total % 10)) % 10 === +number[11];
	}

	function birthday_pill(info) {
		const birthday = info.birthday || {};
		if (!birthday.birthday_week) return "";
		const text = birthday.is_today
			? __("Birthday today")
			: __("Birthday week ({0})", [frappe.datetime.str_to_user(birthday.birthday)]);
		// no emoji: a till without an emoji font would show an empty box
		return `<span class="indicator-pill pink loyalty-crm-birthday" title="${frappe.utils.escape_html(
			__("Birthday")
		)}">${frappe.utils.escape_html(text)}</span>`;
	}

	function points(value) {
		return format_number(value, null, Number.isInteger(flt(value)) ? 0 : 2);
	}

	function decimals(value) {
		const digits = (String(flt(value)).split(".")[1] || "").length;
		return Math.min(Math.max(digits, 2), 6);
	}

	function redeemable_text(info, currency) {
		if (info.min_redeem_points && info.available_points < info.min_redeem_points) {
			return __("Redeemable from {0} points", [points(info.min_redeem_points)]);
		}
		if (!(info.redeemable_amount > 0)) return __("No points to redeem");
		return __("{0} redeemable", [format_currency(info.redeemable_amount, currency)]);
	}
})();
