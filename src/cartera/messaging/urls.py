"""Public pages of messaging: the debtor's opt-out page and the providers' delivery callbacks."""

from django.urls import include, path

from cartera.messaging.views.callbacks import delivery_callback
from cartera.messaging.views.optout import optout

app_name = "messaging"

urlpatterns: list = [
    path("optout/<str:token>/", optout, name="optout"),
    # Delivery reports of the SMS and WhatsApp providers (signed), and of email providers
    # through django-anymail's tracking webhooks (/m/anymail/<esp>/tracking/).
    path("callbacks/<str:channel>/", delivery_callback, name="callback"),
    path("anymail/", include("anymail.urls")),
]
