"""The two webhooks the providers call, and the person's own page for linking their phone.

Both webhooks check the provider's signature or secret before reading anything (403
otherwise), answer 200 at once and leave the work to a job per message (chat.tasks); when the
broker does not take the jobs they answer 503, so the provider delivers the messages again.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from stations.access import SignedInRequest, second_factor_required, signed_in_required
from stations.models import ChatContact

from . import services, tasks
from .payloads import secret_valid, signature_valid, sms_incoming, whatsapp_events


def _forbidden() -> HttpResponse:
    return HttpResponse(status=403)


def _accepted(ok: bool) -> HttpResponse:
    if not ok:
        return JsonResponse({"ok": False}, status=503)
    return JsonResponse({"ok": True})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    """The Cloud API's webhook: the GET handshake when it is set up, then signed POSTs."""
    if request.method == "GET":
        if request.GET.get("hub.mode") == "subscribe" and secret_valid(
            given=request.GET.get("hub.verify_token", ""), secret=settings.WHATSAPP_VERIFY_TOKEN
        ):
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        return _forbidden()
    body = request.body
    if not signature_valid(
        body=body,
        header=request.headers.get("X-Hub-Signature-256", ""),
        secret=settings.WHATSAPP_APP_SECRET,
    ):
        return _forbidden()
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python follows
        return JsonResponse({"ok": False}, status=400)
    received_at = timezone.now().isoformat()
    found, statuses = whatsapp_events(data, phone_number_id=settings.WHATSAPP_PHONE_NUMBER_ID)
    return _accepted(tasks.webhook_queue(found, statuses, received_at=received_at))


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """The SMS gateway's inbound webhook: one message a request, with the shared secret."""
    if not secret_valid(
        given=request.headers.get("X-Inbound-Secret", ""), secret=settings.SMS_INBOUND_SECRET
    ):
        return _forbidden()
    received_at = timezone.now().isoformat()
    if request.content_type == "application/json":
        try:
            fields = json.loads(request.body)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python follows
            fields = None
    else:
        fields = request.POST
    message = sms_incoming(fields) if hasattr(fields, "get") else None
    if message is None:
        return JsonResponse({"ok": False}, status=400)
    return _accepted(tasks.webhook_queue([message], [], received_at=received_at))


# --- The person's own page ---


def _whatsapp_link(code: str) -> str:
    number = settings.WHATSAPP_BUSINESS_NUMBER.lstrip("+").replace(" ", "")
    if not number:
        return ""
    # The text names the portal and says what the person agrees to: sending it is the opt-in.
    text = _(
        "Escort Portal code %(code)s: I agree to get escort messages from Escort Portal "
        "on WhatsApp."
    ) % {"code": code}
    return f"https://wa.me/{number}?text={quote(text)}"


@signed_in_required
@second_factor_required
@require_http_methods(["GET"])
def phone(request: SignedInRequest) -> HttpResponse:
    contact = ChatContact.objects.filter(user=request.user).first()
    return render(request, "chat/phone.html", _page(contact))


def _page(contact: ChatContact | None, code: str = "") -> dict:
    return {
        "contact": contact,
        "code": code,
        "code_minutes": settings.CHAT_LINK_CODE_MINUTES,
        "whatsapp_number": settings.WHATSAPP_BUSINESS_NUMBER,
        "whatsapp_link": _whatsapp_link(code) if code else "",
        "sms_number": settings.SMS_INBOUND_NUMBER,
    }


@signed_in_required
@second_factor_required
@require_POST
def phone_code(request: SignedInRequest) -> HttpResponse:
    """A new code, shown once on the page that answers."""
    code = services.link_code_issue(user=request.user)
    contact = ChatContact.objects.filter(user=request.user).first()
    return render(request, "chat/phone.html", _page(contact, f"{code[:4]} {code[4:]}"))


@signed_in_required
@second_factor_required
@require_POST
def phone_unlink(request: SignedInRequest) -> HttpResponse:
    services.contact_unlink(user=request.user)
    messages.success(request, _("Your phone is unlinked: its messages do nothing now."))
    return redirect("chat:phone")


@signed_in_required
@second_factor_required
@require_POST
def phone_whatsapp_off(request: SignedInRequest) -> HttpResponse:
    contact = ChatContact.objects.filter(user=request.user).first()
    if contact is not None:
        services.contact_set_consent(contact=contact, channel="whatsapp", on=False)
    messages.success(
        request, _("No more WhatsApp messages. Send START from your phone to have them again.")
    )
    return redirect("chat:phone")
