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
    "AZURE_OPENAI_API_VERSION": "the default supports structured outputs",
    "OPENAI_API_KEY": "unused while AZURE_OPENAI_ENDPOINT is set",
    "OPENAI_BASE_URL": "unused while AZURE_OPENAI_ENDPOINT is set",
    "OPENAI_MODEL": "unused while AZURE_OPENAI_ENDPOINT is set",
    "LLM_TIMEOUT_SECONDS": "tuning; the default bounds a request at 20 s",
    "LLM_MAX_RETRIES": "tuning",
    "WebPubSubConnectionString": "ignored while WebPubSubEndpoint is set (keyless)",
    "NEGOTIATE_TOKEN_MINUTES": "tuning",
    "DEMAND_AGENT_TIMEOUT_SECONDS": "tuning",
    "INVENTORY_AGENT_TIMEOUT_SECONDS": "tuning",
    "PRICING_AGENT_TIMEOUT_SECONDS": "tuning",
    "AGENT_MAX_ATTEMPTS": "tuning",
    "AGENT_RETRY_INTERVAL_MS": "tuning",
    "HEARTBEAT_WINDOW_MINUTES": "tuning; heartbeats only while someone may listen",
    "PUBLIC_BASE_URL": "unset means relative URLs, resolved against the host the client called",
    "HTTP_DATABASE_WAIT_MS": "tuning; the default answers a locked database within 2 s",
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
    "openAiDeploymentName": "gpt-4o-mini",
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
    deployment = declared(
        "core/openai.bicep", "Microsoft.CognitiveServices/accounts/deployments", "deployment"
    )
    assert deployment["properties"]["model"]["name"] == "gpt-4o-mini"
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
    aad = props["identityProviders"]["azureActiveDirectory"]
    assert aad["enabled"] is True
    secret_setting = aad["registration"]["clientSecretSettingName"]
    assert secret_setting == "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID"
    assert secret_setting in template_app_settings()
    assert props["httpSettings"]["requireHttps"] is True


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
