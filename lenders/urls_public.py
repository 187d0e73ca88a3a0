from django.urls import path

from . import views

app_name = "lenders_public"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("register/", views.register, name="register"),
]
