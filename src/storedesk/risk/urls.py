from storedesk.risk.views import digest, review, rules

app_name = "risk"
urlpatterns = [*review.urlpatterns, *rules.urlpatterns, *digest.urlpatterns]
