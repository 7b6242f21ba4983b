"""JSON API for face enrollment: upload 1-3 photos, follow the progress, see or delete the face."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from biometrics.models import Enrollment
from biometrics.selectors import enrollment_get_for_shopper, face_status_for_shopper
from biometrics.services import enrollment_start, templates_delete
from biometrics.uploads import photo_size_check
from core.api import errors
from core.audit import Actor
from core.models import Channel


class PhotoResultSerializer(serializers.Serializer):
    photo = serializers.IntegerField(min_value=1, help_text="The photo's place in the upload, from 1.")
    accepted = serializers.BooleanField()
    code = serializers.CharField(allow_null=True, help_text="Why the photo was refused (no_face, several_faces ...).")
    message = serializers.CharField(allow_blank=True)


class EnrollmentOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    results = PhotoResultSerializer(many=True, help_text="One entry per photo, once processed.")

    class Meta:
        model = Enrollment
        fields = ["id", "status", "photo_count", "results", "reason", "created_at", "started_at", "finished_at"]


def uploaded_photos(request) -> list[bytes]:
    """The photos of a multipart request, read in memory; refuses those over the size limit."""
    uploads = request.FILES.getlist("photos")  # parsing the body is what finds oversized files
    photo_size_check(request=request._request, field="photos")
    return [upload.read() for upload in uploads]


class EnrollmentStartApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="enrollment_start",
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "photos": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "minItems": 1,
                        "maxItems": 3,
                    }
                },
                "required": ["photos"],
            }
        },
        responses={202: EnrollmentOutputSerializer, **errors(400, 401, 403, 409, 415)},
        description=(
            "Upload 1-3 photos of your face (JPEG, PNG or WebP). Answers at once; follow the "
            "progress at GET /api/v1/enrollments/{id}. The photos are deleted once encoded."
        ),
    )
    def post(self, request):
        enrollment = enrollment_start(shopper=request.user, photos=uploaded_photos(request), channel=Channel.APP)
        return Response(EnrollmentOutputSerializer(enrollment).data, status=status.HTTP_202_ACCEPTED)


class EnrollmentDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="enrollment_detail", responses={200: EnrollmentOutputSerializer, **errors(401, 404)})
    def get(self, request, public_id):
        return Response(
            EnrollmentOutputSerializer(enrollment_get_for_shopper(shopper=request.user, public_id=public_id)).data
        )


class FaceApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        enrolled = serializers.BooleanField()
        templates = serializers.IntegerField()
        enrolled_at = serializers.DateTimeField(allow_null=True)
        latest_enrollment = EnrollmentOutputSerializer(allow_null=True)
        max_photos = serializers.IntegerField()

    @extend_schema(operation_id="face_status", responses={200: OutputSerializer, **errors(401)})
    def get(self, request):
        face = face_status_for_shopper(shopper=request.user)
        return Response(self.OutputSerializer({**face.__dict__, "max_photos": settings.ENROLL_MAX_PHOTOS}).data)

    @extend_schema(
        operation_id="face_delete",
        responses={204: None, **errors(401)},
        description="Delete your face templates now. Your consents stay as they are.",
    )
    def delete(self, request):
        templates_delete(
            shopper=request.user, actor=Actor.shopper(request.user, Channel.APP), reason="deleted by the shopper"
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
