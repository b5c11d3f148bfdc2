"""The engine must run where frappe is absent: a fresh machine, the console command, CI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "loyalty_crm" / "engine"

BLOCK_FRAPPE = """
import importlib, importlib.abc, pkgutil, sys

class NoFrappe(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "frappe" or name.startswith("frappe."):
            raise ImportError("frappe is not available in this process")
        return None

sys.meta_path.insert(0, NoFrappe())
import loyalty_crm.engine as engine
names = [m.name for m in pkgutil.iter_modules(engine.__path__)]
for name in names:
    importlib.import_module("loyalty_crm.engine." + name)
import loyalty_crm.cli
print(len(names))
"""


def test_every_engine_module_imports_without_frappe():
	result = subprocess.run([sys.executable, "-c", BLOCK_FRAPPE], capture_output=True, text=True)
	assert result.returncode == 0, result.stderr
	assert int(result.stdout.strip()) == len([p for p in ENGINE.glob("*.py") if p.name != "__init__.py"])


def test_no_engine_source_mentions_frappe_import():
	for path in ENGINE.rglob("*.py"):
		for node in ast.walk(ast.parse(path.read_text())):
			if isinstance(node, ast.Import):
				assert all(not alias.name.startswith("frappe") for alias in node.names), path
			if isinstance(node, ast.ImportFrom):
				assert not (node.module or "").startswith("frappe"), path
