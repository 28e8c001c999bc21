app_name = "deliberation"

urlpatterns: list = []
