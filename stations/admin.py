from typing import cast

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from escort_portal.ratelimits import rate_limit

from . import services
from .models import (
    Domain,
    Station,
    StationQuerySet,
    StationRole,
    Subdivision,
    SubdivisionRole,
    User,
)


class SecondFactorAdminSite(OTPAdminSite):
    """The admin hands out roles in every station: with OTP_REQUIRED (production) it needs the
    second factor, set up at /accounts/two-factor/ with an enrolment code (`manage.py
    enrolment_code`), and asks for the code at its own sign-in."""

    def has_permission(self, request: HttpRequest) -> bool:
        if settings.OTP_REQUIRED:
            return super().has_permission(request)
        return admin.AdminSite.has_permission(self, request)

    @property
    def login_form(self) -> type[OTPAdminAuthenticationForm] | None:
        return OTPAdminAuthenticationForm if settings.OTP_REQUIRED else None

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # A sign-in page like /accounts/login/, with its limit per address: without it, guesses
        # sent here would get round that page's limit.
        return rate_limit("login")(super().login)(request, extra_context)


# django-otp's way of putting its check on the default site that every app registers with.
admin.site.__class__ = SecondFactorAdminSite


@admin.register(Subdivision)
class SubdivisionAdmin(admin.ModelAdmin):
    list_display = ["name", "name_bn", "district", "state"]
    search_fields = ["name", "name_bn", "district"]


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = ["name", "name_bn", "slug", "subdivision", "roster_cutoff"]
    list_filter = ["subdivision"]
    search_fields = ["name", "name_bn", "slug"]
    readonly_fields = ["schema_name", "created_at"]
    inlines = [DomainInline]

    def get_queryset(self, request):
        return cast(StationQuerySet, super().get_queryset(request)).live()

    def has_add_permission(self, request) -> bool:
        # A station needs its schema; `manage.py create_station` makes both.
        return False


class StationRoleInline(admin.TabularInline):
    model = StationRole
    extra = 0
    autocomplete_fields = ["station"]


class SubdivisionRoleInline(admin.TabularInline):
    model = SubdivisionRole
    extra = 0


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Portal"), {"fields": ("phone", "language")}),
    )
    list_display = ["username", "first_name", "last_name", "phone", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email", "phone"]
    inlines = [StationRoleInline, SubdivisionRoleInline]

    # Taking powers away here signs the user out everywhere, as the portal's own pages do:
    # disabling the account, taking away staff or superuser status, and any change to a role or
    # post (removed, another role, another station or subdivision). Adding one takes nothing away.
    _POWERS = ("is_active", "is_staff", "is_superuser")

    def has_delete_permission(self, request, obj=None) -> bool:
        # A user is disabled, never deleted: the stations' records keep the ids of who did what
        # (without a constraint across schemas that would stop a deletion, stations.schemas).
        return False

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and any(
            name in form.changed_data and not getattr(obj, name) for name in self._POWERS
        ):
            services.user_sessions_end(user=obj)

    def save_formset(self, request, form, formset, change) -> None:
        super().save_formset(request, form, formset, change)
        if formset.deleted_objects or formset.changed_objects:
            services.user_sessions_end(user=form.instance)
