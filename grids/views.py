"""Tree browser and public notice boards (to be filled in)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect


@login_required
def area_root(request):
    return redirect("home")
