"""The ``loyalty-crm`` console command: the engine on transaction files, no bench needed.

Bench commands (which need a site) live in ``loyalty_crm.commands``; this module must stay
importable without frappe so a new user can run the analytics on a fresh machine.
"""

from __future__ import annotations

import click

from loyalty_crm import __version__
from loyalty_crm.offline.commands import analyze_command, churn_command, demo_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="loyalty-crm")
def main() -> None:
	"""Loyalty analytics (RFM, CLV, cohorts, segments, churn) on transaction files."""


main.add_command(analyze_command)
main.add_command(churn_command)
main.add_command(demo_command)


if __name__ == "__main__":
	main()
