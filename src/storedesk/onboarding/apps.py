from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "storedesk.onboarding"
    label = "onboarding"
    verbose_name = "Onboarding"
