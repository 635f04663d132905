"""The one entry point the Functions host loads: a DFApp that registers the blueprints (after
turning on telemetry, when configured, so that every function runs under it)."""

import azure.durable_functions as df
import azure.functions as func

from activities.agent_triggers import bp as agents_bp
from activities.publishing import bp as publish_bp
from activities.season_trigger import bp as season_activity_bp
from orchestrator.http.console import bp as console_bp
from orchestrator.http.data import bp as data_bp
from orchestrator.http.docs import bp as docs_bp
from orchestrator.http.events import bp as events_bp
from orchestrator.http.extraction import bp as extraction_bp
from orchestrator.http.identity import bp as identity_bp
from orchestrator.http.negotiate import bp as negotiate_bp
from orchestrator.http.results import bp as results_bp
from orchestrator.http.runs import bp as runs_bp
from orchestrator.http.seasons import bp as seasons_bp
from orchestrator.season import bp as season_bp
from orchestrator.workflow import bp as workflow_bp
from shared import telemetry
from shared.settings import get_settings

# OpenTelemetry (Application Insights, or local export) when the settings ask for it; otherwise
# nothing is loaded (shared/telemetry).
telemetry.configure(get_settings())

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

BLUEPRINTS = (
    extraction_bp,
    workflow_bp,
    runs_bp,
    agents_bp,
    publish_bp,
    negotiate_bp,
    events_bp,
    results_bp,
    data_bp,
    identity_bp,
    console_bp,
    docs_bp,
    season_bp,
    season_activity_bp,
    seasons_bp,
)

for blueprint in BLUEPRINTS:
    app.register_functions(blueprint)
