"""The services one counter window calls (programme, staff, sales, enrolment), built once per window.

Qt-free; the app's wiring builds it and the screens receive it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from frontdesk.config import Settings
from frontdesk.loyalty.programme import ProgrammeService
from frontdesk.members.enrolment import EnrolmentService
from frontdesk.sales.service import SalesService
from frontdesk.search import SearchService
from frontdesk.staff.service import StaffService


@dataclass
class CounterServices:
    """Everything the counter screens call, built once per window."""

    programmes: ProgrammeService
    staff: StaffService
    sales: SalesService
    enrolment: EnrolmentService
    connectivity: Any = None  # sync.status.Connectivity: whether the loyalty server answers (None: never online)


def build_counter_services(engine: Engine, settings: Settings, search: SearchService, *,
                           connectivity: Any = None) -> CounterServices:
    """`search` is the lookup's search service: the enrolment's duplicate check shares its connection (both run on
    the UI's serial DB worker). `connectivity` is sync's shared `Connectivity`: its `is_online()` is a cheap flag
    the checkout reads inside its write transactions (offline redemptions are capped)."""
    programmes = ProgrammeService(engine, settings)
    staff = StaffService(engine)
    is_online = connectivity.is_online if connectivity is not None else (lambda: False)
    sales = SalesService(engine, settings, programmes, staff, is_online=is_online)
    return CounterServices(programmes=programmes, staff=staff, sales=sales,
                           enrolment=EnrolmentService(engine, settings, search), connectivity=connectivity)
