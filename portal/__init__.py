"""The FaceConsent project and everything people see: shopper accounts and pages, the admin for staff."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
