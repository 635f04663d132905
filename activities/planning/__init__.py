"""The planning numerics: forecasting, demand, clustering, inventory, pricing and the season's
stock flow, with the contexts they take (contexts).

Pure on purpose: these modules import numpy, pandas, statsforecast (with statsmodels and scipy),
scikit-learn and threadpoolctl, and from shared/ only the contracts (results, schemas, errors,
progress); never SQLAlchemy, Azure or the settings. The database reads (shared.data.context),
the activity triggers and runs (activities.agent_triggers, activities.agent_runs) and
publishing live around them, so a plan can be computed, tested and benchmarked without either.
tests/activities/planning/test_planning_purity.py holds the package to that.
"""
