"""Wiring: the importer, the review service and the profiles for one database and configuration."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from frontdesk.config import Settings
from frontdesk.invoices.importer import InvoiceImporter
from frontdesk.invoices.profiles import Profile, load_profiles
from frontdesk.invoices.review import ReviewService
from frontdesk.invoices.settings import InvoiceSettings, invoice_settings
from frontdesk.loyalty.programme import ProgrammeService
from frontdesk.sales import SalesService
from frontdesk.staff.service import StaffService


@dataclass
class InvoiceServices:
    config: InvoiceSettings
    profiles: list[Profile]
    checkout: SalesService
    importer: InvoiceImporter
    review: ReviewService

    def close(self) -> None:
        self.importer.close()


def build_invoice_services(engine: Engine, settings: Settings, *, config: InvoiceSettings | None = None,
                           profiles: list[Profile] | None = None, checkout: SalesService | None = None
                           ) -> InvoiceServices:
    config = config or invoice_settings(settings)
    profiles = profiles if profiles is not None else load_profiles(config.profile_dirs)
    if checkout is None:
        staff = StaffService(engine)
        checkout = SalesService(engine, settings, ProgrammeService(engine, settings), staff)
    importer = InvoiceImporter(engine, settings, config, profiles, checkout)
    review = ReviewService(engine, importer, checkout, checkout.staff)
    return InvoiceServices(config=config, profiles=profiles, checkout=checkout, importer=importer, review=review)
