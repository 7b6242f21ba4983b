"""API routes for face enrollment (mounted under /api/v1/)."""

from django.urls import path

from biometrics import apis

urlpatterns = [
    path("enrollments", apis.EnrollmentStartApi.as_view(), name="enrollment_start"),
    path("enrollments/<uuid:public_id>", apis.EnrollmentDetailApi.as_view(), name="enrollment_detail"),
    path("face", apis.FaceApi.as_view(), name="face"),
]
