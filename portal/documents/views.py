"""The privacy officer's console pages for the documents for the authorities (S4): each operator with its
figures, the security protection document as a printable page, a PDF and JSON (as it stands now, or any issued
version), issuing a version, and completing and signing the impact assessment."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.errors import DomainError
from portal.documents.pdf import pdf_from_html
from portal.documents.selectors import (
    assessment_defaults,
    gallery_shoppers,
    issued_document,
    issued_documents,
    protection_document,
)
from portal.documents.services import impact_assessment_sign, protection_document_issue
from portal.models import ImpactAssessment
from portal.staff.roles import PRIVACY_OFFICER
from portal.staff.views import role_required
from stores.models import Operator

LANGUAGES = ("en", "zh-hans")


class AssessmentForm(forms.Form):
    purpose = forms.CharField(label=gettext_lazy("Purpose"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000)
    necessity = forms.CharField(
        label=gettext_lazy("Necessity"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000
    )
    impact = forms.CharField(
        label=gettext_lazy("Impact on the people concerned"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000
    )
    measures = forms.CharField(
        label=gettext_lazy("Protection measures"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000
    )


def _operator(slug: str) -> Operator:
    operator = Operator.objects.filter(slug=slug).first()
    if operator is None:
        raise Http404
    return operator


def _language(request: HttpRequest) -> str:
    wanted = request.GET.get("language", "")
    return wanted if wanted in LANGUAGES else translation.get_language()


def _content(request: HttpRequest, operator: Operator) -> dict:
    """The document asked for: an issued version (`?version=`, in the language it was issued in) or the figures
    as they stand now, in `?language=` or the page's."""
    version = request.GET.get("version", "")
    if version:
        issued = issued_document(operator, int(version)) if version.isdigit() else None
        if issued is None:
            raise Http404
        return issued.content
    with translation.override(_language(request)):
        return protection_document(operator)


def _render_document(request: HttpRequest, content: dict, *, for_pdf: bool) -> str:
    with translation.override(content["language"]):
        return render_to_string(
            "portal/documents/document.html", {"doc": content, "for_pdf": for_pdf}, request=None if for_pdf else request
        )


@role_required(PRIVACY_OFFICER)
@require_safe
def operators_list(request: HttpRequest) -> HttpResponse:
    rows = [
        {
            "operator": operator,
            "people": gallery_shoppers(operator).count(),
            "issued": list(issued_documents(operator)[:5]),
            "assessment": ImpactAssessment.objects.filter(operator=operator).order_by("-version").first(),
        }
        for operator in Operator.objects.order_by("name")
    ]
    return render(request, "portal/documents/operators.html", {"rows": rows})


@role_required(PRIVACY_OFFICER)
@require_safe
def document_page(request: HttpRequest, slug: str) -> HttpResponse:
    return HttpResponse(_render_document(request, _content(request, _operator(slug)), for_pdf=False))


@role_required(PRIVACY_OFFICER)
@require_safe
def document_pdf(request: HttpRequest, slug: str) -> HttpResponse:
    operator = _operator(slug)
    content = _content(request, operator)
    response = HttpResponse(
        pdf_from_html(_render_document(request, content, for_pdf=True)), content_type="application/pdf"
    )
    suffix = f"v{content['version']}" if content["version"] else content["generated_at"][:10]
    response["Content-Disposition"] = (
        f'attachment; filename="{operator.slug}-protection-document-{suffix}-{content["language"]}.pdf"'
    )
    return response


@role_required(PRIVACY_OFFICER)
@require_safe
def document_json(request: HttpRequest, slug: str) -> HttpResponse:
    content = _content(request, _operator(slug))
    return JsonResponse(content, json_dumps_params={"ensure_ascii": False, "indent": 2})


@role_required(PRIVACY_OFFICER)
@require_POST
def document_issue(request: HttpRequest, slug: str) -> HttpResponse:
    operator = _operator(slug)
    language = request.POST.get("language", "")
    with translation.override(language if language in LANGUAGES else translation.get_language()):
        issued = protection_document_issue(operator=operator, staff=request.user)
    messages.success(request, _("Version %(version)s is issued and kept.") % {"version": issued.version})
    return redirect(f"{reverse('portal:staff_documents')}#{operator.slug}")


@role_required(PRIVACY_OFFICER)
@require_http_methods(["GET", "POST"])
def assessment_page(request: HttpRequest, slug: str) -> HttpResponse:
    operator = _operator(slug)
    last = ImpactAssessment.objects.filter(operator=operator).order_by("-version").first()
    initial = (
        {name: getattr(last, name) for name in ("purpose", "necessity", "impact", "measures")}
        if last
        else assessment_defaults(operator)
    )
    form = AssessmentForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                signed = impact_assessment_sign(operator=operator, staff=request.user, **form.cleaned_data)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request, _("Version %(version)s of the assessment is signed.") % {"version": signed.version}
                )
                return redirect("portal:staff_assessment", slug=operator.slug)
        status = 400
    return render(
        request,
        "portal/documents/assessment.html",
        {
            "operator": operator,
            "form": form,
            "last": last,
            "versions": operator.impact_assessments.order_by("-version"),
        },
        status=status,
    )
