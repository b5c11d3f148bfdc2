"""The member card in headless Chromium: its print, and the till finding the member by card number.

Checks, in English and in Simplified Chinese:
- the *Loyalty Member Card* print view shows the member's name, the number, a Code 128 barcode
  and a QR code; when `zbarimg` (Debian's zbar-tools) is installed, both codes are decoded from
  the screenshot and must give the card number back;
- at the Point of Sale, a number no member holds, typed and Enter, says so under the customer
  field; the member's number, typed as a scanner does (digits then Enter), picks the member,
  whose badge shows the card number and the birthday-week badge (their birthday is today).

Needs chromium, the site's web server (serve_loopback.py) and `websocket-client`; without them it
prints why and exits 0 (skipped).

    python tests/browser/member_card.py [--site SITE] [--base-url http://127.0.0.1:8015]

Screenshots go to tests/browser/artifacts/: member_card_en.png, member_card_zh.png,
pos_card_unknown_en.png, pos_card_found_en.png, pos_card_found_zh.png. Exit code 1 when a check fails.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from cdp import browser_check_options, execute_on_site
from pos_till import ARTIFACTS, Browser


def decode(path: Path) -> list[str]:
	"""Everything zbarimg reads in a screenshot, as 'TYPE:data' lines; [] without zbarimg."""
	if not shutil.which("zbarimg"):
		return []
	result = subprocess.run(["zbarimg", "-q", str(path)], capture_output=True, text=True)
	return result.stdout.split()


def run(base_url: str, setup: dict) -> list[str]:
	chromium = shutil.which("chromium") or shutil.which("chromium-browser")
	browser = Browser(chromium)
	failures = []
	customer, number, unknown = setup["customer"], setup["card_number"], setup["unknown"]

	def check(condition: bool, what: str):
		print(("ok   " if condition else "FAIL ") + what)
		if not condition:
			failures.append(what)

	try:
		check(browser.login_as_administrator(base_url), "logged in as Administrator")

		for lang in ("en", "zh"):
			query = urlencode(
				{
					"doctype": "Customer",
					"name": customer,
					"format": "Loyalty Member Card",
					"no_letterhead": 1,
					"_lang": lang,
				}
			)
			browser.open(f"{base_url}/printview?{query}")
			browser.wait_for("document.querySelector('.lcrm-card img')")
			time.sleep(0.5)
			text = browser.eval("document.querySelector('.lcrm-card').innerText")
			print(f"card ({lang}): {text!r}")
			path = card_screenshot(browser, f"member_card_{lang}.png")
			spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
			check(spaced in text, f"the card shows the number {spaced} ({lang})")
			title = "会员卡" if lang == "zh" else "Loyalty Member Card"
			check(title in text, f"the card's title is {title!r} ({lang})")
			codes = decode(path)
			if shutil.which("zbarimg"):
				check(f"CODE-128:{number}" in codes, f"the barcode scans as {number} ({lang}): {codes}")
				check(f"QR-Code:{number}" in codes, f"the QR code scans as {number} ({lang}): {codes}")
			else:
				print("note: zbarimg not installed, codes not decoded")

		customer_form(browser, base_url, customer, number, check, lang="en")
		desk_invoice(browser, base_url, customer, number, unknown, check)
		till(browser, base_url, customer, number, unknown, check, lang="en")
		browser.set_language("zh")
		try:
			customer_form(browser, base_url, customer, number, check, lang="zh")
			till(browser, base_url, customer, number, unknown, check, lang="zh")
		finally:
			browser.set_language(None)
	except AssertionError as error:
		browser.screenshot("member_card_failure.png")
		check(False, f"{error} (member_card_failure.png)")
	finally:
		if browser.console:
			print("page errors: " + " / ".join(browser.console))
		browser.close()
	return failures


def card_screenshot(browser: Browser, name: str) -> Path:
	"""The card alone, at twice the screen's resolution: what is printed, sharp enough to read and scan."""
	box = browser.eval(
		"(() => { const r = document.querySelector('.lcrm-card').getBoundingClientRect();"
		" return [r.x, r.y, r.width, r.height]; })()"
	)
	margin = 24
	result = browser.send(
		"Page.captureScreenshot",
		format="png",
		clip={
			"x": box[0] - margin,
			"y": box[1] - margin,
			"width": box[2] + 2 * margin,
			"height": box[3] + 2 * margin,
			"scale": 2,
		},
	)
	path = ARTIFACTS / name
	path.write_bytes(base64.b64decode(result["data"]))
	return path


def scan(browser: Browser, text: str) -> None:
	"""What a keyboard-wedge scanner does: the digits in one burst, then Enter."""
	browser.click(".customer-section input")
	browser.eval("document.querySelector('.customer-section input').value = ''")
	browser.send("Input.insertText", text=text)
	for kind in ("keyDown", "keyUp"):
		browser.send(
			"Input.dispatchKeyEvent",
			type=kind,
			key="Enter",
			code="Enter",
			windowsVirtualKeyCode=13,
			nativeVirtualKeyCode=13,
		)


def customer_form(browser: Browser, base_url: str, customer: str, number: str, check, lang: str) -> None:
	"""The Customer form: date of birth and card number under Gender, Loyalty -> Print Member Card."""
	browser.eval("window.onbeforeunload = null")
	browser.open(f"{base_url}/app/customer/{customer}")
	browser.wait_for(f"cur_frm && cur_frm.doc.name === {json.dumps(customer)}", timeout=60)
	browser.wait_for("document.querySelector('[data-fieldname=\"loyalty_crm_card_number\"]')")
	time.sleep(2)
	browser.eval(
		"document.querySelector('[data-fieldname=\"loyalty_crm_card_number\"]')"
		".scrollIntoView({block: 'center'})"
	)
	time.sleep(0.5)
	field = browser.eval(
		"document.querySelector('.frappe-control[data-fieldname=\"loyalty_crm_card_number\"]').innerText"
	)
	buttons = browser.eval(
		"Array.from(document.querySelectorAll('.page-actions .btn')).map((b) => b.innerText.trim()).join(' | ')"
	)
	print(f"customer form ({lang}): card field {field!r}; buttons {buttons!r}")
	browser.screenshot(f"customer_card_{lang}.png")
	label = "会员卡号" if lang == "zh" else "Member Card Number"
	shown = browser.eval(
		'document.querySelector(\'.frappe-control[data-fieldname="loyalty_crm_card_number"] input, '
		'.frappe-control[data-fieldname="loyalty_crm_card_number"] .control-value\').value'
		" || document.querySelector('.frappe-control[data-fieldname=\"loyalty_crm_card_number\"] .control-value')"
		".innerText"
	)
	check(label in field and shown == number, f"the Customer form shows {label} {shown!r} ({lang})")
	group = "会员忠诚度" if lang == "zh" else "Loyalty"
	check(group in buttons, f"the Customer form has the {group!r} button group ({lang})")


def desk_invoice(browser: Browser, base_url: str, customer: str, number: str, unknown: str, check) -> None:
	"""A new Sales Invoice at the desk: the card number and Enter in Customer picks the member."""
	browser.eval("window.onbeforeunload = null")
	browser.open(base_url + "/app/sales-invoice/new")
	field = "cur_frm && cur_frm.fields_dict.customer && cur_frm.fields_dict.customer.$input"
	browser.wait_for(f"{field} && {field}.is(':visible')", timeout=60)
	time.sleep(1)
	selector = "[data-fieldname='customer'] input"
	for text in (unknown, number):
		# a new form refreshes its fields for a moment after loading, which empties what was typed
		for _ in range(10):
			browser.click(selector)
			browser.eval(f"document.querySelector({json.dumps(selector)}).value = ''")
			browser.send("Input.insertText", text=text)
			time.sleep(0.5)
			if browser.eval(f"document.querySelector({json.dumps(selector)}).value") == text:
				break
		for kind in ("keyDown", "keyUp"):
			browser.send(
				"Input.dispatchKeyEvent",
				type=kind,
				key="Enter",
				code="Enter",
				windowsVirtualKeyCode=13,
				nativeVirtualKeyCode=13,
			)
		if text == unknown:
			browser.wait_for(
				"Array.from(document.querySelectorAll('#alert-container .alert-message'))"
				f".some((e) => e.innerText.includes({json.dumps(unknown)}))",
				timeout=15,
			)
			alert = browser.eval(
				"Array.from(document.querySelectorAll('#alert-container .alert-message'))"
				".map((e) => e.innerText).join(' | ')"
			)
			time.sleep(1)
			typed = browser.eval(f"document.querySelector({json.dumps(selector)}).value")
			print(f"desk alert: {alert!r}; the field still holds {typed!r}")
			browser.screenshot("desk_invoice_card_unknown_en.png")
			check(
				"No member" in alert and not browser.eval("cur_frm.doc.customer"),
				"desk: an unknown number says so",
			)
	browser.wait_for(f"cur_frm.doc.customer === {json.dumps(customer)}", timeout=20)
	time.sleep(1)
	browser.screenshot("desk_invoice_card_en.png")
	check(True, f"desk: the card number and Enter in a Sales Invoice's Customer picks {customer}")


def till(browser: Browser, base_url: str, customer: str, number: str, unknown: str, check, lang: str) -> None:
	browser.eval("window.onbeforeunload = null")
	browser.open(base_url + "/app/point-of-sale")
	browser.wait_for(
		"window.cur_pos && cur_pos.frm && cur_pos.frm.doc.pos_profile"
		" && document.querySelector('.customer-section input')",
		timeout=60,
	)
	# the till may bring back the customer a previous session picked (it sets it a moment after
	# loading): the cashier removes it to search again
	for _ in range(6):
		time.sleep(1)
		if browser.eval("Boolean(cur_pos.frm.doc.customer)"):
			browser.eval("cur_pos.cart.reset_customer_selector()")
	browser.wait_for("document.querySelector('.customer-section input') && !cur_pos.frm.doc.customer")
	if lang == "en":
		scan(browser, unknown)
		browser.wait_for("document.querySelector('.loyalty-crm-card-note')", timeout=15)
		note = browser.eval("document.querySelector('.loyalty-crm-card-note').innerText")
		print(f"unknown number note: {note!r}")
		browser.screenshot("pos_card_unknown_en.png")
		check(unknown in note and "No member" in note, "an unknown card number says so under the field")
		check(not browser.eval("cur_pos.frm.doc.customer"), "an unknown number picks nobody")

	scan(browser, number)
	browser.wait_for(f"cur_pos.frm.doc.customer === {json.dumps(customer)}", timeout=20)
	browser.wait_for("document.querySelector('.customer-section .loyalty-crm-badge')", timeout=20)
	browser.wait_for("!frappe.dom.freeze_count")
	time.sleep(1)
	section = browser.eval("document.querySelector('.customer-section').innerText")
	print(f"customer section ({lang}): {section!r}")
	browser.screenshot(f"pos_card_found_{lang}.png")
	check(True, f"scanning {number} picks {customer} ({lang})")
	spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
	check(spaced in section, f"the badge shows the card number as printed, {spaced} ({lang})")
	birthday = "生日" if lang == "zh" else "Birthday today"
	check(birthday in section, f"the birthday badge shows ({lang}): {birthday!r}")


def main():
	args = browser_check_options(__doc__, "Member card", "site_card", 8015)
	ARTIFACTS.mkdir(exist_ok=True)
	setup = execute_on_site(
		Path(args.bench).expanduser(), args.site, "loyalty_crm.testing.browser_member_card"
	)
	print(f"setup: {setup}")
	failures = run(args.base_url, setup)
	print(f"screenshots in {ARTIFACTS}")
	if failures:
		print(f"{len(failures)} check(s) failed")
		sys.exit(1)


if __name__ == "__main__":
	main()
