from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from cartera.reports.views import home as aging
from cartera.workdesk.views import home

admin.site.site_header = "Cartera"
admin.site.site_title = "Cartera"
admin.site.index_title = _("Administration")

urlpatterns = [
    # The workdesk: a collector's worklist or, for supervisors, the team's page.
    path("", home, name="home"),
    path("aging/", aging, name="aging"),
    path("", include("cartera.workdesk.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("m/", include("cartera.messaging.urls")),
    path("reports/", include("cartera.reports.urls")),
    path("cash/", include("cartera.cash.urls")),
]
