"""The door simulator: send a photo (or an entry pass) to the device API as the demo entrance device.

The request is the reference client's (`stores.client`), signed exactly as a store integrator signs
it. It goes to the device API in this process, or over HTTP to `SIMULATOR_DEVICE_API_URL` when that
is set: never to an address taken from the request, whose Host header anyone can write. The photo
is read into memory, sent and dropped; nothing is kept. Only on when `ENTRANCE_SIMULATOR` is set
(the embedded default and DEBUG), and only for staff: whoever uses it acts as the store's door.
"""

from __future__ import annotations

import functools
import io
import json
import urllib.error
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.handlers.wsgi import WSGIRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import resolve, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from biometrics.uploads import photo_size_check
from core.errors import DomainError
from portal.headers import permissions_policy_allow
from stores.client import DeviceClient, DeviceResponse

DEMO_DEVICE_FILENAME = "demo-device.json"


def demo_device_file() -> Path:
    """Where `seed_demo` writes the demo device's credentials (read from settings at call time)."""
    return Path(settings.VAR_DIR) / DEMO_DEVICE_FILENAME


def demo_device_credentials() -> dict[str, str] | None:
    """The demo device's {"url", "device_id", "secret"}, or None when the file is missing or unusable."""
    try:
        data = json.loads(demo_device_file().read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key), str) and data[key] for key in ("device_id", "secret")
    ):
        return None
    return {"url": str(data.get("url", "")), "device_id": data["device_id"], "secret": data["secret"]}


class InProcessDeviceClient(DeviceClient):
    """The reference client, with the device API called in this process instead of over a socket.

    The signed request goes through the API view as it would arrive from a device (authentication,
    signature, nonce, parsing), without the network and without the middleware of a page.
    """

    def __init__(self, device_id: str, secret: str) -> None:
        super().__init__("http://in-process", device_id, secret)

    def _exchange(self, method: str, path: str, body: bytes, headers) -> tuple[int, bytes, dict[str, str]]:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "SERVER_NAME": "in-process",
            "SERVER_PORT": "80",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
        }
        for name, value in headers().items():
            key = name.upper().replace("-", "_")
            environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
        match = resolve(path)
        response = match.func(WSGIRequest(environ), *match.args, **match.kwargs)
        if hasattr(response, "render"):
            response.render()
        return response.status_code, response.content, {name.lower(): value for name, value in response.items()}


def device_client(credentials: dict[str, str]) -> DeviceClient:
    """The simulator's device: in-process, or at the configured address; never the request's Host."""
    if settings.SIMULATOR_DEVICE_API_URL:
        return DeviceClient(settings.SIMULATOR_DEVICE_API_URL, credentials["device_id"], credentials["secret"])
    return InProcessDeviceClient(credentials["device_id"], credentials["secret"])


def simulator_enabled(view):
    """404 unless the simulator is switched on; checked before login so nothing hints it exists."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.ENTRANCE_SIMULATOR:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def staff_only(view):
    """Staff alone play the door: others are sent to the admin's login, a logged-in shopper is refused."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not (user.is_active and user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


class SimulatorForm(forms.Form):
    photo = forms.FileField(label=gettext_lazy("Photo"), required=False)
    entry_pass = forms.CharField(
        label=gettext_lazy("Entry pass token (optional)"),
        required=False,
        max_length=2000,
        strip=True,
        help_text=gettext_lazy(
            "With a photo: the face is checked against this pass only. Alone: entry without a face."
        ),
    )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("photo") and not cleaned.get("entry_pass") and not self.errors:
            raise forms.ValidationError(
                _("Choose a photo, take one with the camera, or paste an entry pass token."), code="probe_required"
            )
        return cleaned


def _answer(response: DeviceResponse) -> dict[str, Any]:
    """What the page shows of the device API's JSON answer."""
    body = response.body if isinstance(response.body, dict) else {}
    if response.status < 400 and body.get("result") == "match":
        return {
            "kind": "match",
            "shopper_ref": body.get("shopper_ref", ""),
            "visit_id": body.get("visit_id", ""),
            "first_visit": body.get("first_visit") is True,
        }
    if response.status < 400 and body.get("result") == "no_match":
        return {"kind": "no_match"}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    return {
        "kind": "error",
        "status": response.status,
        "code": error.get("code") or f"http_{response.status}",
        "message": error.get("message") or _("The device API gave no explanation."),
    }


def _call_device_api(credentials: dict[str, str], photo: bytes | None, entry_pass: str):
    try:
        with device_client(credentials) as client:
            response = client.entry_pass(entry_pass) if photo is None else client.match_photo(photo, entry_pass or None)
            body = response.body if isinstance(response.body, dict) else {}
            if body.get("first_visit") is True and isinstance(body.get("notice_version"), int):
                # This page shows the collection notice with the answer: the door confirms it did (C11).
                client.notice_shown(str(body["visit_id"]), body["notice_version"])
    except (urllib.error.URLError, OSError, ValueError) as error:
        return {
            "kind": "error",
            "status": None,
            "code": "device_api_unreachable",
            "message": _("Could not reach the device API at %(url)s: %(reason)s")
            % {"url": settings.SIMULATOR_DEVICE_API_URL, "reason": getattr(error, "reason", error)},
        }
    return _answer(response)


@simulator_enabled
@staff_only
@never_cache
@permissions_policy_allow(camera=["self"])  # the webcam frame; every other page denies the camera
@sensitive_post_parameters("entry_pass")
@require_http_methods(["GET", "POST"])
def simulator(request: HttpRequest) -> HttpResponse:
    credentials = demo_device_credentials()
    answer = None
    if request.method == "POST":
        form = SimulatorForm(request.POST, request.FILES)
        try:
            photo_size_check(request=request)
        except DomainError as error:
            form.add_error("photo", error.message)
        if credentials is not None and form.is_valid():
            upload = form.cleaned_data["photo"]
            photo = upload.read() if upload else None  # in memory only (MemoryOnlyUploadHandler)
            answer = _call_device_api(credentials, photo, form.cleaned_data["entry_pass"])
            del photo, upload
            form = SimulatorForm()  # the photo and the pass are not shown back
    else:
        form = SimulatorForm()
    return render(
        request,
        "portal/simulator.html",
        {
            "form": form,
            "device_id": credentials["device_id"] if credentials else "",
            "missing_device": credentials is None,
            "device_file": demo_device_file(),
            "answer": answer,
        },
    )
