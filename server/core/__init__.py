"""The core: queue rules, models, database, setup, reports and prediction. Imports nothing from the web layer or the device parts."""
