"""The cash application pages, mounted at /cash/."""

from django.urls import path

from cartera.cash import views

app_name = "cash"

urlpatterns = [
    path("", views.statements, name="statements"),
    path("statements/<int:import_id>/", views.statement, name="statement"),
    path("unmatched/", views.unmatched, name="unmatched"),
    path("lines/<int:line_id>/", views.line_page, name="line"),
    path("lines/<int:line_id>/apply/", views.line_apply, name="apply"),
    path("lines/<int:line_id>/ignore/", views.line_ignore, name="ignore"),
    path("lines/<int:line_id>/reverse/", views.line_reverse, name="reverse"),
]
