// Log Analytics workspace and workspace-based Application Insights. Local (key) ingestion is
// off: the Functions host sends telemetry as the runtime identity (Monitoring Metrics Publisher,
// granted in rbac.bicep; APPLICATIONINSIGHTS_AUTHENTICATION_STRING in function.bicep).
param location string
param tags object
param logAnalyticsName string
param applicationInsightsName string

@description('Days of logs kept; 30 is the free retention.')
param retentionInDays int = 30

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
    features: { disableLocalAuth: true }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
    IngestionMode: 'LogAnalytics'
  }
}

output logAnalyticsWorkspaceId string = logAnalytics.id
output applicationInsightsName string = applicationInsights.name
