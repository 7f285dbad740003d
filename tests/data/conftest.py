"""Keep the user's dataset cache untouched: every test reads and fills a temporary one."""

import pytest


@pytest.fixture(scope="session")
def _session_data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("nnx-datasets")


@pytest.fixture(autouse=True)
def data_dir(_session_data_dir, monkeypatch):
    """One cache for the session, so scikit-learn is read once per dataset."""
    monkeypatch.setenv("NNX_DATA_DIR", str(_session_data_dir))
    return _session_data_dir


@pytest.fixture
def write_csv(tmp_path):
    """write_csv(text, name) -> the path of a CSV file holding `text`."""
    def write(text, name="data.csv"):
        path = tmp_path / name
        path.write_text(text)
        return path
    return write
