"""Run the bench's development web server for one site on 127.0.0.1 only.

`bench serve` binds 0.0.0.0 and has no option to change that; this runs the same server
(frappe.app.serve) with the host forced to loopback and the interactive debugger off.
Usage, from the bench's sites directory:
    ../env/bin/python /path/to/tests/browser/serve_loopback.py SITE PORT
"""

import os
import sys


def main():
	site, port = sys.argv[1], int(sys.argv[2])
	os.environ["CI"] = "1"  # frappe.app.serve: no reloader, no interactive debugger
	import werkzeug.serving

	run_simple = werkzeug.serving.run_simple

	def loopback(_host, *args, **kwargs):
		return run_simple("127.0.0.1", *args, **kwargs)

	werkzeug.serving.run_simple = loopback
	import frappe.app

	frappe.app.serve(port=port, site=site, sites_path=".", no_reload=True)


if __name__ == "__main__":
	main()
