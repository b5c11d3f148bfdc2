"""Member card numbers and their Code 128 barcode, in plain Python.

Why our own Code 128 encoder: the print format is rendered on the server (wkhtmltopdf for PDF,
the browser for print preview), so the barcode must be markup, not a browser script; the
bench's environment has QR (segno) but no 1-D barcode library, and Code 128 is a fixed table of
107 bar patterns plus a modulo-103 check symbol, small enough to own instead of adding a
dependency every site would have to install.

Card numbers the app generates are 12 digits: "8", a 10-digit sequence and a Luhn check digit, so a
mistyped number (one wrong digit, or two neighbours swapped) is recognised as "not a card"
instead of finding somebody else. An even count of digits is also what Code 128 packs most
densely (code set C, two digits per symbol), so the barcode stays short enough for a card.
Imported numbers from an earlier system may be any 4 to 32 letters, digits or dashes.
"""

from __future__ import annotations

import re
from html import escape

from loyalty_crm.engine.errors import EngineError, _

GENERATED_LENGTH = 12
IMPORTED_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,30}[A-Za-z0-9]$")

# Bar/space widths of every Code 128 symbol value 0-105 (ISO/IEC 15417 table): bar, space, bar,
# space, bar, space, in modules; each symbol is 11 modules wide. 103/104/105 are Start A/B/C.
_WIDTHS = (
	"212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 "
	"221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 "
	"221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 "
	"212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 "
	"231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 "
	"231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
	"314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 "
	"112412 122114 122411 142112 142211 241211 221114 413111 241112 134111 "
	"111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 "
	"214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 "
	"114131 311141 411131 211412 211214 211232"
).split()
_STOP = "2331112"  # 13 modules: the stop symbol and its final bar
START_B, START_C, CODE_B = 104, 105, 100


def luhn_check_digit(digits: str) -> str:
	"""The digit that makes ``digits + check`` pass the Luhn test (the one payment cards use)."""
	if not digits.isdigit():
		raise EngineError(_("A card number sequence must be digits, got {0}"), digits)
	total = 0
	for position, char in enumerate(reversed(digits)):
		value = int(char)
		if position % 2 == 0:  # doubled: every second digit counting from the check digit's left
			value *= 2
			value -= 9 if value > 9 else 0
		total += value
	return str((10 - total % 10) % 10)


def generated_card_number(sequence: int) -> str:
	"""The ``sequence``-th card number: "8" and 10 digits zero-padded, then the Luhn check digit.

	The leading 8 keeps generated numbers from starting with a run of zeros (which spreadsheets
	strip when a card list is exported) and marks them apart from most imported ranges.
	"""
	if isinstance(sequence, bool) or not isinstance(sequence, int) or not 0 < sequence < 10**10:
		raise EngineError(
			_("A card number sequence must be a whole number from 1 to 9999999999, got {0}"), sequence
		)
	body = f"8{sequence:010d}"
	return body + luhn_check_digit(body)


def is_generated_number(number: str) -> bool:
	"""True for 12 digits whose last is the Luhn check digit of the first 11."""
	return (
		len(number) == GENERATED_LENGTH and number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]
	)


def normalise_card_number(value: object) -> str:
	"""A typed or scanned number as stored: surrounding blanks and inner spaces removed, upper case.

	Scanners send exactly what is printed, people type "8800 0000 0017"; both find the card.
	"""
	return re.sub(r"\s+", "", str(value if value is not None else "")).upper()


def validate_card_number(value: object) -> str:
	"""The normalised number, or an EngineError that says what a card number may contain."""
	number = normalise_card_number(value)
	if not number:
		raise EngineError(_("Card number is empty"))
	if number.isdigit() and len(number) == GENERATED_LENGTH and not is_generated_number(number):
		raise EngineError(
			_("Card number {0} has 12 digits but its check digit is wrong; check for a typing error"),
			number,
		)
	if not IMPORTED_PATTERN.match(number):
		raise EngineError(
			_(
				"Card number {0} must be 4 to 32 letters, digits or dashes, starting and ending with a letter or digit"
			),
			number,
		)
	return number


def code128_values(text: str) -> list[int]:
	"""Symbol values from the start symbol to the check symbol (stop excluded).

	All digits: code set C (pairs), a trailing odd digit in code set B. Anything else: code set
	B, printable ASCII only (a card number never needs control characters, so set A is not used).
	"""
	if not text:
		raise EngineError(_("Nothing to encode in a barcode"))
	if text.isdigit() and text.isascii():
		pairs, rest = divmod(len(text), 2)
		values = [START_C] + [int(text[2 * i : 2 * i + 2]) for i in range(pairs)]
		if rest:
			values += [CODE_B, ord(text[-1]) - 32]
	else:
		bad = [char for char in text if not 32 <= ord(char) <= 126]
		if bad:
			raise EngineError(_("A barcode can only hold printable ASCII characters, got {0!r}"), bad[0])
		values = [START_B] + [ord(char) - 32 for char in text]
	check = (values[0] + sum(position * value for position, value in enumerate(values[1:], 1))) % 103
	return [*values, check]


def code128_modules(text: str) -> str:
	"""The barcode as a string of modules, "1" bar and "0" space, quiet zones excluded."""
	modules = []
	for widths in [*(_WIDTHS[value] for value in code128_values(text)), _STOP]:
		for index, width in enumerate(widths):
			modules.append(("1" if index % 2 == 0 else "0") * int(width))
	return "".join(modules)


def code128_svg(text: str, *, module_width: float = 2, height: float = 60, quiet_modules: int = 10) -> str:
	"""An inline SVG of the barcode: one rect per bar, a 10-module quiet zone each side.

	Whole-pixel module widths keep the edges sharp in a browser and in wkhtmltopdf, which is what
	a scanner needs; the human-readable number is printed by the template, not drawn here.
	"""
	modules = code128_modules(text)
	width = (len(modules) + 2 * quiet_modules) * module_width
	bars = []
	for match in re.finditer("1+", modules):
		x = (quiet_modules + match.start()) * module_width
		bars.append(
			f'<rect x="{x:g}" y="0" width="{(match.end() - match.start()) * module_width:g}" height="{height:g}"/>'
		)
	return (
		f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{height:g}" '
		f'viewBox="0 0 {width:g} {height:g}" role="img" aria-label="{escape(text)}">'
		f'<rect width="100%" height="100%" fill="#fff"/><g fill="#000">{"".join(bars)}</g></svg>'
	)
