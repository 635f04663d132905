// The Flex Consumption Function App (Linux, Python 3.11) and its hosting plan.
// The app runs as the runtime identity: AzureWebJobsStorage (host, Durable task hub) and the
// deployment package container are reached through it, telemetry is sent with it, and the app's
// own code finds it through AZURE_CLIENT_ID (DefaultAzureCredential). The auth identity is the
// client credential of App Service Authentication (OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID).
// HTTPS only, TLS 1.2+, FTP and basic (publishing profile) credentials off.
param location string
param tags object
param name string
param planName string
param runtimeIdentityId string
param runtimeIdentityClientId string
param authIdentityId string
param authIdentityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param logAnalyticsWorkspaceId string

@description('App settings of the app itself (shared/settings.py): endpoints and names, never secrets.')
param appSettings object

@description('Instance memory: 2048 MB fits pandas + statsforecast with headroom.')
param instanceMemoryMB int = 2048

@description('Scale-out ceiling; bounds the bill and the PostgreSQL connection count.')
param maximumInstanceCount int = 40

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// The platform's settings (host storage, telemetry, identities) after the app's own.
var allSettings = union(appSettings, {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: runtimeIdentityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${runtimeIdentityClientId};Authorization=AAD'
  AZURE_CLIENT_ID: runtimeIdentityClientId
  // DefaultAzureCredential tries only the managed identity here (no developer-tool fallbacks).
  AZURE_TOKEN_CREDENTIALS: 'ManagedIdentityCredential'
  OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID: authIdentityClientId
  WEBSITE_AUTH_AAD_ALLOWED_TENANTS: tenant().tenantId
})

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${runtimeIdentityId}': {}
      '${authIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [for setting in items(allSettings): { name: setting.key, value: setting.value }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: runtimeIdentityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: { name: 'python', version: '3.11' }
    }
  }
}

resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: { allow: false }
}

resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: { allow: false }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: site
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [{ category: 'FunctionAppLogs', enabled: true }]
  }
}

output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
