"""The report pages, mounted at /reports/."""

from django.urls import path

from cartera.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("documents/", views.documents, name="documents"),
    path("aging/", views.aging, name="aging"),
    path("rollrates/", views.rollrates, name="rollrates"),
    path("rollrates/accounts/", views.roll_accounts_view, name="roll_accounts"),
    path("provision/", views.provision, name="provision"),
    path("forecast/", views.forecast, name="forecast"),
    path("forecast/items/", views.forecast_items_view, name="forecast_items"),
    path("productivity/", views.productivity, name="productivity"),
    path("productivity/items/", views.productivity_items, name="productivity_items"),
    path("runs/", views.runs, name="runs"),
]
