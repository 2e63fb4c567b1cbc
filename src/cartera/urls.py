from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from cartera.reports.views import home

admin.site.site_header = "Cartera"
admin.site.site_title = "Cartera"
admin.site.index_title = _("Administration")

urlpatterns = [
    path("", home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("m/", include("cartera.messaging.urls")),
]
