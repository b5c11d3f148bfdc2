"""Open the Point of Sale in headless Chromium, pick a customer with points, go to payment.

Checks what loyalty_crm/public/js/pos.js adds to ERPNext's till: the tier and points badge in
the cart's customer section, and the redeemable amount beside the loyalty mode of payment.

Needs: chromium on PATH, the bench's web server for the site running (see serve_loopback.py),
and the `websocket-client` package. Without any of them it prints why and exits 0 (skipped).

    python tests/browser/pos_till.py [--site SITE] [--base-url http://127.0.0.1:8012]

The site gets a till for the Administrator and a fresh customer with points
(loyalty_crm.testing.browser_pos_till). Screenshots (1366 x 900) go to tests/browser/artifacts/:
pos_customer.png and pos_payment.png. Exit code 1 when a check fails.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
import time
from pathlib import Path

from cdp import Chromium, browser_check_options, execute_on_site

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
WIDTH, HEIGHT = 1366, 900


def make_till(bench: Path, site: str) -> dict:
	"""A till for the Administrator and a fresh customer with a tier and points, on the site."""
	return execute_on_site(bench, site, "loyalty_crm.testing.browser_pos_till")


class Browser(Chromium):
	"""The till on a desktop-sized screen, clicked with real mouse events."""

	def __init__(self, chromium: str):
		super().__init__(chromium, WIDTH, HEIGHT, mobile=False, timeout=60)

	def click(self, selector: str, element: str | None = None) -> None:
		"""A real mouse click in the middle of the first element matching selector.

		element: a JavaScript expression for the element instead (e.g. a jQuery `:visible` pick).
		Waits first until the desk is not frozen (the till freezes it while it saves or loads):
		a click on the freeze overlay is lost, as a cashier's would be.
		"""
		self.wait_for("!(window.frappe && frappe.dom && frappe.dom.freeze_count)")
		element = element or f"document.querySelector({json.dumps(selector)})"
		box = self.eval(
			f"(() => {{ const e = {element};"
			" e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
			" return [r.x + r.width / 2, r.y + r.height / 2]; })()"
		)
		for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
			self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

	def type(self, selector: str, text: str) -> None:
		self.click(selector)
		self.send("Input.insertText", text=text)

	def screenshot(self, name: str) -> Path:
		result = self.send("Page.captureScreenshot", format="png")
		path = ARTIFACTS / name
		path.write_bytes(base64.b64decode(result["data"]))
		return path


# counts the app's calls for the customer's loyalty, to see they happen once per pick
COUNT_CALLS = """
(() => {
	if (window.__lcrm_calls !== undefined) return;
	window.__lcrm_calls = 0;
	const call = frappe.call;
	frappe.call = function (opts) {
		const method = typeof opts === "string" ? opts : opts && opts.method;
		if (method === "loyalty_crm.api.customer_loyalty") window.__lcrm_calls += 1;
		return call.apply(this, arguments);
	};
})()
"""


def run(base_url: str, till: dict) -> list[str]:
	chromium = shutil.which("chromium") or shutil.which("chromium-browser")
	browser = Browser(chromium)
	failures = []
	customer = till["customer"]

	def check(condition: bool, what: str):
		print(("ok   " if condition else "FAIL ") + what)
		if not condition:
			failures.append(what)

	try:
		check(browser.login_as_administrator(base_url), "logged in as Administrator")
		browser.open(base_url + "/app/point-of-sale")
		browser.wait_for(
			"window.cur_pos && cur_pos.frm && cur_pos.frm.doc.pos_profile"
			" && document.querySelector('.customer-section input')",
			timeout=60,
		)
		check(
			browser.eval("cur_pos.frm.doc.pos_profile") == till["pos_profile"],
			f"the till opened with POS Profile {till['pos_profile']}",
		)
		browser.eval(COUNT_CALLS)

		# pick the customer the way a cashier does: type, then click the suggestion
		browser.type(".customer-section input", customer)
		suggestion = f".customer-section .awesomplete [role=option] p[title={json.dumps(customer)}]"
		try:
			browser.wait_for(f"document.querySelector({json.dumps(suggestion)})", timeout=15)
			browser.click(suggestion)
		except AssertionError:
			print("note: no suggestion list appeared; setting the customer field directly")
			browser.eval(f"cur_pos.cart.customer_field.set_value({json.dumps(customer)})")
		browser.wait_for(f"cur_pos.frm.doc.customer === {json.dumps(customer)}", timeout=20)
		browser.wait_for("document.querySelector('.customer-section .customer-details')", timeout=20)
		try:
			browser.wait_for("document.querySelector('.customer-section .loyalty-crm-badge')", timeout=15)
		except AssertionError:
			pass
		time.sleep(1)
		section = browser.eval("(document.querySelector('.customer-section') || {innerText: ''}).innerText")
		alerts = browser.eval(
			"Array.from(document.querySelectorAll('#alert-container .alert-message'))"
			".map((e) => e.innerText).join(' | ')"
		)
		calls = browser.eval("window.__lcrm_calls")
		print(f"customer section: {section!r}")
		print(f"alerts: {alerts!r}")
		print(f"customer_loyalty calls on one pick: {calls}")
		browser.screenshot("pos_customer.png")
		check("Gold" in section, "the tier (Gold) shows in the cart's customer section")
		check("2,500" in section, "the points balance (2,500) shows in the cart's customer section")
		check(calls == 1, "one server call per customer pick")

		# one item, then payment
		browser.eval("cur_pos.item_selector.search_field.set_value('_Test Item')")
		item = ".items-container .item-wrapper[data-item-code='_Test%20Item']"
		browser.wait_for(f"document.querySelector({json.dumps(item)})", timeout=20)
		browser.click(item)
		dialog = "$('.modal.show .modal-body:visible').text().trim()"
		try:
			browser.wait_for(f"cur_pos.frm.doc.items.length === 1 || {dialog}", timeout=20)
		finally:
			print(f"warehouse on the invoice: {browser.eval('cur_pos.frm.doc.set_warehouse')!r}")
		message = browser.eval(dialog)
		check(not message, f"the item goes into the cart without an error ({message!r})")
		check(
			browser.eval("cur_pos.frm.doc.set_warehouse") == till["warehouse"],
			"the invoice keeps the POS Profile's warehouse",
		)
		browser.wait_for("cur_pos.frm.doc.grand_total > 0")
		checkout = "$('.checkout-btn:visible')[0]"
		browser.wait_for(f"{checkout} && {checkout}.getAttribute('style').includes('--blue-500')")
		browser.click("", element=checkout)
		browser.wait_for("$('.payment-container').is(':visible')", timeout=20)
		mode = till["mode"]
		mode_selector = ".payment-modes .mode-of-payment[data-mode='{}']".format(
			mode.lower().replace(" ", "_")
		)
		try:
			browser.wait_for(f"document.querySelector({json.dumps(mode_selector + ' .loyalty-crm-redeem')})")
		except AssertionError:
			pass
		time.sleep(1)
		modes = browser.eval("(document.querySelector('.payment-modes') || {innerText: ''}).innerText")
		print(f"payment modes: {modes!r}")
		browser.screenshot("pos_payment.png")
		note = browser.eval(
			f"(document.querySelector({json.dumps(mode_selector + ' .loyalty-crm-redeem')}) || {{}}).innerText"
		)
		check(bool(note) and "25.00" in note, f"redeemable amount shown beside {mode}: {note!r}")
		check(bool(note) and "2,500" in note, "points and their value shown beside the mode of payment")

		# the cashier redeems: the button puts the redeemable amount into the loyalty mode
		button = mode_selector + " .loyalty-crm-use"
		if browser.eval(f"Boolean(document.querySelector({json.dumps(button)}))"):
			browser.click(button)
			time.sleep(1)
			paid = browser.eval(
				f"(cur_pos.frm.doc.payments.find((p) => p.mode_of_payment === {json.dumps(mode)}) || {{}}).amount"
			)
			check(paid == 25, f"'use points' puts the redeemable amount into {mode} (got {paid})")
			check(
				browser.eval("cur_pos.frm.doc.paid_amount") == browser.eval("cur_pos.frm.doc.grand_total"),
				"the default mode pays only the rest",
			)
			browser.screenshot("pos_payment_redeemed.png")
			# complete the order: the points are redeemed on submit
			browser.click(".submit-order-btn")
			confirm = "$('.modal.show .btn-primary:visible')[0]"
			browser.wait_for(confirm)
			browser.click("", element=confirm)
			browser.wait_for("cur_pos.frm.doc.docstatus === 1", timeout=30)
			left = browser.eval(
				"frappe.call('loyalty_crm.api.customer_loyalty', {customer: cur_pos.frm.doc.customer,"
				" company: cur_pos.frm.doc.company}).then((r) => r.message.balance)"
			)
			check(left < 2500, f"the order is submitted and the points redeemed (balance now {left})")
			chinese(browser, base_url, customer, check)
		else:
			check(False, "a button to redeem the points is shown")
	except AssertionError as error:
		browser.screenshot("pos_failure.png")
		shown = browser.eval("$('.modal.show .modal-body:visible, .desk-alert').text().trim()")
		check(False, f"{error}; on screen: {shown!r} (pos_failure.png)")
	finally:
		if browser.console:
			print("page errors: " + " / ".join(browser.console))
		browser.close()
	return failures


def chinese(browser: Browser, base_url: str, customer: str, check) -> None:
	"""The same customer (fewer points now) at a till in Simplified Chinese; English again after."""
	browser.set_language("zh")
	try:
		browser.eval("window.onbeforeunload = null")
		browser.open(base_url + "/app/point-of-sale")
		browser.wait_for(
			"window.cur_pos && cur_pos.frm && cur_pos.frm.doc.pos_profile"
			" && document.querySelector('.customer-section input')",
			timeout=60,
		)
		browser.eval(f"cur_pos.cart.customer_field.set_value({json.dumps(customer)})")
		browser.wait_for("document.querySelector('.customer-section .loyalty-crm-badge')", timeout=20)
		browser.wait_for("!frappe.dom.freeze_count")
		section = browser.eval("document.querySelector('.customer-section').innerText")
		print(f"customer section (zh): {section!r}")
		browser.screenshot("pos_customer_zh.png")
		check("积分" in section and "可抵扣" in section, "the badge is in Chinese for a Chinese user")
	finally:
		browser.set_language(None)


def main():
	args = browser_check_options(__doc__, "POS till", "site_clv", 8012)
	ARTIFACTS.mkdir(exist_ok=True)
	till = make_till(Path(args.bench).expanduser(), args.site)
	print(f"till: {till}")
	failures = run(args.base_url, till)
	print(f"screenshots in {ARTIFACTS}")
	if failures:
		print(f"{len(failures)} check(s) failed")
		sys.exit(1)


if __name__ == "__main__":
	main()
