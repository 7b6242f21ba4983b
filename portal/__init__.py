"""The FaceConsent project and everything people see: shopper accounts, pages, staff console."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
