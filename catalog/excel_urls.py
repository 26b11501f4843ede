"""Excel pages of the catalog; core's catalog/urls.py includes these into the `catalog` namespace."""

from django.urls import path

from catalog import excel_views

urlpatterns = [
    path("excel/import/", excel_views.excel_import, name="excel-import"),
    path("excel/export/", excel_views.excel_export, name="excel-export"),
    path("excel/template/", excel_views.excel_template, name="excel-template"),
    path("master/export/", excel_views.master_export, name="master-export"),
]
