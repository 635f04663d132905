"""The one entry point the Functions host loads: a DFApp that registers the blueprints."""

import azure.durable_functions as df
import azure.functions as func

from orchestrator.api_extraction import bp as extraction_bp

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

for blueprint in (extraction_bp,):
    app.register_functions(blueprint)
