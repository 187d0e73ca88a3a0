"""The public URLs plus one bare view: the denominator of the load benchmark's ratio."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from escort_portal.urls_public import urlpatterns as public_urlpatterns


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [path("bench/bare/", bare), *public_urlpatterns]
