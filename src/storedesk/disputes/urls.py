from storedesk.disputes.views import dispute, queue, reasons

app_name = "disputes"
urlpatterns = [*queue.urlpatterns, *reasons.urlpatterns, *dispute.urlpatterns]
