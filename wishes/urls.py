app_name = "wishes"

urlpatterns: list = []
