"""Public pages of messaging: the debtor's opt-out page and the providers' delivery callbacks."""

app_name = "messaging"

urlpatterns: list = []
