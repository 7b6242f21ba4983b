"""The admin shows only models whose writes go through our services (docs/decisions/0015-audited-admin.md).

Django and django-otp register admins for groups and staff OTP devices, whose writes would leave no
audit entry (and whose device pages show TOTP secrets). Roles (groups) are given by the audited
`manage.py staff_roles` (portal.staff.services.staff_roles_set); the second factor is set up by each
staff member on their own pages (portal.staff.views).
"""

from django.contrib import admin
from django.contrib.auth.models import Group
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

for model in (Group, TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
