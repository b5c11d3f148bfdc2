// Retention Campaign Member: read-only; written at launch.
frappe.ui.form.on("Retention Campaign Member", {});
