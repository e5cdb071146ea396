"""Who a record page lists first: the lead professional, then the other services."""

from __future__ import annotations

from datetime import date
from typing import Any

from searchapi.record_schemas import ChildRecordView


def contact_order(view: ChildRecordView) -> dict[str, Any]:
    """Who to contact first (the current lead professional), then the other services: the
    current ones newest first (those without a start date after), then the ended ones."""
    lead = next((i for i in view.involvements if i.lead_professional and i.end_date is None), None)
    others = [i for i in view.involvements if i is not lead]
    current = [i for i in others if i.end_date is None]
    ended = [i for i in others if i.end_date is not None]
    # Newest first; a date not known goes last (date.min).
    current.sort(key=lambda i: i.start_date or date.min, reverse=True)
    ended.sort(key=lambda i: i.end_date or date.min, reverse=True)
    return {"lead": lead, "others": current + ended}
