from django.urls import path

from ..views import branches

app_name = "lenders_public"

urlpatterns = [
    path("signup/", branches.signup, name="signup"),
    path("register/", branches.register, name="register"),
]
