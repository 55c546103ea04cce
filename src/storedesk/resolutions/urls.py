from django.urls import path

from storedesk.resolutions.views import approvals, budget, limits, lists, panel

app_name = "resolutions"
urlpatterns = [
    path("", lists.resolution_list, name="list"),
    path("orders/<int:order_pk>/panel/", panel.panel, name="panel"),
    path("orders/<int:order_pk>/preview/", panel.preview, name="preview"),
    path("orders/<int:order_pk>/resolve/", panel.resolve, name="resolve"),
    path("<int:pk>/retry/", panel.retry, name="retry"),
    path("approvals/", approvals.approval_list, name="approvals"),
    path("approvals/count/", approvals.approvals_count, name="approvals_count"),
    path("approvals/<int:pk>/approve/", approvals.approve, name="approve"),
    path("approvals/<int:pk>/decline/", approvals.decline, name="decline"),
    path("limits/", limits.limits, name="limits"),
    path("budget/", budget.budget, name="budget"),
]
