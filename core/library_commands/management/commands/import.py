from ._refused import RefusedCommand


class Command(RefusedCommand):
    help = "Switched off: use import_areas, import_heads or import_residents."
    library = "import"
