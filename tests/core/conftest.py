import pytest


@pytest.fixture
def upload_dir(settings, tmp_path):
    """Uploaded spreadsheets go to a temporary folder, not the project's var/."""
    settings.VAR_DIR = tmp_path
    return tmp_path / "imports"
