"""Errors the engine raises on bad input.

The engine cannot import frappe, yet every message must reach the user translated.
So messages are kept as untranslated templates (marked with the no-op ``_`` below, which
Frappe's string extractor recognises) plus arguments; the Frappe layer translates the
template with ``frappe._`` and formats it, the console command prints it as is.
"""

from __future__ import annotations


def _(message: str) -> str:
	"""Mark a message for translation without translating it here (gettext_noop)."""
	return message


class EngineError(ValueError):
	"""Bad input to an engine function: the message says what and, where it can, where."""

	def __init__(self, template: str, *args: object) -> None:
		self.template = template
		self.template_args = args
		super().__init__(template.format(*args) if args else template)

	def translated(self, translate) -> str:
		"""Format with a translation function, e.g. ``frappe._``."""
		text = translate(self.template)
		return text.format(*self.template_args) if self.template_args else text
