"""Django's admin app, on the site in portal.admin_site (named in INSTALLED_APPS by this class)."""

from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    default_site = "portal.admin_site.AdminSite"
