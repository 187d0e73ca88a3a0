"""Under /chat/ on the public site: the providers' webhooks and the person's phone page."""

from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("whatsapp/webhook/", views.whatsapp_webhook, name="whatsapp_webhook"),
    path("sms/inbound/", views.sms_inbound, name="sms_inbound"),
    path("phone/", views.phone, name="phone"),
    path("phone/code/", views.phone_code, name="phone_code"),
    path("phone/unlink/", views.phone_unlink, name="phone_unlink"),
    path("phone/whatsapp-off/", views.phone_whatsapp_off, name="phone_whatsapp_off"),
]
