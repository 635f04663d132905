"""The azd template, checked offline: Bicep that parses, azure.yaml that matches azd's schema,
app settings that match what the app reads, a role assignment behind every keyless connection,
the security defaults, and checkov over infra/ with only the skips infra/.checkov.yaml justifies.

Bicep is read with pycep-parser (a Bicep grammar for Python); nothing here needs Azure or the
Bicep CLI. checkov runs from its own virtualenv (`make infra-tools`), since its pins clash with
the app's; when it is missing the test skips the loud way (tests/support/real_components.py), which
fails the run under CI.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any, cast

import jsonschema
import pytest
import yaml
from pycep import BicepParser
from pydantic import AliasChoices
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909
from sqlalchemy import make_url

from shared.data.db import uses_entra_auth
from shared.extraction import language_model_configured
from shared.identity import APP_ROLES
from shared.messaging.webpubsub_client import uses_identity
from shared.settings import Settings
from tests.support.real_components import skip_missing

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
CHECKOV = ROOT / ".venv-infra" / "bin" / "checkov"

ROLE = {
    "storageBlobDataOwner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "storageQueueDataContributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "storageTableDataContributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "monitoringMetricsPublisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "webPubSubServiceOwner": "12cf5a90-567b-43ae-8102-96cf46c7d9b4",
    "cognitiveServicesOpenAiUser": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
}

# Settings the template leaves at their defaults, and why that is right in Azure.
DEFAULT_IN_AZURE = {
    "AZURE_OPENAI_API_KEY": "unset means keyless: the managed identity's Entra token",
    "OPENAI_API_KEY": "unused while AZURE_OPENAI_ENDPOINT is set",
    "OPENAI_BASE_URL": "unused while AZURE_OPENAI_ENDPOINT is set",
    "OPENAI_MODEL": "unused while AZURE_OPENAI_ENDPOINT is set",
    "LLM_TIMEOUT_SECONDS": "tuning; the default bounds a request at 20 s",
    "LLM_MAX_RETRIES": "tuning",
    "DB_POOL_TIMEOUT_SECONDS": "tuning: how long a caller waits for a pooled connection",
    "OTEL_TRACES_EXPORTER": "local runs only: in Azure the Application Insights connection string "
    "turns telemetry on",
    "DB_POOL_PRE_PING": "on: a connection the network dropped is replaced, not handed out",
    "DB_POOL_RECYCLE_SECONDS": "180 s, below the 4-minute idle timeout of Azure's network",
    "DB_TOKEN_REFRESH_MARGIN_SECONDS": "tuning: Entra tokens live about an hour",
    "WebPubSubConnectionString": "ignored while WebPubSubEndpoint is set (keyless)",
    "NEGOTIATE_TOKEN_MINUTES": "tuning",
    "DEMAND_AGENT_TIMEOUT_SECONDS": "tuning",
    "INVENTORY_AGENT_TIMEOUT_SECONDS": "tuning",
    "PRICING_AGENT_TIMEOUT_SECONDS": "tuning",
    "AGENT_MAX_ATTEMPTS": "tuning",
    "SEASON_ACTUALS_LATE_DAYS": "tuning: a business choice; 3 days suits a weekly sales feed",
    "AGENT_RETRY_INTERVAL_MS": "tuning",
    "HEARTBEAT_WINDOW_MINUTES": "tuning; heartbeats only while someone may listen",
    "CONTEXT_CACHE_MB": "tuning: 512 MiB of the instance's 2,048 MB for category histories",
    "LOCAL_HOP_DELAY_MS": "local runtime only: the Durable hops it simulates are real in Azure",
    "REPLENISHMENT_COVER_WEEKS": "planning policy: unset covers until the next delivery",
    "REPLENISHMENT_SAFETY_WEEKS": "planning policy: half a week of safety stock",
    "REPLENISHMENT_TRANSIT_WEEKS": "planning policy: deliveries arrive the week they ship",
    "PUBLIC_BASE_URL": "unset means relative URLs, resolved against the host the client called",
    "HTTP_DATABASE_WAIT_MS": "tuning; the default answers a locked database within 2 s",
    "MAX_RUNNING_PLANS_PER_USER": "tuning; the default admits 3 running plans per planner",
    "LOCAL_DEVELOPER_ID": "must stay unset in Azure (and is refused there): Easy Auth signs in",
    "LOCAL_DEVELOPER_NAME": "only with LOCAL_DEVELOPER_ID",
    "WEBSITE_AUTH_ENABLED": "set by the platform when App Service Authentication is on",
    "WEBSITE_INSTANCE_ID": "set by the platform",
    "WEBSITE_SITE_NAME": "set by the platform",
}

# Settings the template sets for the platform rather than for shared/settings.py.
PLATFORM_SETTINGS = {
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "AZURE_CLIENT_ID",
    "AZURE_TOKEN_CREDENTIALS",
    "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID",
    "WEBSITE_AUTH_AAD_ALLOWED_TENANTS",
}

# What a deployed environment's non-literal values look like, to check them against Settings.
SAMPLE_VALUES = {
    "webPubSubEndpoint": "https://wps-abc.webpubsub.azure.com",
    "webPubSubHub": "season_planning",
    "openAiEndpoint": "https://oai-abc.openai.azure.com/",
    "openAiDeploymentName": "gpt-5.4-mini",
    "postgresUser": "id-planner-abc",
    "postgresHost": "psql-abc.postgres.database.azure.com",
    "postgresDatabaseName": "planning",
}


@cache
def bicep(relative: str) -> dict[str, Any]:
    # Walked as plain JSON: the tests follow keys that pycep's TypedDicts do not spell out.
    return cast(dict[str, Any], BicepParser().parse(file_path=INFRA / relative))


def dotted(expr: Any) -> Any:
    """`a.b.c` for a property-accessor chain; anything else unchanged."""
    if isinstance(expr, dict) and expr.get("operator", {}).get("type") == "property_accessor":
        ops = expr["operator"]["operands"]
        return f"{dotted(ops['operand_1'])}.{dotted(ops['operand_2'])}"
    return expr


def body(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource's declaration, under its `if (...)` condition when it has one."""
    config = resource["config"]
    return config["config"] if "condition" in config and "config" in config else config


def resources_of(relative: str, type_: str) -> dict[str, dict[str, Any]]:
    return {
        name: r
        for name, r in bicep(relative)["resources"].items()
        if r["type"] == type_ and not r["existing"]
    }


def declared(relative: str, type_: str, name: str) -> dict[str, Any]:
    """The declaration of resource `name` (of `type_`) in `relative`."""
    return body(resources_of(relative, type_)[name])


def template_app_settings() -> dict[str, Any]:
    """Every app setting the Function App gets: the app's (main.bicep) and the platform's."""
    app = bicep("main.bicep")["modules"]["functionApp"]["config"]["params"]["appSettings"]
    union = bicep("app/function.bicep")["variables"]["allSettings"]["value"]["function"]
    assert union["parameters"]["arg_1"] == "appSettings"
    return {**app, **union["parameters"]["arg_2"]}


def setting_names() -> dict[str, str]:
    """Field name -> the app-setting name it is read from (its first alias)."""
    names = {}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        assert isinstance(alias, AliasChoices), name
        assert isinstance(alias.choices[0], str), name
        names[name] = alias.choices[0]
    return names


# --- parsing and schema ------------------------------------------------------------------------


def test_every_bicep_file_parses():
    assert {p.relative_to(INFRA).as_posix() for p in BICEP_FILES} >= {
        "main.bicep",
        "app/function.bicep",
        "app/auth.bicep",
        "app/entra-app.bicep",
        "core/identity.bicep",
        "core/monitoring.bicep",
        "core/storage.bicep",
        "core/webpubsub.bicep",
        "core/openai.bicep",
        "core/postgres.bicep",
        "core/rbac.bicep",
    }
    for path in BICEP_FILES:
        parsed = bicep(path.relative_to(INFRA).as_posix())
        assert parsed.get("resources") or parsed.get("modules"), path


def test_main_wires_every_module_that_exists():
    modules = bicep("main.bicep")["modules"]
    for name, module in modules.items():
        assert (INFRA / module["detail"]["path"]).is_file(), name
    assert set(modules) == {
        "identities",
        "monitoring",
        "storage",
        "webPubSub",
        "openAi",
        "postgres",
        "rbac",
        "entraApp",
        "functionApp",
        "auth",
    }


def azd_schema_validator() -> jsonschema.Draft201909Validator:
    """azd's published schema (schemas/v1.0/azure.yaml.json of Azure/azure-dev at commit
    ae35809f, vendored in infra/schemas/). Its only remote $refs describe AI agent hosts, which
    this project does not use: they resolve to an empty schema instead of being fetched (no
    network in tests)."""
    schema = json.loads((INFRA / "schemas" / "azure.yaml.v1.0.json").read_text())

    def offline(uri: str) -> Resource:
        return DRAFT201909.create_resource({"$id": uri})

    # `retrieve` is the attrs alias of Registry's `_retrieve` field, which mypy does not read.
    registry = Registry(retrieve=offline)  # type: ignore[call-arg]
    return jsonschema.Draft201909Validator(schema, registry=registry)


def _walk(node: Any):
    """Every string and property-accessor chain in a parsed template, as text."""
    if isinstance(node, dict):
        chain = dotted(node)
        if isinstance(chain, str):
            yield chain
        else:
            for value in node.values():
                yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
    elif isinstance(node, str):
        yield node


def test_modules_get_the_parameters_they_declare_and_give_the_outputs_used():
    """What the Bicep compiler would refuse: unknown or missing module parameters, references
    to outputs a module does not have."""
    main = bicep("main.bicep")
    outputs = {}
    for name, module in main["modules"].items():
        declared = bicep(module["detail"]["path"])
        passed = set(body(module)["params"])
        assert passed <= set(declared["parameters"]), (name, passed - set(declared["parameters"]))
        required = {p for p, spec in declared["parameters"].items() if spec["default"] is None}
        assert required <= passed, (name, required - passed)
        outputs[name] = set(declared.get("outputs", {}))
    used = {(m, o) for text in _walk(main) for m, o in re.findall(r"\b(\w+)\.outputs\.(\w+)", text)}
    assert used, "main.bicep uses no module outputs?"
    for module, output in used:
        assert output in outputs[module], f"{module}.outputs.{output} does not exist"


def test_parameters_file_feeds_main_from_the_azd_environment():
    params = bicep("main.bicep")["parameters"]
    given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(given) <= set(params), set(given) - set(params)
    required = {name for name, p in params.items() if p["default"] is None}
    assert required <= set(given), required - set(given)
    for name, entry in given.items():
        assert re.fullmatch(r"\$\{[A-Z_]+(=[^}]*)?\}", entry["value"]), name


def test_azure_yaml_matches_azd_schema():
    document = yaml.safe_load((ROOT / "azure.yaml").read_text())
    validator = azd_schema_validator()
    errors = sorted(validator.iter_errors(document), key=lambda e: e.path)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    service = document["services"]["api"]
    assert (service["host"], service["language"]) == ("function", "python")
    assert (ROOT / service["project"] / "function_app.py").is_file()
    assert (ROOT / document["infra"]["path"] / f"{document['infra']['module']}.bicep").is_file()


def test_the_minimum_tool_versions_are_declared_and_documented():
    """The Microsoft Graph extension needs Bicep 0.36.1; azd 1.17.0 is the first to bring it."""
    assert "microsoftGraphV1" in json.loads((INFRA / "bicepconfig.json").read_text())["extensions"]
    document = yaml.safe_load((ROOT / "azure.yaml").read_text())
    assert document["requiredVersions"] == {"azd": ">= 1.17.0"}
    deploying = (ROOT / "docs" / "deploying.md").read_text()
    assert "azd **1.17.0 or later**" in deploying and "**Bicep 0.36.1**" in deploying


def test_azd_runs_the_smoke_test_after_every_deploy():
    """The postdeploy hook runs `python -m localdev smoke` on the URL and Web PubSub endpoint the
    template outputs (azd passes outputs to hooks as environment variables)."""
    from localdev.__main__ import COMMANDS

    document = yaml.safe_load((ROOT / "azure.yaml").read_text())
    hook = document["hooks"]["postdeploy"]
    assert hook["posix"]["shell"] == "sh" and hook["windows"]["shell"] == "pwsh"
    assert '-m localdev smoke "$SERVICE_API_URI"' in hook["posix"]["run"]
    assert "-m localdev smoke $env:SERVICE_API_URI" in hook["windows"]["run"]
    assert "continueOnError" not in hook["posix"], "a failed check must fail the deploy"
    assert COMMANDS["smoke"] == "localdev.cli.smoke"
    outputs = bicep("main.bicep")["outputs"]
    assert {"SERVICE_API_URI", "WEBPUBSUB_ENDPOINT"} <= set(outputs)
    from localdev.cli.smoke import WEBPUBSUB_SETTING

    assert WEBPUBSUB_SETTING == "WEBPUBSUB_ENDPOINT"


@pytest.mark.parametrize(
    "break_it",
    [
        lambda doc: doc["services"]["api"].pop("host"),
        lambda doc: doc.pop("name"),
        lambda doc: doc.update(services={}),
        lambda doc: doc["infra"].update(provider="Bicep"),
        lambda doc: doc["services"]["api"].update(language=3.11),
    ],
)
def test_azure_yaml_schema_catches_mistakes(break_it):
    document = yaml.safe_load((ROOT / "azure.yaml").read_text())
    break_it(document)
    assert list(azd_schema_validator().iter_errors(document))


# --- settings ----------------------------------------------------------------------------------


def test_every_setting_the_app_reads_is_set_or_safely_defaulted():
    template = template_app_settings()
    for field, name in setting_names().items():
        assert name in template or name in DEFAULT_IN_AZURE, (
            f"{name} ({field}) is neither set by infra/ nor listed with a reason in "
            "DEFAULT_IN_AZURE"
        )
    unknown = set(template) - set(setting_names().values()) - PLATFORM_SETTINGS
    assert not unknown, f"infra/ sets settings nothing reads: {unknown}"
    assert not set(DEFAULT_IN_AZURE) & set(template)


def _sample(value: Any) -> Any:
    if isinstance(value, str):
        value = SAMPLE_VALUES.get(value, value)
        return re.sub(r"\$\{(\w+)\}", lambda m: SAMPLE_VALUES[m.group(1)], value)
    raise AssertionError(f"app setting value is not a string or a known variable: {value}")


def test_template_settings_make_the_app_keyless():
    app = bicep("main.bicep")["modules"]["functionApp"]["config"]["params"]["appSettings"]
    names = setting_names()
    settings = Settings(
        **{field: _sample(app[name]) for field, name in names.items() if name in app}
    )
    assert uses_identity(settings)
    assert language_model_configured(settings) and settings.azure_openai_api_key is None
    database = make_url(settings.database_url)
    assert uses_entra_auth(database) and database.query["sslmode"] == "require"
    assert settings.extractor == "auto"


def test_no_secret_in_app_settings():
    for name, value in template_app_settings().items():
        text = json.dumps(value)
        assert not re.search(r"(?i)accountkey|accesskey|password|secret|listkeys", text), name
        assert not re.search(r"(?i)(_KEY|PASSWORD|SECRET)$", name), name


# --- identity-based connections and their roles ------------------------------------------------


def _role_assignments() -> dict[str, tuple[str, str]]:
    """Role assignments of rbac.bicep: role name -> (scope resource, principal)."""
    found = {}
    assignments = resources_of("core/rbac.bicep", "Microsoft.Authorization/roleAssignments")
    for resource in assignments.values():
        config = body(resource)
        role = dotted(
            config["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        ).removeprefix("roles.")
        found[role] = (config["scope"], config["properties"]["principalId"])
    return found


def test_every_keyless_connection_has_its_role_assignment():
    roles = bicep("core/rbac.bicep")["variables"]["roles"]["value"]
    assert roles == ROLE
    assigned = _role_assignments()
    settings = template_app_settings()
    needed: dict[str, str] = {}
    if settings["AzureWebJobsStorage__credential"] == "managedidentity":
        # Functions host and Durable task hub (blobs, queues, tables); the deployment package.
        needed.update(
            storageBlobDataOwner="storage",
            storageQueueDataContributor="storage",
            storageTableDataContributor="storage",
        )
    if "Authorization=AAD" in settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]:
        needed["monitoringMetricsPublisher"] = "applicationInsights"
    if "WebPubSubEndpoint" in settings:
        needed["webPubSubServiceOwner"] = "webPubSub"
    if "AZURE_OPENAI_ENDPOINT" in settings and "AZURE_OPENAI_API_KEY" not in settings:
        needed["cognitiveServicesOpenAiUser"] = "openAi"
    assert {role: scope for role, (scope, _) in assigned.items()} == needed
    assert {principal for _, principal in assigned.values()} == {"principalId"}


def test_one_identity_runs_the_app_and_holds_the_roles():
    main = bicep("main.bicep")["modules"]
    assert (
        dotted(main["rbac"]["config"]["params"]["principalId"])
        == "identities.outputs.runtimePrincipalId"
    )
    assert (
        dotted(body(main["postgres"])["params"]["adminPrincipalId"])
        == "identities.outputs.runtimePrincipalId"
    )
    function = main["functionApp"]["config"]["params"]
    assert dotted(function["runtimeIdentityClientId"]) == "identities.outputs.runtimeClientId"
    settings = bicep("app/function.bicep")["variables"]["allSettings"]["value"]["function"]
    platform = settings["parameters"]["arg_2"]
    assert platform["AzureWebJobsStorage__clientId"] == "runtimeIdentityClientId"
    assert platform["AZURE_CLIENT_ID"] == "runtimeIdentityClientId"
    assert platform["AZURE_TOKEN_CREDENTIALS"] == "ManagedIdentityCredential"
    assert platform["OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID"] == "authIdentityClientId"
    site = declared("app/function.bicep", "Microsoft.Web/sites", "site")
    deployment = site["properties"]["functionAppConfig"]["deployment"]["storage"]
    assert deployment["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "runtimeIdentityId",
    }


def test_postgres_accepts_only_entra_and_the_app_identity_is_admin():
    server = declared("core/postgres.bicep", "Microsoft.DBforPostgreSQL/flexibleServers", "server")
    assert server["properties"]["authConfig"]["passwordAuth"] == "Disabled"
    assert server["properties"]["authConfig"]["activeDirectoryAuth"] == "Enabled"
    assert "administratorLoginPassword" not in server["properties"]
    admin = declared(
        "core/postgres.bicep",
        "Microsoft.DBforPostgreSQL/flexibleServers/administrators",
        "administrator",
    )
    assert admin["name"] == "adminPrincipalId"
    assert admin["properties"]["principalType"] == "ServicePrincipal"


# --- security defaults -------------------------------------------------------------------------


def test_function_app_security_defaults():
    site = declared("app/function.bicep", "Microsoft.Web/sites", "site")
    assert site["properties"]["httpsOnly"] is True
    config = site["properties"]["siteConfig"]
    assert (config["minTlsVersion"], config["scmMinTlsVersion"], config["ftpsState"]) == (
        "1.2",
        "1.2",
        "Disabled",
    )
    assert site["properties"]["functionAppConfig"]["runtime"] == {
        "name": "python",
        "version": "3.11",
    }
    assert set(site["identity"]["userAssignedIdentities"]) == {
        "'${runtimeIdentityId}'",
        "'${authIdentityId}'",
    }
    policies = resources_of(
        "app/function.bicep", "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
    )
    assert {body(p)["name"]: body(p)["properties"]["allow"] for p in policies.values()} == {
        "ftp": False,
        "scm": False,
    }
    plan = declared("app/function.bicep", "Microsoft.Web/serverfarms", "plan")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}


def test_data_services_disable_keys():
    storage = declared("core/storage.bicep", "Microsoft.Storage/storageAccounts", "account")
    props = storage["properties"]
    assert (props["allowBlobPublicAccess"], props["allowSharedKeyAccess"]) == (False, False)
    assert (props["minimumTlsVersion"], props["supportsHttpsTrafficOnly"]) == ("TLS1_2", True)
    wps = declared("core/webpubsub.bicep", "Microsoft.SignalRService/webPubSub", "service")
    assert wps["properties"]["disableLocalAuth"] is True
    hub = declared("core/webpubsub.bicep", "Microsoft.SignalRService/webPubSub/hubs", "hub")
    assert hub["properties"]["anonymousConnectPolicy"] == "Deny"
    oai = declared("core/openai.bicep", "Microsoft.CognitiveServices/accounts", "account")
    assert oai["properties"]["disableLocalAuth"] is True
    appi = declared("core/monitoring.bicep", "Microsoft.Insights/components", "applicationInsights")
    assert appi["properties"]["DisableLocalAuth"] is True


@pytest.mark.parametrize(
    "module, scopes",
    [
        ("app/function.bicep", {"site"}),
        ("core/storage.bicep", {"blobs", "queues", "tables"}),
        ("core/webpubsub.bicep", {"service"}),
        ("core/openai.bicep", {"account"}),
        ("core/postgres.bicep", {"server"}),
    ],
)
def test_diagnostic_logs_reach_log_analytics(module, scopes):
    settings = resources_of(module, "Microsoft.Insights/diagnosticSettings").values()
    assert {body(s)["scope"] for s in settings} == scopes
    for setting in settings:
        assert body(setting)["properties"]["workspaceId"] == "logAnalyticsWorkspaceId"
        assert body(setting)["properties"]["logs"]


# --- sign-in -----------------------------------------------------------------------------------


def test_easy_auth_requires_entra_sign_in_without_a_secret():
    auth = declared("app/auth.bicep", "Microsoft.Web/sites/config", "authSettings")
    assert auth["name"] == "authsettingsV2"
    props = auth["properties"]
    assert props["platform"]["enabled"] is True
    assert props["globalValidation"]["requireAuthentication"] is True
    # API calls whose session ended get a 401 their client handles, never a 302 to a login page.
    assert props["globalValidation"]["unauthenticatedClientAction"] == "Return401"
    aad = props["identityProviders"]["azureActiveDirectory"]
    assert aad["enabled"] is True
    secret_setting = aad["registration"]["clientSecretSettingName"]
    assert secret_setting == "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID"
    assert secret_setting in template_app_settings()
    assert props["httpSettings"]["requireHttps"] is True
    # Where planners copy their id_token from: Microsoft Learn, "Work with OAuth tokens in Azure
    # App Service authentication": GET /.auth/me answers only while the token store is enabled.
    assert props["login"]["tokenStore"]["enabled"] is True


def test_app_registration_carries_the_roles_and_trusts_the_auth_identity():
    entra = bicep("app/entra-app.bicep")
    application = body(entra["resources"]["application"])
    roles = {r["value"]: r for r in application["appRoles"]}
    assert set(roles) == set(APP_ROLES) == {"planner", "data-admin"}
    assert all(r["allowedMemberTypes"] == ["User"] and r["isEnabled"] for r in roles.values())
    assert application["web"]["redirectUris"] == ["redirectUri"]
    redirect = bicep("main.bicep")["modules"]["entraApp"]["config"]["params"]["redirectUri"]
    assert redirect == "${functionApp.outputs.uri}/.auth/login/aad/callback"
    credential = next(
        r for r in entra["resources"].values() if "/federatedIdentityCredentials" in r["type"]
    )
    assert body(credential)["subject"] == "federatedIdentityPrincipalId"
    assert body(credential)["audiences"] == ["api://AzureADTokenExchange"]
    params = bicep("main.bicep")["modules"]["entraApp"]["config"]["params"]
    assert dotted(params["federatedIdentityPrincipalId"]) == "identities.outputs.authPrincipalId"
    assert body(entra["resources"]["servicePrincipal"])["appRoleAssignmentRequired"] is True


# --- the PostgreSQL connection budget ------------------------------------------------------------

# Microsoft Learn, "Limits in Azure Database for PostgreSQL flexible server", Maximum connections
# (learn.microsoft.com/azure/postgresql/flexible-server/concepts-limits), checked 2026-12-07: the
# default max_connections of each compute size; the service reserves 15 of them for replication
# and monitoring. Built-in PgBouncer exists on General Purpose and Memory Optimized only
# (concepts-pgbouncer).
POSTGRES_RESERVED_CONNECTIONS = 15
POSTGRES_MAX_CONNECTIONS = {
    "Standard_B1ms": 50,
    "Standard_B2s": 429,
    "Standard_B2ms": 859,
    "Standard_B4ms": 1718,
    "Standard_B8ms": 3437,
    "Standard_B12ms": 5000,
    "Standard_B16ms": 5000,
    "Standard_B20ms": 5000,
    "Standard_D2ds_v5": 859,
    "Standard_D4ds_v5": 1718,
    "Standard_D8ds_v5": 3437,
    "Standard_D16ds_v5": 5000,
}


def connection_budget(sku: str, instances: int, per_instance: int) -> tuple[int, int]:
    """(connections the app may open, connections the server lets users open)."""
    return instances * per_instance, POSTGRES_MAX_CONNECTIONS[sku] - POSTGRES_RESERVED_CONNECTIONS


def _template_pool() -> tuple[int, int]:
    """Pool connections per instance as deployed: worker processes x (size + overflow), each
    setting as the template sets it or else the app's default."""
    settings = template_app_settings()
    names = setting_names()
    defaults = Settings.model_fields

    def value(field: str) -> int:
        name = names[field]
        return int(settings[name]) if name in settings else int(defaults[field].default)

    # One Python worker process per instance unless FUNCTIONS_WORKER_PROCESS_COUNT says more.
    processes = int(settings.get("FUNCTIONS_WORKER_PROCESS_COUNT", 1))
    return processes, value("db_pool_size") + value("db_max_overflow")


def test_max_instances_times_the_pool_fits_the_servers_user_connections():
    instances = _defaults("app/function.bicep")["maximumInstanceCount"]
    passed = bicep("main.bicep")["modules"]["functionApp"]["config"]["params"]
    assert "maximumInstanceCount" not in passed, "main.bicep overrides it: read it from there"
    sku = _defaults("core/postgres.bicep")["skuName"]
    assert "skuName" not in body(bicep("main.bicep")["modules"]["postgres"])["params"]
    assert sku in POSTGRES_MAX_CONNECTIONS, f"{sku}: record its documented max_connections"
    processes, pool = _template_pool()
    opened, allowed = connection_budget(sku, instances, processes * pool)
    assert (instances, processes, pool, sku) == (40, 1, 8, "Standard_B2s")
    assert opened <= allowed, f"{instances} instances x {processes * pool} = {opened} > {allowed}"
    # The pool the template sets is what the app builds: the settings parse to that policy.
    template = template_app_settings()
    settings = Settings(
        db_pool_size=template["DB_POOL_SIZE"], db_max_overflow=template["DB_MAX_OVERFLOW"]
    )
    assert settings.db_pool_size + settings.db_max_overflow == pool


@pytest.mark.parametrize(
    "sku, instances, per_instance",
    [
        ("Standard_B1ms", 40, 8),  # the earlier server: 35 user connections
        ("Standard_B1ms", 40, 1),  # even one connection per instance does not fit B1ms
        ("Standard_B2s", 40, 15),  # SQLAlchemy's own default pool (5 + 10)
        ("Standard_B2s", 100, 8),  # scaling out further without a bigger server
    ],
)
def test_the_budget_check_refuses_a_change_of_one_side_alone(sku, instances, per_instance):
    opened, allowed = connection_budget(sku, instances, per_instance)
    assert opened > allowed


# --- PostgreSQL server parameters ---------------------------------------------------------------

# PostgreSQL 16 on Azure Database for PostgreSQL flexible server, Microsoft Learn's server
# parameter table ("Reporting and Logging / What to Log"), in the two revisions read on 2026-12-07:
# "2024-06-18" is MicrosoftDocs/azure-docs articles/postgresql/flexible-server/includes/
# server-parameters-table-16-reporting-and-logging---what-to-log.md (ms.date 06/18/2024), and
# "2025-10-27" is MicrosoftDocs/azure-databases-docs articles/postgresql/flexible-server/includes/
# param-16-reporting-logging-what-log.md (ms.date 10/27/2025). They disagree on log_connections
# and log_disconnections (read-only, only `on`; then dynamic, `on,off`): a parameter counts as
# writable only when every revision says so, since a write to a read-only one fails the
# deployment. Each row: default, then per revision (parameter type, allowed values).
PG16_SERVER_PARAMETERS: dict[str, dict[str, Any]] = {
    "log_connections": {
        "default": "on",
        "2024-06-18": ("read-only", ("on",)),
        "2025-10-27": ("dynamic", ("on", "off")),
    },
    "log_disconnections": {
        "default": "on",
        "2024-06-18": ("read-only", ("on",)),
        "2025-10-27": ("dynamic", ("on", "off")),
    },
    "log_checkpoints": {
        "default": "on",
        "2024-06-18": ("dynamic", ("on", "off")),
        "2025-10-27": ("dynamic", ("on", "off")),
    },
    "log_lock_waits": {
        "default": "off",
        "2024-06-18": ("dynamic", ("on", "off")),
        "2025-10-27": ("dynamic", ("on", "off")),
    },
    "log_replication_commands": {
        "default": "on",
        "2024-06-18": ("read-only", ("on",)),
        "2025-10-27": ("read-only", ("on",)),
    },
    "log_timezone": {
        "default": "UTC",
        "2024-06-18": ("read-only", ("UTC",)),
        "2025-10-27": ("read-only", ("UTC",)),
    },
}
PG16_TABLE_REVISIONS = ("2024-06-18", "2025-10-27")


def server_parameter_problems(name: str, value: str) -> list[str]:
    """Why writing `name` = `value` on a PostgreSQL 16 flexible server is wrong (empty: fine)."""
    facts = PG16_SERVER_PARAMETERS.get(name)
    if facts is None:
        return [f"{name}: not in the recorded table; check it and record it above"]
    problems = []
    for revision in PG16_TABLE_REVISIONS:
        kind, allowed = facts[revision]
        if kind == "read-only":
            problems.append(f"{name}: read-only in the {revision} table")
        elif value not in allowed:
            problems.append(f"{name}: {value!r} is not one of {allowed} ({revision} table)")
    if value == facts["default"]:
        problems.append(f"{name}: {value!r} is the default; writing it only adds a failure point")
    return problems


def template_server_parameters() -> dict[str, str]:
    """Every PostgreSQL server parameter any module of the template writes, with its value."""
    written = {}
    for path in BICEP_FILES:
        relative = path.relative_to(INFRA).as_posix()
        for resource in resources_of(
            relative, "Microsoft.DBforPostgreSQL/flexibleServers/configurations"
        ).values():
            config = body(resource)
            written[config["name"]] = config["properties"]["value"]
    return written


def test_the_template_writes_no_read_only_or_redundant_server_parameter():
    server = declared("core/postgres.bicep", "Microsoft.DBforPostgreSQL/flexibleServers", "server")
    assert server["properties"]["version"] == "16", "the recorded table is PostgreSQL 16's"
    written = template_server_parameters()
    problems = [
        p for name, value in written.items() for p in server_parameter_problems(name, value)
    ]
    assert not problems, problems
    # Connection logging needs no write: it is on by default, and the server's logs (with the
    # connection lines) still reach Log Analytics.
    assert "log_connections" not in written
    assert PG16_SERVER_PARAMETERS["log_connections"]["default"] == "on"
    (diagnostics,) = resources_of(
        "core/postgres.bicep", "Microsoft.Insights/diagnosticSettings"
    ).values()
    assert body(diagnostics)["properties"]["logs"] == [
        {"category": "PostgreSQLLogs", "enabled": True}
    ]


@pytest.mark.parametrize(
    "name, value, complaint",
    [
        ("log_connections", "on", "read-only in the 2024-06-18 table"),  # the template's old write
        ("log_disconnections", "off", "read-only in the 2024-06-18 table"),
        ("log_timezone", "UTC", "read-only in the 2025-10-27 table"),
        ("log_lock_waits", "yes", "'yes' is not one of"),
        ("log_checkpoints", "on", "is the default"),
        ("shared_buffers", "1GB", "not in the recorded table"),
    ],
)
def test_the_parameter_check_refuses_what_azure_would(name, value, complaint):
    assert any(complaint in p for p in server_parameter_problems(name, value))


def test_the_parameter_check_accepts_a_writable_change():
    assert server_parameter_problems("log_lock_waits", "on") == []


# --- the model ---------------------------------------------------------------------------------

# Microsoft Learn, "Azure OpenAI model deprecations and retirements" (the retirement table, its
# include "Model Retirement Table", ms.date 12/16/2025) and "Global Standard model availability",
# checked on MODELS_CHECKED. Deprecated = no new customers: a new deployment of that version is
# refused from that date on. Where the table gives a date per deployment type, `retires` is a
# mapping: gpt-4o-mini 2024-07-18 retires "Standard deployment type ... 2026-03-31 ... For other
# deployment types, including ALL Provisioned, Global Standard, and Data Zone Standard, ...
# 2026-10-01".
MODELS_CHECKED = "2026-12-07"
MODEL_LIFECYCLE: dict[tuple[str, str], dict[str, Any]] = {
    ("gpt-4o-mini", "2024-07-18"): {
        "deprecated": "2025-07-18",
        "retires": {
            "Standard": "2026-03-31",
            "GlobalStandard": "2026-10-01",
            "DataZoneStandard": "2026-10-01",
            "ProvisionedManaged": "2026-10-01",
        },
    },
    ("gpt-4.1-mini", "2025-04-14"): {"deprecated": "2026-04-14", "retires": "2026-10-14"},
    ("gpt-5-mini", "2025-08-07"): {"deprecated": "2026-08-07", "retires": "2027-02-06"},
    # Generally available; Global Standard in every listed region. GA versions are offered to
    # new customers for at least 12 months from release.
    ("gpt-5.4-mini", "2026-03-17"): {"deprecated": "2027-03-17", "retires": "2027-09-17"},
}


def _defaults(relative: str) -> dict[str, Any]:
    return {name: p["default"] for name, p in bicep(relative)["parameters"].items()}


def test_the_model_and_its_version_are_parameters_fed_from_the_azd_environment():
    deployment = declared(
        "core/openai.bicep", "Microsoft.CognitiveServices/accounts/deployments", "deployment"
    )
    assert deployment["properties"]["model"] == {
        "format": "OpenAI",
        "name": "modelName",
        "version": "modelVersion",
    }
    assert deployment["sku"] == {"name": "deploymentSku", "capacity": "capacity"}
    assert deployment["properties"]["versionUpgradeOption"] == "OnceCurrentVersionExpired"
    passed = body(bicep("main.bicep")["modules"]["openAi"])["params"]
    assert {k: passed[k] for k in ("modelName", "modelVersion", "deploymentSku")} == {
        "modelName": "openAiModelName",
        "modelVersion": "openAiModelVersion",
        "deploymentSku": "openAiDeploymentSku",
    }
    given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    main = _defaults("main.bicep")
    for param, variable in (
        ("openAiModelName", "AZURE_OPENAI_MODEL"),
        ("openAiModelVersion", "AZURE_OPENAI_MODEL_VERSION"),
        ("openAiDeploymentSku", "AZURE_OPENAI_DEPLOYMENT_SKU"),
        ("openAiDeploymentName", "AZURE_OPENAI_DEPLOYMENT"),
    ):
        # azd's default for the variable is the Bicep default: one value, wherever it is read.
        assert given[param]["value"] == f"${{{variable}={main[param]}}}", param


def test_the_default_model_was_deployable_when_checked_and_everything_agrees():
    main, module = _defaults("main.bicep"), _defaults("core/openai.bicep")
    model = (main["openAiModelName"], main["openAiModelVersion"])
    assert model == (module["modelName"], module["modelVersion"])
    assert model in MODEL_LIFECYCLE, f"{model}: check its lifecycle and record it above"
    assert MODEL_LIFECYCLE[model]["deprecated"] > MODELS_CHECKED
    assert main["openAiDeploymentSku"] == module["deploymentSku"] == "GlobalStandard"
    # The app calls the deployment the template creates, under the same name by default.
    assert Settings.model_fields["azure_openai_deployment"].default == main["openAiDeploymentName"]
    assert main["openAiDeploymentName"] == main["openAiModelName"]
    # The record of when the model was checked is where an operator reads it.
    for text in (INFRA / "core" / "openai.bicep", ROOT / "docs" / "deploying.md"):
        assert MODELS_CHECKED in text.read_text(), text


def retirement(model: tuple[str, str], sku: str) -> str:
    """When `model` retires for deployments of type `sku`."""
    retires = MODEL_LIFECYCLE[model]["retires"]
    return retires if isinstance(retires, str) else retires[sku]


def test_the_retirement_dates_are_per_deployment_type_where_the_table_says_so():
    earlier = ("gpt-4o-mini", "2024-07-18")
    assert retirement(earlier, "Standard") == "2026-03-31"
    assert retirement(earlier, "GlobalStandard") == "2026-10-01"
    model = (
        _defaults("main.bicep")["openAiModelName"],
        _defaults("main.bicep")["openAiModelVersion"],
    )
    sku = _defaults("main.bicep")["openAiDeploymentSku"]
    assert retirement(model, sku) > MODELS_CHECKED
    # The deploy page's model table says the same, for the deployment type the template uses.
    row = next(
        line
        for line in (ROOT / "docs" / "deploying.md").read_text().splitlines()
        if "`gpt-4o-mini`" in line
    )
    assert "Standard deployment type on 2026-03-31" in row and "Global Standard" in row
    assert "2026-10-01" in row


# --- checkov -----------------------------------------------------------------------------------


def test_checkov_finds_nothing_beyond_the_justified_skips():
    if not CHECKOV.exists():
        skip_missing("checkov", f"not installed at {CHECKOV} (`make infra-tools` installs it)")
    result = subprocess.run(
        [
            str(CHECKOV),
            "--config-file",
            str(INFRA / ".checkov.yaml"),
            "-d",
            str(INFRA),
            "--skip-download",
            "--output",
            "json",
            "--quiet",
            "--compact",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"},
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [
        (c["check_id"], c["file_path"], c["resource"]) for c in report["results"]["failed_checks"]
    ]
    assert not failed, failed
    assert summary["parsing_errors"] == 0
    assert summary["passed"] >= 20 and summary["resource_count"] >= 50
    assert result.returncode == 0, result.stderr[-2000:]
