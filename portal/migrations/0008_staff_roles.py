"""The staff roles as groups, with the admin permissions of each (decision 0037)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_AGENT, PRIVACY_OFFICER, ADMIN = "Support agent", "Privacy officer", "Admin"
PRIVACY_OFFICER_PERMISSIONS = {
    ("stores", "operator"): ("view", "add", "change", "delete"),
    ("stores", "store"): ("view", "add", "change", "delete"),
    ("stores", "device"): ("view", "add", "change", "delete"),
    ("stores", "gallerycheck"): ("view",),
    ("stores", "probecounter"): ("view",),
    ("consent", "noticeversion"): ("view", "add", "change"),
}
# Not biometrics: no role reads a template (no admin page shows one either).
ADMIN_APPS = ("stores", "consent", "core", "portal")


def create_roles(apps, schema_editor):
    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Group.objects.get_or_create(name=SUPPORT_AGENT)
    officer, _ = Group.objects.get_or_create(name=PRIVACY_OFFICER)
    for (app_label, model), actions in PRIVACY_OFFICER_PERMISSIONS.items():
        officer.permissions.add(
            *Permission.objects.filter(
                content_type__app_label=app_label, codename__in=[f"{action}_{model}" for action in actions]
            )
        )
    admin, _ = Group.objects.get_or_create(name=ADMIN)
    admin.permissions.add(*Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[SUPPORT_AGENT, PRIVACY_OFFICER, ADMIN]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0007_privacy_requests"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("stores", "0011_operator_retention_applied"),
        ("consent", "0007_consent_events_erasure_path"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
