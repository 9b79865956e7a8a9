"""Request bodies' models made at their first use (server/web/api/request_model.py): what a model
declares an empty body reads as (``empty``, so that ``parse_body`` answers it without pydantic) is
what the model itself makes of ``{}``."""

from __future__ import annotations

import importlib
import pkgutil

from queuekiosk.server.web import api
from queuekiosk.server.web.api.request_model import _OnDemand


def _request_models() -> dict:
    found = {}
    for module_info in pkgutil.iter_modules(api.__path__):
        module = importlib.import_module(f"{api.__name__}.{module_info.name}")
        for name, value in vars(module).items():
            if isinstance(value, _OnDemand):
                found[f"{module_info.name}.{name}"] = value
    return found


def test_an_empty_body_reads_as_the_model_reads_it():
    models = _request_models()
    assert len(models) >= 19  # it sees the API's models
    for name, stand_in in models.items():
        model = stand_in.model()
        assert model.__name__ == name.rpartition(".")[2], name
        if stand_in.empty is not None:
            assert vars(stand_in.empty) == model.model_validate({}).model_dump(), name
