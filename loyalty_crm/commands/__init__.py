"""Bench commands: `bench --site SITE loyalty-crm <command>`.

Frappe's bench imports this module and reads `commands`. Each command module adds its
commands to the one `loyalty-crm` group; each command connects to the site, delegates to a
service module, and disconnects in `finally` (the frappe/helpdesk pattern).
"""

import loyalty_crm.commands.campaigns  # noqa: F401  (registers its commands)
import loyalty_crm.commands.cards  # noqa: F401  (registers its commands)
import loyalty_crm.commands.churn  # noqa: F401  (registers its commands)
import loyalty_crm.commands.nightly  # noqa: F401  (registers its commands)
import loyalty_crm.commands.segments  # noqa: F401  (registers its commands)
import loyalty_crm.commands.surveys  # noqa: F401  (registers its commands)
import loyalty_crm.commands.tiers  # noqa: F401  (registers its commands)
from loyalty_crm.commands import points  # noqa: F401  (registers its commands)
from loyalty_crm.commands.base import loyalty_crm

commands = [loyalty_crm]
