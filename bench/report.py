"""How every bench prints a figure: ``name: value`` (the unit in the name), one per line;
comments start with ``#``. No Django here: the city bench imports it before Django is set."""


def emit(name: str, value, digits: int = 3) -> None:
    if isinstance(value, float):
        value = f"{value:.{digits}f}"
    print(f"{name}: {value}", flush=True)


def comment(text: str) -> None:
    print(f"# {text}", flush=True)
