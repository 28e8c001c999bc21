from ._refused import RefusedCommand


class Command(RefusedCommand):
    help = "Switched off: use export_areas, export_heads or export_residents."
    library = "export"
