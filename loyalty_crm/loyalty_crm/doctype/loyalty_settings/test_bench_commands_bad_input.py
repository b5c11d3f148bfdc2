# Copyright (c) 2026, loyalty_crm developers and contributors
# For license information, please see license.txt
"""The bench commands as a user runs them, with bad input: one red line, exit code 1, no traceback.

Each case starts the command in its own process on this site (as `bench --site S ...` does),
so what is checked is exactly what the user sees. Only inputs that need no test data are used:
the test's own rows are not committed and a second process would not see them.
"""

import os
import subprocess
import sys
import tempfile

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import get_bench_path, nowdate


def bench(*args: str) -> subprocess.CompletedProcess:
	return subprocess.run(
		[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "--site", frappe.local.site, *args],
		cwd=os.path.join(get_bench_path(), "sites"),
		capture_output=True,
		text=True,
		timeout=300,
	)


class TestBenchCommandsBadInput(FrappeTestCase):
	def write(self, data: bytes) -> str:
		handle, path = tempfile.mkstemp(suffix=".csv")
		with os.fdopen(handle, "wb") as out:
			out.write(data)
		self.addCleanup(os.remove, path)
		return path

	def test_bad_input_prints_one_message_and_exits_1(self):
		today = nowdate()
		latin1 = self.write("customer,company,points\nJosé,_Test Company,5\n".encode("latin-1"))
		future = self.write(b"customer,submitted_on,nps\nNobody,2099-11-01,inf\n")
		cases = [
			(
				("loyalty-crm", "expire-points", "--date", "2099-01-01"),
				[f"--date '2099-01-01' is in the future (today is {today}); give today or an earlier date"],
			),
			(
				("loyalty-crm", "refresh-segments", "--segment", "No Such Segment"),
				["--segment 'No Such Segment': there is no Customer Segment of that name; the names are: "],
			),
			(
				("loyalty-crm", "import-points", latin1),
				[
					'The file is not UTF-8 (byte 0xe9 on line 2); save it as "CSV UTF-8" '
					"(in Excel: Save As, CSV UTF-8) and import again"
				],
			),
			(
				("loyalty-crm", "import-surveys", future),
				[
					f"Row 2: submitted_on '2099-11-01' is in the future (today is {today}); check the year",
					"Row 2: nps 'inf' is not a number; write digits with a dot for decimals, e.g. 1250.5",
					"Row 2: customer 'Nobody' does not exist; use the customer's ID (its name in the Customer list)",
					"Nothing was imported: fix the rows above and run again",
				],
			),
		]
		for args, lines in cases:
			with self.subTest(args=args[:3]):
				result = bench(*args)
				output = result.stdout + result.stderr
				self.assertEqual(result.returncode, 1, output)
				self.assertNotIn("Traceback", output)
				printed = [line for line in result.stdout.splitlines() if line.strip()]
				self.assertEqual(len(printed), len(lines), output)
				for line, expected in zip(printed, lines, strict=True):
					self.assertTrue(line.startswith(expected), f"{line!r} does not start with {expected!r}")
