"""The platform admin's view of linked numbers and received messages: to answer "why did my
message do nothing?" and to unlink a lost phone. Consent changes only from the phone or the
person's own page, so those fields are read-only here."""

from __future__ import annotations

from django.contrib import admin

from stations.models import ChatContact

from .models import InboundMessage


@admin.register(ChatContact)
class ChatContactAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "phone",
        "verified_over",
        "verified_at",
        "whatsapp_consent",
        "sms_stopped",
    ]
    list_filter = ["verified_over", "whatsapp_consent", "sms_stopped"]
    search_fields = ["phone", "user__username", "user__first_name", "user__last_name"]
    readonly_fields = [
        "user",
        "phone",
        "verified_at",
        "verified_over",
        "whatsapp_consent",
        "whatsapp_consent_changed_at",
        "sms_stopped",
        "sms_stopped_changed_at",
    ]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "channel", "phone", "user", "outcome", "reply_status"]
    list_filter = ["channel", "status", "reply_status"]
    search_fields = ["phone", "provider_id", "outcome"]
    date_hierarchy = "received_at"

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
