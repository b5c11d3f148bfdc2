"""Card numbers and the Code 128 encoder, checked against the symbology's published rules."""

from __future__ import annotations

import re

import pytest

from loyalty_crm.engine import member_cards as M
from loyalty_crm.engine.errors import EngineError


def test_luhn_check_digit_of_the_textbook_example():
	# 7992739871 -> 3 is the example every description of the Luhn algorithm uses
	assert M.luhn_check_digit("7992739871") == "3"


def test_generated_numbers_are_12_digits_with_a_valid_check_digit():
	numbers = [M.generated_card_number(seq) for seq in (1, 2, 99, 9_999_999_999)]
	# 80000000001: doubling every second digit from the right, 1 -> 2 and 8 -> 16 -> 7; 2 + 7 = 9, check 1
	assert numbers[0] == "800000000011"
	assert all(len(n) == 12 and n.startswith("8") and M.is_generated_number(n) for n in numbers)
	assert len(set(numbers)) == 4


@pytest.mark.parametrize("sequence", [0, -1, 10**10, 1.5, True, "7"])
def test_sequence_out_of_range_is_refused(sequence):
	with pytest.raises(EngineError, match="sequence"):
		M.generated_card_number(sequence)


def test_a_single_wrong_digit_or_a_swap_is_not_a_card():
	number = M.generated_card_number(4242)
	for index in range(12):
		for digit in "0123456789":
			if digit != number[index]:
				assert not M.is_generated_number(number[:index] + digit + number[index + 1 :])
	for index in range(11):
		if number[index] != number[index + 1]:
			swapped = number[:index] + number[index + 1] + number[index] + number[index + 2 :]
			# Luhn misses only the 09 <-> 90 swap
			if {number[index], number[index + 1]} != {"0", "9"}:
				assert not M.is_generated_number(swapped)


def test_validate_normalises_and_explains():
	assert M.validate_card_number(" old-1002 ") == "OLD-1002"
	assert M.validate_card_number("8000 0000 0011") == "800000000011"
	with pytest.raises(EngineError, match="check digit is wrong"):
		M.validate_card_number("800000000014")
	with pytest.raises(EngineError, match="4 to 32 letters"):
		M.validate_card_number("ab")
	with pytest.raises(EngineError, match="4 to 32 letters"):
		M.validate_card_number("A_B_C_D")
	with pytest.raises(EngineError, match="empty"):
		M.validate_card_number("  ")


def test_code128_check_symbol_of_pjj123c():
	# Start B 104; P J J 1 2 3 C are 48 42 42 17 18 19 35 in code set B;
	# (104 + 1*48 + 2*42 + 3*42 + 4*17 + 5*18 + 6*19 + 7*35) mod 103 = 879 mod 103 = 55
	assert M.code128_values("PJJ123C") == [104, 48, 42, 42, 17, 18, 19, 35, 55]


def test_code128_digits_use_code_set_c_and_an_odd_digit_switches_to_b():
	# "123456": Start C 105, 12 34 56; (105 + 12 + 2*34 + 3*56) mod 103 = 353 mod 103 = 44
	assert M.code128_values("123456") == [105, 12, 34, 56, 44]
	# "12345": 12 34, Code B 100, "5" = 21 in set B; (105 + 12 + 68 + 300 + 84) mod 103 = 569 mod 103 = 54
	assert M.code128_values("12345") == [105, 12, 34, 100, 21, 54]


def test_code128_symbols_follow_the_symbology():
	# every symbol: 11 modules, 3 bars and 3 spaces, starting with a bar; all 106 distinct
	patterns = set()
	for widths in M._WIDTHS:
		assert len(widths) == 6 and sum(int(w) for w in widths) == 11
		patterns.add(widths)
	assert len(patterns) == 106
	# the published patterns of Start B and of the stop symbol
	assert M.code128_modules("A").startswith("11010010000")  # Start B
	assert M.code128_modules("A").endswith("1100011101011")  # Stop
	number = M.generated_card_number(1)
	assert len(M.code128_modules(number)) == 11 * (1 + 6 + 1) + 13  # start, 6 pairs, check, stop


def test_code128_refuses_what_it_cannot_encode():
	with pytest.raises(EngineError, match="Nothing to encode"):
		M.code128_values("")
	with pytest.raises(EngineError, match="printable ASCII"):
		M.code128_values("卡号")


def test_svg_has_one_rect_per_bar_and_quiet_zones():
	svg = M.code128_svg("800000000013", module_width=2, height=50)
	modules = M.code128_modules("800000000013")
	assert len(re.findall(r"<rect x=", svg)) == len(re.findall("1+", modules))
	assert f'width="{(len(modules) + 20) * 2}"' in svg
	assert re.search(r'<rect x="20" ', svg)  # the first bar after a 10-module quiet zone
