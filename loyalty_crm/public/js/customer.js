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
							<td>${esc(row.abc_class || "")} / ${esc(__(row.clv_band || ""))}
								${row.clv_basis ? `<span class="text-muted" title="${esc(row.clv_basis_note || "")}">(${esc(__(row.clv_basis))})</span>` : ""}</td>
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

// Customer form: the loyalty panel at the top of the first tab (install.py puts the HTML field
// right under the customer's name). One call, services.customer_panel.get_panel, gives the whole
// picture: tier and the way to the next tier, points and what expires soon, the last ledger
// movements, predicted value, churn band with its drivers and the last NPS answer.
frappe.ui.form.on("Customer", {
	refresh(frm) {
		const field = frm.get_field("loyalty_crm_panel");
		if (!field) return;
		field.$wrapper.empty();
		if (frm.is_new()) return;
		frappe
			.call("loyalty_crm.services.customer_panel.get_panel", { customer: frm.doc.name })
			.then((r) => {
				if (r.message && frm.doc.name === r.message.customer) {
					field.$wrapper.html(loyalty_crm.customer_panel.render(r.message));
				}
			});
	},
});

frappe.provide("loyalty_crm");
loyalty_crm.customer_panel = {
	render(panel) {
		return `<div class="lcrm-panel">
			${this.style()}
			<div class="lcrm-panel-top">${this.tier(panel.tier)}</div>
			<div class="lcrm-panel-grid">
				${this.points(panel.points)}
				${this.value(panel.churn)}
				${this.churn(panel.churn)}
				${this.nps(panel.nps)}
			</div>
			${this.movements(panel.movements, panel.points.precision)}
		</div>`;
	},

	esc(value) {
		return frappe.utils.escape_html(value == null ? "" : String(value));
	},

	date(value) {
		return value ? frappe.datetime.str_to_user(value) : "";
	},

	number(value, decimals) {
		return format_number(value || 0, null, decimals == null ? 0 : decimals);
	},

	metric(value, tier) {
		if (tier.metric === "spend") return format_currency(value || 0, tier.currency, 0);
		return this.number(value, tier.metric === "points" ? 2 : 0);
	},

	box(title, body) {
		return `<div class="lcrm-box"><div class="lcrm-box-title">${this.esc(title)}</div>${body}</div>`;
	},

	muted(text) {
		return `<div class="text-muted small">${this.esc(text)}</div>`;
	},

	tier(tier) {
		if (!tier) return this.muted(__("Tiers are off or no tier is defined."));
		const badge = tier.tier
			? `<span class="lcrm-badge" style="background:${this.esc(tier.color || "var(--blue-500)")}">${this.esc(__(tier.tier))}</span>`
			: `<span class="lcrm-badge lcrm-badge-none">${this.esc(__("No tier yet"))}</span>`;
		const since = tier.tier_since ? this.muted(__("since {0}", [this.date(tier.tier_since)])) : "";
		const percent = Math.round((tier.progress || 0) * 100);
		let goal;
		if (tier.next_tier) {
			goal = __("{0}: {1} of {2} for {3}; {4} to go", [
				tier.metric_label,
				this.metric(tier.value, tier),
				this.metric(tier.next_threshold, tier),
				__(tier.next_tier),
				this.metric(tier.to_next, tier),
			]);
		} else {
			goal = __("{0}: {1}; top tier reached", [tier.metric_label, this.metric(tier.value, tier)]);
		}
		const window = __("Window {0} to {1}", [this.date(tier.window_start), this.date(tier.window_end)]);
		const keeps = tier.keeps_tier_until
			? `<div class="lcrm-warn small">${this.esc(
					__("Below the {0} threshold since {1}: keeps the tier until {2}", [
						__(tier.tier || ""),
						this.date(tier.below_since),
						this.date(tier.keeps_tier_until),
					])
			  )}</div>`
			: "";
		return `<div class="lcrm-tier">
				<div class="lcrm-tier-badge">${badge}${since}</div>
				<div class="lcrm-tier-progress">
					<div class="small">${this.esc(goal)}</div>
					<div class="progress lcrm-progress" title="${percent}%">
						<div class="progress-bar" style="width:${percent}%; background:${this.esc(tier.color || "var(--blue-500)")}"></div>
					</div>
					<div class="text-muted small">${this.esc(window)}</div>
					${keeps}
				</div>
			</div>`;
	},

	points(points) {
		const expiring = points.expiring_points
			? `<div class="lcrm-warn small">${this.esc(
					__("{0} expire by {1}", [
						this.number(points.expiring_points, points.precision),
						this.date(points.next_expiry),
					])
			  )}</div>`
			: this.muted(__("Nothing expires in the next {0} days", [points.expiry_days]));
		return this.box(
			__("Points Balance"),
			`<div class="lcrm-figure">${this.number(points.balance, points.precision)}</div>${expiring}`
		);
	},

	main_score(churn) {
		return churn && churn.length ? churn[0] : null;
	},

	value(churn) {
		const row = this.main_score(churn);
		if (!row) return this.box(__("Predicted CLV"), this.muted(__("Not scored yet")));
		return this.box(
			__("Predicted CLV"),
			`<div class="lcrm-figure">${format_currency(row.predicted_clv || 0, null, 0)}</div>
			${this.muted(__("P(alive) {0}%", [this.number((row.p_alive || 0) * 100, 0)]))}`
		);
	},

	churn(churn) {
		const row = this.main_score(churn);
		if (!row || !row.risk_band) return this.box(__("Churn Risk"), this.muted(__("Not scored yet")));
		const colours = { Low: "green", Medium: "orange", High: "red", Critical: "red" };
		return this.box(
			__("Churn Risk"),
			`<span class="indicator-pill ${colours[row.risk_band] || "gray"}">${this.esc(__(row.risk_band))}</span>
			<span class="text-muted small">${this.esc(row.company)}</span>
			${row.drivers ? `<div class="small lcrm-drivers">${this.esc(row.drivers)}</div>` : ""}`
		);
	},

	nps(nps) {
		if (!nps) return this.box(__("Last NPS Answer"), this.muted(__("No answer yet")));
		const colour = nps.nps >= 9 ? "green" : nps.nps >= 7 ? "orange" : "red";
		return this.box(
			__("Last NPS Answer"),
			`<span class="indicator-pill ${colour}">${this.esc(nps.nps)} / 10</span>
			<span class="text-muted small">${this.esc(this.date((nps.submitted_on || "").slice(0, 10)))}</span>
			${nps.comment ? `<div class="small lcrm-drivers">${this.esc(nps.comment)}</div>` : ""}`
		);
	},

	movements(rows, precision) {
		if (rows == null) return "";
		if (!rows.length) return this.muted(__("No points movements yet."));
		const body = rows
			.map(
				(row) => `<tr>
					<td>${this.esc(this.date(row.posting_date))}</td>
					<td><a href="/app/loyalty-ledger-entry/${encodeURIComponent(row.name)}">${this.esc(__(row.entry_type))}</a></td>
					<td class="text-right ${row.points < 0 ? "text-danger" : ""}">${this.number(row.points, precision)}</td>
					<td>${row.voucher_no ? `<a href="/app/${frappe.router.slug(row.voucher_type)}/${encodeURIComponent(row.voucher_no)}">${this.esc(row.voucher_no)}</a>` : ""}</td>
					<td class="text-muted">${this.esc(row.company)}</td>
				</tr>`
			)
			.join("");
		return `<div class="lcrm-box-title">${this.esc(__("Last Points Movements"))}</div>
			<table class="table table-sm small lcrm-movements">
				<thead><tr><th>${__("Posting Date")}</th><th>${__("Entry Type")}</th>
				<th class="text-right">${__("Points")}</th><th>${__("Voucher")}</th><th>${__("Company")}</th></tr></thead>
				<tbody>${body}</tbody>
			</table>`;
	},

	style() {
		return `<style>
			.lcrm-panel { margin-bottom: var(--margin-sm); }
			.lcrm-tier { display: flex; gap: var(--margin-lg); align-items: flex-start; margin-bottom: var(--margin-md); }
			.lcrm-tier-badge { min-width: 120px; }
			.lcrm-tier-progress { flex: 1; }
			.lcrm-badge { display: inline-block; padding: 4px 14px; border-radius: 999px; color: #fff;
				font-weight: 600; font-size: var(--text-md); text-shadow: 0 0 2px rgba(0,0,0,.35); }
			.lcrm-badge-none { background: var(--gray-400); }
			.lcrm-progress { height: 8px; margin: 6px 0 4px; background: var(--gray-100); }
			.lcrm-panel-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr));
				gap: var(--margin-md); margin-bottom: var(--margin-md); }
			.lcrm-box { border: 1px solid var(--border-color); border-radius: var(--border-radius-md); padding: 10px 12px; }
			.lcrm-box-title { font-size: var(--text-sm); color: var(--text-muted); margin-bottom: 4px; font-weight: 600; }
			.lcrm-figure { font-size: var(--text-2xl); font-weight: 600; line-height: 1.2; }
			.lcrm-warn { color: var(--orange-600); }
			.lcrm-drivers { margin-top: 4px; color: var(--text-color); white-space: pre-line; }
			.lcrm-movements { margin-bottom: 0; }
		</style>`;
	},
};

// Customer form: the member card. Issue a number (when the first points have not done it yet)
// and print the card with the "Loyalty Member Card" print format.
frappe.ui.form.on("Customer", {
	refresh(frm) {
		if (frm.is_new()) return;
		if (!frm.doc.loyalty_crm_card_number) {
			if (!frm.perm[0] || !frm.perm[0].write) return;
			frm.add_custom_button(
				__("Issue Member Card"),
				() =>
					frappe
						.call({
							method: "loyalty_crm.services.cards.issue_card",
							args: { customer: frm.doc.name },
							freeze: true,
						})
						.then((r) => {
							frappe.show_alert({
								message: __("Member card {0} issued", [r.message]),
								indicator: "green",
							});
							frm.reload_doc();
						}),
				__("Loyalty")
			);
			return;
		}
		frm.add_custom_button(
			__("Print Member Card"),
			() => {
				const params = new URLSearchParams({
					doctype: "Customer",
					name: frm.doc.name,
					format: "Loyalty Member Card",
					no_letterhead: 1,
					_lang: frappe.boot.lang,
				});
				window.open(frappe.urllib.get_full_url(`/printview?${params}`));
			},
			__("Loyalty")
		);
	},
});
