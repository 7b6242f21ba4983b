"""The site's address follows where the server listens (`make run BIND=...`), unless SITE_URL names it.

It is what the demo prints and writes for the reference client, and what mails and receipts link to.
"""

import json
import os

import pytest

from tests.commands import manage


def embedded_environment(var_dir, **variables: str) -> dict[str, str]:
    """The embedded default, in its own var/, with only the given address variables set."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DATABASE_URL", "REDIS_URL", "CACHE_", "CELERY_", "SITE_URL", "BIND"))
    }
    return inherited | {"VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "portal.settings", **variables}


def shown_address(env: dict[str, str]) -> tuple[str, str]:
    """(SITE_URL, ALLOWED_HOSTS as text) of a process started with `env`."""
    shown = manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings; print(settings.SITE_URL, settings.ALLOWED_HOSTS)",
        env=env,
    )
    address, hosts = shown.strip().splitlines()[-1].split(" ", 1)
    return address, hosts


@pytest.mark.parametrize(
    ("bind", "site_url", "host"),
    [
        ("127.0.0.1:8101", "http://127.0.0.1:8101", "'127.0.0.1'"),
        ("0.0.0.0:8101", "http://127.0.0.1:8101", "'127.0.0.1'"),  # every interface: this machine's among them
        ("[::1]:8101", "http://[::1]:8101", "'[::1]'"),
        ("192.0.2.7:9000", "http://192.0.2.7:9000", "'192.0.2.7'"),
    ],
)
def test_the_embedded_default_takes_its_address_from_the_bind_address(tmp_path, bind, site_url, host):
    address, hosts = shown_address(env=embedded_environment(tmp_path, BIND=bind))
    assert address == site_url
    assert host in hosts  # and the server answers requests made to that address


def test_site_url_names_the_address_whatever_the_bind(tmp_path):
    env = embedded_environment(tmp_path, BIND="127.0.0.1:8101", SITE_URL="https://portal.example.com/")
    assert shown_address(env=env)[0] == "https://portal.example.com"


def test_seed_demo_prints_and_writes_the_address_the_server_listens_at(tmp_path):
    env = embedded_environment(tmp_path, BIND="127.0.0.1:8101")
    manage("migrate", "--noinput", "-v", "0", env=env)
    printed = manage("seed_demo", env=env)
    device_file = json.loads((tmp_path / "demo-device.json").read_text())
    assert device_file["url"] == "http://127.0.0.1:8101"
    assert f"python -m stores.client --url http://127.0.0.1:8101 --device {device_file['device_id']}" in printed
    assert "the admin at http://127.0.0.1:8101/admin/" in printed
    assert ":8000" not in printed

    # Served elsewhere the next time: the same device and secret, at the new address.
    moved = manage("seed_demo", env=env | {"BIND": "127.0.0.1:8102"})
    assert json.loads((tmp_path / "demo-device.json").read_text()) == device_file | {"url": "http://127.0.0.1:8102"}
    assert "--url http://127.0.0.1:8102" in moved
