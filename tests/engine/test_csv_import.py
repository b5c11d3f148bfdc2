"""Bad import files, table-driven: every case names the exact error the user must see.

These are the checks that need no site (encoding, shape, numbers, dates, duplicates); the
FrappeTestCases beside Loyalty Points Adjustment and Satisfaction Survey add the ones that need
one (unknown customers, invoices of another customer) and prove nothing is written.
"""

from __future__ import annotations

import codecs
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty_crm.engine import csv_import as C
from loyalty_crm.engine.csv_import import ImportFileError, ImportRowError

TODAY = date(2026, 6, 15)
POINTS_HEADER = b"customer,company,points,expiry_date,posting_date,reason\n"
SURVEY_HEADER = b"customer,submitted_on,nps,csat,ces,comment,complaint,complaint_category,invoice,invoice_type,email,language\n"
CATEGORIES = ("Product", "Service", "Other")


def points(data: bytes, precision: int = 2, **kwargs) -> C.Parsed:
	return C.parse_points_file(data, TODAY, precision, **kwargs)


def surveys(data: bytes, **kwargs) -> C.Parsed:
	return C.parse_survey_file(data, TODAY, CATEGORIES, **kwargs)


# ---------------------------------------------------------------- the file as a whole

FILE_CASES = [
	("empty file", b"", "The file is empty: it needs a header row and at least one data row"),
	("blank lines only", b"\n\n  \r\n", "The file is empty: it needs a header row and at least one data row"),
	(
		"header only",
		b"customer,company,points\n",
		"The file has only a header row: add the rows to import below it",
	),
	(
		"header and blank lines",
		b"customer,company,points\n\n,,\n",
		"The file has only a header row: add the rows to import below it",
	),
	(
		"excel workbook",
		b"PK\x03\x04\x14\x00\x06\x00rest-of-zip",
		'The file is not a CSV file (it looks like xlsx); save it as "CSV UTF-8" and import that',
	),
	(
		"old excel workbook",
		b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
		'The file is not a CSV file (it looks like xls); save it as "CSV UTF-8" and import that',
	),
	(
		"pdf",
		b"%PDF-1.7\n",
		'The file is not a CSV file (it looks like pdf); save it as "CSV UTF-8" and import that',
	),
	(
		"utf-16 with BOM",
		codecs.BOM_UTF16_LE + "customer,company,points\n".encode("utf-16-le"),
		'The file is UTF-16 ("Unicode text"); save it as "CSV UTF-8" and import that',
	),
	(
		"binary data",
		b"customer,company,points\nA,B,\x00\x01\x02\n",
		'The file is not a CSV file: it contains binary data; save it as "CSV UTF-8" and import that',
	),
	(
		"latin-1 accent",
		"customer,company,points\nJosé,C,5\n".encode("latin-1"),
		'The file is not UTF-8 (byte 0xe9 on line 2); save it as "CSV UTF-8" (in Excel: Save As, CSV UTF-8) and import again',
	),
	(
		"windows-1252 smart quote",
		b"customer,company,points\n\x93A\x94,C,5\n",
		'The file is not UTF-8 (byte 0x93 on line 2); save it as "CSV UTF-8" (in Excel: Save As, CSV UTF-8) and import again',
	),
	(
		"gb18030 chinese name",
		"customer,company,points\n王芳,C,5\n".encode("gb18030"),
		'The file is not UTF-8 (byte 0xcd on line 2); save it as "CSV UTF-8" (in Excel: Save As, CSV UTF-8) and import again',
	),
	(
		"missing points column",
		b"customer,company\nA,C\n",
		"The file is missing the column(s): points; the first row must be the header "
		"(customer, company, points, expiry_date, posting_date, reason)",
	),
	(
		"no header (data in the first row)",
		b"CUST-1,_Test Company,10\n",
		"Unknown column 'cust-1' in the header; the columns are: "
		"customer, company, points, expiry_date, posting_date, reason",
	),
	(
		"misspelt optional column",
		b"customer,company,points,expiry\nA,C,5,2027-01-01\n",
		"Unknown column 'expiry' in the header; the columns are: "
		"customer, company, points, expiry_date, posting_date, reason",
	),
	(
		"column twice",
		b"customer,company,points,Points\nA,C,5,6\n",
		"Column 'points' appears twice in the header (columns 3 and 4); keep one",
	),
	(
		"unnamed column in the middle",
		b"customer,,company,points\nA,x,C,5\n",
		"Column 2 of the header has no name; name it or delete the column",
	),
	(
		"stray quote",
		b'customer,company,points\n"A"x,C,5\n',
		"The file is not a readable CSV file: ',' expected after '\"' on line 2; check the quotes around that line",
	),
	(
		"unclosed quote",
		b'customer,company,points\n"A,C,5\n',
		"The file is not a readable CSV file: unexpected end of data on line 2; check the quotes around that line",
	),
	(
		"a plain text file",
		b"Dear team, please find the balances attached.\n",
		"Unknown column 'dear team' in the header; the columns are: "
		"customer, company, points, expiry_date, posting_date, reason",
	),
]


@pytest.mark.parametrize("data, message", [case[1:] for case in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_bad_file_is_refused_with_its_reason(data, message):
	with pytest.raises(ImportFileError) as caught:
		points(data)
	assert str(caught.value) == message


def test_too_large_file_is_refused_before_reading():
	data = POINTS_HEADER + b"A,C,5,,,\n" * 1000
	with pytest.raises(ImportFileError) as caught:
		points(data, max_bytes=1024)
	assert str(caught.value) == (
		"The file is 0.0 MB; the largest file accepted is 0.0 MB. Split it into smaller files and import each"
	)
	assert C.MAX_FILE_BYTES == 20 * 1024 * 1024


def test_text_instead_of_bytes_is_refused():
	with pytest.raises(ImportFileError, match="needs the file's bytes, got str"):
		points("customer,company,points\nA,C,5\n")


def test_survey_file_without_any_score_column():
	with pytest.raises(ImportFileError) as caught:
		surveys(b"customer,submitted_on,comment\nA,2026-01-01,hi\n")
	assert str(caught.value) == "The file needs at least one of the columns nps, csat, ces, complaint"


def test_points_decimals_outside_the_settings_range():
	with pytest.raises(ImportFileError, match="Points Decimals must be between 0 and 6"):
		points(POINTS_HEADER + b"A,C,5,,,\n", precision=7)


# ---------------------------------------------------------------- opening balances, row by row

POINTS_ROW_CASES = [
	# (id, data line after the header, exact messages)
	(
		"inf",
		b"A,C,inf,,,",
		["Row 2: points 'inf' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	(
		"Infinity",
		b"A,C,Infinity,,,",
		["Row 2: points 'Infinity' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	(
		"nan",
		b"A,C,NaN,,,",
		["Row 2: points 'NaN' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	("1e309", b"A,C,1e309,,,", ["Row 2: points '1e309' is too large; the most is 1000000000"]),
	("excel 1E+10", b"A,C,1E+10,,,", ["Row 2: points '1E+10' is too large; the most is 1000000000"]),
	(
		"huge exponent",
		b"A,C,1e9999999,,,",
		["Row 2: points '1e9999999' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	(
		"just over the most",
		b"A,C,1000000000.01,,,",
		["Row 2: points '1000000000.01' is too large; the most is 1000000000"],
	),
	("zero", b"A,C,0,,,", ["Row 2: points '0' must be more than 0"]),
	("negative", b"A,C,-5,,,", ["Row 2: points '-5' must be more than 0"]),
	("negative zero", b"A,C,-0.0,,,", ["Row 2: points '-0.0' must be more than 0"]),
	(
		"rounds to zero",
		b"A,C,0.001,,,",
		["Row 2: points '0.001' rounds to 0 at 2 decimals (Loyalty Settings); write at least 0.01"],
	),
	(
		"tiny scientific",
		b"A,C,4E-3,,,",
		["Row 2: points '4E-3' rounds to 0 at 2 decimals (Loyalty Settings); write at least 0.01"],
	),
	(
		"empty points",
		b"A,C,,,,",
		["Row 2: points '' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	(
		"thousands separator",
		b'A,C,"1,250",,,',
		["Row 2: points '1,250' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	(
		"decimal comma",
		b'A,C,"12,5",,,',
		["Row 2: points '12,5' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	(
		"currency sign",
		b"A,C,$100,,,",
		["Row 2: points '$100' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	(
		"arabic-indic digits",
		"A,C,١٢٣,,,".encode(),
		["Row 2: points '١٢٣' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	(
		"underscore digits",
		b"A,C,1_000,,,",
		["Row 2: points '1_000' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	(
		"emoji",
		"A,C,💯,,,".encode(),
		["Row 2: points '💯' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	(
		"sql in points",
		b"A,C,1; DROP TABLE x,,,",
		[
			"Row 2: points '1; DROP TABLE x' is not a number; write digits with a dot for decimals, e.g. 1250.5"
		],
	),
	(
		"very long number is shortened",
		b"A,C," + b"9" * 60 + b",,,",
		[f"Row 2: points '{'9' * 39}…' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	("empty customer", b",C,5,,,", ["Row 2: customer is empty; fill it in"]),
	("empty company", b"A,,5,,,", ["Row 2: company is empty; fill it in"]),
	(
		"customer with a control character",
		b"A\x1b[31m,C,5,,,",
		[
			"Row 2: customer 'A?[31m' cannot be a name (too long or with control characters); "
			"copy the name from the site"
		],
	),
	(
		"customer too long",
		b"A" * 141 + b",C,5,,,",
		[
			f"Row 2: customer '{'A' * 39}…' cannot be a name (too long or with control characters); "
			"copy the name from the site"
		],
	),
	(
		"posting date in 2099",
		b"A,C,5,,2099-01-01,",
		["Row 2: posting_date '2099-01-01' is in the future (today is 2026-06-15); check the year"],
	),
	(
		"posting date tomorrow",
		b"A,C,5,,2026-06-16,",
		["Row 2: posting_date '2026-06-16' is in the future (today is 2026-06-15); check the year"],
	),
	(
		"posting date year typo",
		b"A,C,5,,0226-01-01,",
		["Row 2: posting_date '0226-01-01' is before 2000-01-01; check the year"],
	),
	(
		"posting date day-first",
		b"A,C,5,,31/01/2026,",
		["Row 2: posting_date '31/01/2026' is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31"],
	),
	(
		"posting date 30 February",
		b"A,C,5,,2026-02-30,",
		["Row 2: posting_date '2026-02-30' is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31"],
	),
	(
		"posting date with time",
		b"A,C,5,,2026-02-03 10:00,",
		["Row 2: posting_date '2026-02-03 10:00' is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31"],
	),
	(
		"excel serial date",
		b"A,C,5,46000,,",
		["Row 2: expiry_date '46000' is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31"],
	),
	(
		"expiry before posting",
		b"A,C,5,2026-01-01,2026-02-01,",
		[
			"Row 2: expiry_date 2026-01-01 is before the posting date 2026-02-01; "
			"points cannot expire before they are given"
		],
	),
	(
		"expiry before today's default posting date",
		b"A,C,5,2026-06-14,,",
		[
			"Row 2: expiry_date 2026-06-14 is before the posting date 2026-06-15; "
			"points cannot expire before they are given"
		],
	),
	(
		"expiry year typo",
		b"A,C,5,1027-01-01,,",
		["Row 2: expiry_date '1027-01-01' is before 2000-01-01; check the year"],
	),
	(
		"reason too long",
		b"A,C,5,,," + b"x" * 1001,
		["Row 2: reason is 1001 characters long; keep it to 1000"],
	),
	(
		"too many values",
		b"A,C,5,,,why,extra",
		["Row 2: 7 values but the header has 6 columns; put quotes around a value that contains a comma"],
	),
	(
		"several problems in one row, all listed",
		b",,abc,2026-13-01,2099-01-01,",
		[
			"Row 2: customer is empty; fill it in",
			"Row 2: company is empty; fill it in",
			"Row 2: points 'abc' is not a number; write digits with a dot for decimals, e.g. 1250.5",
			"Row 2: posting_date '2099-01-01' is in the future (today is 2026-06-15); check the year",
			"Row 2: expiry_date '2026-13-01' is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31",
		],
	),
]


@pytest.mark.parametrize(
	"line, messages", [case[1:] for case in POINTS_ROW_CASES], ids=[c[0] for c in POINTS_ROW_CASES]
)
def test_bad_points_row_is_refused_with_its_message(line, messages):
	parsed = points(POINTS_HEADER + line + b"\n")
	assert all(isinstance(error, ImportRowError) and error.row == 2 for error in parsed.errors)
	assert sorted(str(error) for error in parsed.errors) == sorted(messages)


DUPLICATE_CASES = [
	(
		"same row twice",
		b"A,C,5,,,\nB,C,5,,,\nA,C,5,,,\n",
		[
			"Row 4 repeats row 2 (same customer, company, points, posting_date, expiry_date, reason); "
			"delete one of them, or make them differ"
		],
	),
	(
		"same points written differently",
		b"A,C,5,,,\nA,C,5.000,,,\n",
		[
			"Row 3 repeats row 2 (same customer, company, points, posting_date, expiry_date, reason); "
			"delete one of them, or make them differ"
		],
	),
	(
		"three copies",
		b"A,C,5,,,\nA,C,5,,,\nA,C,5,,,\n",
		[
			"Row 3 repeats row 2 (same customer, company, points, posting_date, expiry_date, reason); "
			"delete one of them, or make them differ",
			"Row 4 repeats row 2 (same customer, company, points, posting_date, expiry_date, reason); "
			"delete one of them, or make them differ",
		],
	),
	(
		"blank lines count as rows, as in a spreadsheet",
		b"A,C,5,,,\n\nA,C,5,,,\n",
		[
			"Row 4 repeats row 2 (same customer, company, points, posting_date, expiry_date, reason); "
			"delete one of them, or make them differ"
		],
	),
]


@pytest.mark.parametrize(
	"body, messages", [c[1:] for c in DUPLICATE_CASES], ids=[c[0] for c in DUPLICATE_CASES]
)
def test_duplicate_points_rows_name_both_rows(body, messages):
	assert [str(error) for error in points(POINTS_HEADER + body).errors] == messages


def test_rows_differing_in_the_documented_key_are_not_duplicates():
	body = b"A,C,5,,,\nA,C,5,2027-01-01,,\nA,C,5,,,second lot\nA,C,6,,,\n"
	assert points(POINTS_HEADER + body).errors == []


def test_good_points_file_is_parsed_exactly():
	data = (
		codecs.BOM_UTF8
		+ b"Customer , COMPANY,points,expiry_date,posting_date,reason,,\r\n"
		+ b"A,C,1.5E+03,2027-01-31,2026-01-31,migrated,,\r\n"
		+ "王芳 😀,C,0.005,,,\r\n".encode()
	)
	parsed = points(data)
	assert parsed.errors == []
	assert [
		(r["row"], r["customer"], r["points"], r["posting_date"], r["expiry_date"]) for r in parsed.rows
	] == [
		(2, "A", Decimal("1500.00"), date(2026, 1, 31), date(2027, 1, 31)),
		(3, "王芳 😀", Decimal("0.01"), TODAY, None),
	]


def test_precision_zero_rounds_half_up_and_refuses_what_rounds_to_zero():
	parsed = points(POINTS_HEADER + b"A,C,2.5,,,\nB,C,0.4,,,\n", precision=0)
	assert parsed.rows[0]["points"] == Decimal(3)
	assert [str(e) for e in parsed.errors] == [
		"Row 3: points '0.4' rounds to 0 at 0 decimals (Loyalty Settings); write at least 1"
	]


# ---------------------------------------------------------------- survey answers, row by row

SURVEY_ROW_CASES = [
	(
		"nps inf",
		b"A,2026-01-05,inf,,,,,,,,,",
		["Row 2: nps 'inf' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	(
		"nps 1e309",
		b"A,2026-01-05,1e309,,,,,,,,,",
		["Row 2: nps must be a whole number from 0 to 10, got '1e309'"],
	),
	("nps 11", b"A,2026-01-05,11,,,,,,,,,", ["Row 2: nps must be a whole number from 0 to 10, got '11'"]),
	("nps -1", b"A,2026-01-05,-1,,,,,,,,,", ["Row 2: nps must be a whole number from 0 to 10, got '-1'"]),
	("nps 7.5", b"A,2026-01-05,7.5,,,,,,,,,", ["Row 2: nps must be a whole number from 0 to 10, got '7.5'"]),
	(
		"nps word",
		b"A,2026-01-05,ten,,,,,,,,,",
		["Row 2: nps 'ten' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	("csat 0", b"A,2026-01-05,,0,,,,,,,,", ["Row 2: csat must be a whole number from 1 to 5, got '0'"]),
	("csat 6", b"A,2026-01-05,,6,,,,,,,,", ["Row 2: csat must be a whole number from 1 to 5, got '6'"]),
	("ces 8", b"A,2026-01-05,,,8,,,,,,,", ["Row 2: ces must be a whole number from 1 to 7, got '8'"]),
	(
		"ces emoji",
		"A,2026-01-05,,,👍,,,,,,,".encode(),
		["Row 2: ces '👍' is not a number; write digits with a dot for decimals, e.g. 1250.5"],
	),
	(
		"submitted in 2099",
		b"A,2099-11-01,9,,,,,,,,,",
		["Row 2: submitted_on '2099-11-01' is in the future (today is 2026-06-15); check the year"],
	),
	(
		"submitted tomorrow with a time",
		b"A,2026-06-16 09:00,9,,,,,,,,,",
		["Row 2: submitted_on '2026-06-16 09:00' is in the future (today is 2026-06-15); check the year"],
	),
	(
		"submitted_on empty",
		b"A,,9,,,,,,,,,",
		["Row 2: submitted_on is empty; fill it in"],
	),
	(
		"submitted_on US style",
		b"A,01/05/2026,9,,,,,,,,,",
		[
			"Row 2: submitted_on '01/05/2026' is not a date; write it as YYYY-MM-DD or YYYY-MM-DD HH:MM, e.g. 2026-03-31"
		],
	),
	(
		"submitted_on hour 25",
		b"A,2026-01-05 25:00,9,,,,,,,,,",
		[
			"Row 2: submitted_on '2026-01-05 25:00' is not a date; write it as YYYY-MM-DD or YYYY-MM-DD HH:MM, e.g. 2026-03-31"
		],
	),
	(
		"submitted in 1999",
		b"A,1999-12-31,9,,,,,,,,,",
		["Row 2: submitted_on '1999-12-31' is before 2000-01-01; check the year"],
	),
	("complaint maybe", b"A,2026-01-05,9,,,,maybe,,,,,", ["Row 2: complaint must be yes or no, got 'maybe'"]),
	(
		"unknown complaint category",
		b"A,2026-01-05,2,,,,yes,Parking,,,,",
		["Row 2: complaint_category 'Parking' is not one of: Product, Service, Other"],
	),
	(
		"comment too long",
		b"A,2026-01-05,9,,," + b"x" * 2001 + b",,,,,,",
		["Row 2: the comment is 2001 characters long; keep it to 2000"],
	),
	(
		"unknown invoice type",
		b"A,2026-01-05,9,,,,,,SINV-1,Delivery Note,,",
		["Row 2: invoice_type 'Delivery Note' is not one of: Sales Invoice, POS Invoice"],
	),
	(
		"invoice type without invoice",
		b"A,2026-01-05,9,,,,,,,POS Invoice,,",
		["Row 2: invoice_type 'POS Invoice' is given without an invoice"],
	),
	(
		"invoice name with a newline",
		b'A,2026-01-05,9,,,,,,"SINV\n1",,,',
		[
			"Row 2: invoice 'SINV 1' cannot be a name (too long or with control characters); copy the name from the site"
		],
	),
	(
		"bad email",
		b"A,2026-01-05,9,,,,,,,,not-an-email,",
		["Row 2: email 'not-an-email' is not an email address"],
	),
	(
		"email with sql",
		b"A,2026-01-05,9,,,,,,,,x'@y.z; drop table,",
		['Row 2: email "x\'@y.z; drop table" is not an email address'.replace('"', "'")],
	),
	("unknown language", b"A,2026-01-05,9,,,,,,,,,fr", ["Row 2: language 'fr' is not one of: en, zh"]),
	(
		"answers nothing",
		b"A,2026-01-05,,,,,no,,,,,",
		["Row 2: answers nothing; give at least one of nps, csat, ces, comment, complaint"],
	),
	("empty customer", b",2026-01-05,9,,,,,,,,,", ["Row 2: customer is empty; fill it in"]),
]


@pytest.mark.parametrize(
	"line, messages", [case[1:] for case in SURVEY_ROW_CASES], ids=[c[0] for c in SURVEY_ROW_CASES]
)
def test_bad_survey_row_is_refused_with_its_message(line, messages):
	parsed = surveys(SURVEY_HEADER + line + b"\n")
	assert all(isinstance(error, ImportRowError) and error.row == 2 for error in parsed.errors)
	assert sorted(str(error) for error in parsed.errors) == sorted(messages)


SURVEY_DUPLICATE_CASES = [
	(
		"one invoice answered twice",
		b"A,2026-01-05,9,,,,,,SINV-1,,,\nA,2026-01-06,3,,,,,,sinv-1,Sales Invoice,,\n",
		[
			"Row 3 repeats row 2 (same invoice / customer, submitted_on, scores, comment); "
			"delete one of them, or make them differ"
		],
	),
	(
		"same answer pasted twice",
		b"A,2026-01-05 10:00,9,5,,Great,,,,,,\nA,2026-01-05 10:00,9,5,,Great,,,,,,\n",
		[
			"Row 3 repeats row 2 (same invoice / customer, submitted_on, scores, comment); "
			"delete one of them, or make them differ"
		],
	),
]


@pytest.mark.parametrize(
	"body, messages", [c[1:] for c in SURVEY_DUPLICATE_CASES], ids=[c[0] for c in SURVEY_DUPLICATE_CASES]
)
def test_duplicate_survey_rows_name_both_rows(body, messages):
	assert [str(error) for error in surveys(SURVEY_HEADER + body).errors] == messages


def test_same_invoice_number_of_two_invoice_types_is_not_a_duplicate():
	body = b"A,2026-01-05,9,,,,,,X-1,Sales Invoice,,\nA,2026-01-05,9,,,,,,X-1,POS Invoice,,\n"
	assert surveys(SURVEY_HEADER + body).errors == []


def test_good_survey_file_is_parsed_exactly():
	data = (
		SURVEY_HEADER
		+ "A,2026-01-05 10:30,9.0,5,,好 👍 '; DROP TABLE x; --,YES,product,S-1,pos invoice,a@b.co,ZH\n".encode()
	)
	parsed = surveys(data)
	assert parsed.errors == []
	row = parsed.rows[0]
	assert (row["submitted_on"], row["nps"], row["csat"], row["ces"], row["complaint"]) == (
		datetime(2026, 1, 5, 10, 30),
		9,
		5,
		None,
		True,
	)
	assert (row["complaint_category"], row["invoice_type"], row["language"]) == (
		"Product",
		"POS Invoice",
		"zh",
	)
	assert row["comment"] == "好 👍 '; DROP TABLE x; --"


def test_shown_values_are_one_short_line():
	assert C.shown("a\nb\x00c" + "x" * 100) == "'a b?c" + "x" * 34 + "…'"


# ---------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_the_imports_own_errors(data):
	for parse in (points, surveys):
		try:
			parsed = parse(data)
		except ImportFileError:
			continue
		assert all(isinstance(error, ImportRowError) for error in parsed.errors)


CELL = st.one_of(
	st.text(max_size=12),
	st.sampled_from(
		["", "5", "0", "-1", "1e309", "inf", "nan", "0.001", "2026-01-05", "2099-01-01", "yes", "X"]
	),
	st.decimals(allow_nan=True, allow_infinity=True).map(str),
	st.floats().map(repr),
	st.dates().map(str),
)


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
	import csv
	import io

	out = io.StringIO()
	writer = csv.writer(out)
	writer.writerow(header)
	writer.writerows(rows)
	return out.getvalue().encode("utf-8", errors="surrogatepass")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
	st.lists(st.sampled_from([*C.POINTS_REQUIRED, *C.POINTS_OPTIONAL, "junk"]), min_size=1, max_size=7),
	st.lists(st.lists(CELL, min_size=0, max_size=8), max_size=6),
	st.integers(min_value=0, max_value=6),
)
def test_random_points_csv_never_crashes_and_clean_rows_obey_the_rules(header, rows, precision):
	try:
		parsed = points(_csv(header, rows), precision=precision)
	except ImportFileError:
		return
	assert all(isinstance(error, ImportRowError) for error in parsed.errors)
	if not parsed.errors:
		for row in parsed.rows:
			assert 0 < row["points"] <= C.MAX_POINTS
			assert row["points"] == row["points"].quantize(Decimal(1).scaleb(-precision))
			assert C.EARLIEST_DATE <= row["posting_date"] <= TODAY
			assert row["expiry_date"] is None or row["expiry_date"] >= row["posting_date"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
	st.lists(st.sampled_from([*C.SURVEY_REQUIRED, *C.SURVEY_OPTIONAL, "junk"]), min_size=1, max_size=8),
	st.lists(st.lists(CELL, min_size=0, max_size=9), max_size=6),
)
def test_random_survey_csv_never_crashes_and_clean_rows_obey_the_rules(header, rows):
	try:
		parsed = surveys(_csv(header, rows))
	except ImportFileError:
		return
	assert all(isinstance(error, ImportRowError) for error in parsed.errors)
	if not parsed.errors:
		for row in parsed.rows:
			assert row["submitted_on"].date() <= TODAY
			for score, (low, high) in C.SURVEY_SCORES.items():
				assert row[score] is None or (isinstance(row[score], int) and low <= row[score] <= high)
