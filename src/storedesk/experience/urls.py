"""The customer-facing pages of the experience app (mounted at the site root) and the desk's
pages that manage them."""

app_name = "experience"

urlpatterns = []
