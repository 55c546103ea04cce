"""Every write of the experience app, one module per feature, re-exported here."""

from storedesk.experience.services.tracking import (
    TrackingReportIn,
    do_record_shipping_problem,
    do_report_from_tracking,
)

__all__ = ["TrackingReportIn", "do_record_shipping_problem", "do_report_from_tracking"]
