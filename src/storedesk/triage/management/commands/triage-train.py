"""`storedesk triage-train`: train the intent classifier on the project's own training data
plus every intent agents confirmed or corrected, and make it the active model."""

from django.core.management.base import BaseCommand

from storedesk.triage.services import do_train_intent_model


class Command(BaseCommand):
    help = (
        "Train the message intent classifier on src/storedesk/triage/training_data and the "
        "agents' labels, store it as a new version and activate it. Prints the held-out "
        "figures (templates held out, so the phrasing is new to the model)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-evaluate", action="store_true", help="skip the held-out evaluation (faster)"
        )

    def handle(self, *args, **options):
        report = do_train_intent_model(evaluate=not options["no_evaluate"])
        model = report.intent_model
        self.stdout.write(f"{model.version}: {model.training_size:,} messages")
        self.stdout.write(f"  agents' labels: {report.agent_labels:,}")
        metrics = model.metrics
        if "macro_f1" in metrics:
            self.stdout.write(
                f"  held out: {metrics['held_out']:,} messages, accuracy "
                f"{metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}"
            )
        self.stdout.write(f"  in {report.seconds:.1f} s")
