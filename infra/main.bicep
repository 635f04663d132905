// Season planning on Azure: everything `azd up` provisions, keyless end to end.
//
// One resource group holding: a Flex Consumption Function App (Linux, Python 3.11) running as a
// user-assigned managed identity; its Storage account (host state, Durable task hub, deployment
// package) reached through that identity; Application Insights on a Log Analytics workspace;
// Azure Web PubSub with the app's hub; Azure OpenAI with a model deployment
// (gpt-5.4-mini 2026-03-17 unless the azd environment names another, see core/openai.bicep); Azure Database
// for PostgreSQL flexible server with Microsoft Entra authentication only; and App Service
// Authentication with a Microsoft Entra app registration carrying the planner / data-admin roles.
// No key, password or connection string secret reaches an app setting.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names and tags every resource.')
param environmentName string

@minLength(1)
@description('Region for every resource (one where Flex Consumption and the model\'s deployment type are offered).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the person running azd: gets the planner and data-admin app roles.')
param principalId string = ''

@description('Kind of principal running azd; app roles are for users only.')
@allowed(['User', 'ServicePrincipal', 'Group'])
param principalType string = 'User'

@description('Web PubSub tier: Free_F1 (20 connections, 20k messages a day) or Standard_S1.')
@allowed(['Free_F1', 'Standard_S1'])
param webPubSubSku string = 'Free_F1'

@description('Use this Web PubSub (https://<name>.webpubsub.azure.com) instead of creating one.')
param existingWebPubSubEndpoint string = ''

@description('Use this Azure OpenAI endpoint instead of creating one.')
param existingOpenAiEndpoint string = ''

@description('Model deployment name the app calls (created here unless existingOpenAiEndpoint).')
param openAiDeploymentName string = 'gpt-5.4-mini'

// The model and its version: checked against Microsoft's retirement table on 2026-12-07 (see
// core/openai.bicep); a version past its deprecation date refuses new deployments.
@description('Model the deployment serves (any chat model with structured outputs).')
param openAiModelName string = 'gpt-5.4-mini'

@description('Model version, generally available and not deprecated in the chosen region.')
param openAiModelVersion string = '2026-03-17'

@description('Deployment type the region offers for that model.')
@allowed(['GlobalStandard', 'DataZoneStandard', 'Standard'])
param openAiDeploymentSku string = 'GlobalStandard'

@description('Use this PostgreSQL flexible server (<name>.postgres.database.azure.com) instead of creating one.')
param existingPostgresHost string = ''

@description('Role name of the app identity on the existing server (default: the identity name).')
param existingPostgresUser string = ''

@description('Database the app uses.')
param postgresDatabaseName string = 'planning'

@description('Web PubSub hub name (the app setting WebPubSubHub).')
param webPubSubHub string = 'season_planning'

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = 'func-planner-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'
var createWebPubSub = empty(existingWebPubSubEndpoint)
var createOpenAi = empty(existingOpenAiEndpoint)
var createPostgres = empty(existingPostgresHost)

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identities 'core/identity.bicep' = {
  name: 'identities'
  scope: rg
  params: {
    location: location
    tags: tags
    runtimeIdentityName: 'id-planner-${resourceToken}'
    authIdentityName: 'id-planner-auth-${resourceToken}'
  }
}

module monitoring 'core/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
  }
}

module storage 'core/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'st${resourceToken}'
    deploymentContainerName: deploymentContainerName
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module webPubSub 'core/webpubsub.bicep' = if (createWebPubSub) {
  name: 'webpubsub'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'wps-${resourceToken}'
    sku: webPubSubSku
    hubName: webPubSubHub
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module openAi 'core/openai.bicep' = if (createOpenAi) {
  name: 'openai'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'oai-${resourceToken}'
    deploymentName: openAiDeploymentName
    modelName: openAiModelName
    modelVersion: openAiModelVersion
    deploymentSku: openAiDeploymentSku
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module postgres 'core/postgres.bicep' = if (createPostgres) {
  name: 'postgres'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'psql-${resourceToken}'
    databaseName: postgresDatabaseName
    adminPrincipalId: identities.outputs.runtimePrincipalId
    adminPrincipalName: identities.outputs.runtimeName
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module rbac 'core/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identities.outputs.runtimePrincipalId
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    webPubSubName: createWebPubSub ? webPubSub.outputs.name : ''
    openAiName: createOpenAi ? openAi.outputs.name : ''
  }
}

var webPubSubEndpoint = createWebPubSub ? webPubSub.outputs.endpoint : existingWebPubSubEndpoint
var openAiEndpoint = createOpenAi ? openAi.outputs.endpoint : existingOpenAiEndpoint
var postgresHost = createPostgres ? postgres.outputs.host : existingPostgresHost
var postgresUser = !empty(existingPostgresUser) ? existingPostgresUser : identities.outputs.runtimeName

module entraApp 'app/entra-app.bicep' = {
  name: 'entra-app'
  scope: rg
  params: {
    uniqueName: 'season-planner-${resourceToken}'
    displayName: 'Season Planner (${environmentName})'
    // The host name Azure gave the app (Flex apps may get a unique one, not <name>.azurewebsites.net).
    redirectUri: '${functionApp.outputs.uri}/.auth/login/aad/callback'
    federatedIdentityPrincipalId: identities.outputs.authPrincipalId
    signedInUserId: principalType == 'User' ? principalId : ''
  }
}

module functionApp 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    location: location
    tags: tags
    name: functionAppName
    planName: 'plan-${resourceToken}'
    runtimeIdentityId: identities.outputs.runtimeId
    runtimeIdentityClientId: identities.outputs.runtimeClientId
    authIdentityId: identities.outputs.authId
    authIdentityClientId: identities.outputs.authClientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    appSettings: {
      WebPubSubEndpoint: webPubSubEndpoint
      WebPubSubHub: webPubSubHub
      AZURE_OPENAI_ENDPOINT: openAiEndpoint
      AZURE_OPENAI_DEPLOYMENT: openAiDeploymentName
      EXTRACTOR: 'auto'
      // The pool of each instance: 40 instances x (4 + 4) = 320 connections at most, within the
      // 414 user connections of the B2s server (core/postgres.bicep; tests/test_infra.py).
      DB_POOL_SIZE: '4'
      DB_MAX_OVERFLOW: '4'
      DATABASE_URL: 'postgresql+psycopg://${postgresUser}@${postgresHost}:5432/${postgresDatabaseName}?sslmode=require'
    }
  }
  dependsOn: [rbac]
}

module auth 'app/auth.bicep' = {
  name: 'auth'
  scope: rg
  params: {
    functionAppName: functionApp.outputs.name
    clientId: entraApp.outputs.clientId
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = functionApp.outputs.uri
// Where a planner starts: Easy Auth answers 401 rather than redirecting, so the console's address
// is reached through the sign-in endpoint, which comes back to it.
output SERVICE_CONSOLE_URL string = '${functionApp.outputs.uri}/.auth/login/aad?post_login_redirect_uri=/api/console'
output ENTRA_APP_CLIENT_ID string = entraApp.outputs.clientId
output WEBPUBSUB_ENDPOINT string = webPubSubEndpoint
output AZURE_OPENAI_ENDPOINT string = openAiEndpoint
output POSTGRES_HOST string = postgresHost
output POSTGRES_USER string = postgresUser
output POSTGRES_DATABASE string = postgresDatabaseName
output APP_IDENTITY_PRINCIPAL_ID string = identities.outputs.runtimePrincipalId
