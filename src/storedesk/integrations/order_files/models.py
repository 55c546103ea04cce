"""A record of each order file imported (or dry-run), for the upload page's history."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderImport(models.Model):
    """One run over an order file: what it found and what it stored; the file is not kept."""

    store = models.ForeignKey("commerce.Store", on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(_("file"), max_length=255)
    layout = models.CharField(max_length=20)
    dry_run = models.BooleanField(_("dry run"), default=False)
    rows_read = models.PositiveIntegerField(default=0)
    orders_valid = models.PositiveIntegerField(default=0)
    orders_created = models.PositiveIntegerField(default=0)
    orders_already_stored = models.PositiveIntegerField(default=0)
    rows_refused = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True, help_text="the first refused rows")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at"], name="order_import_created_idx")]

    def __str__(self) -> str:
        return self.file_name
