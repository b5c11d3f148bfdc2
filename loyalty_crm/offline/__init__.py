"""Offline analysis: a transactions CSV in, a folder of tables and an HTML report out.

No database and no frappe: this is what ``loyalty-crm analyze`` and ``loyalty-crm demo`` run,
so a shop can see its CLV and cohorts before installing anything.
"""

from loyalty_crm.offline.loader import load_transactions
from loyalty_crm.offline.pipeline import AnalysisResult, analyze, write_outputs

__all__ = ["AnalysisResult", "analyze", "load_transactions", "write_outputs"]
