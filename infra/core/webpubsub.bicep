// Azure Web PubSub for live progress, with the app's hub. Access keys are disabled: the app
// reaches the REST API as its managed identity (Web PubSub Service Owner, rbac.bicep) and the
// browsers' client tokens come from the service's generate-token call.
param location string
param tags object
param name string
param sku string
param hubName string
param logAnalyticsWorkspaceId string

resource service 'Microsoft.SignalRService/webPubSub@2024-03-01' = {
  name: name
  location: location
  tags: tags
  kind: 'WebPubSub'
  identity: { type: 'SystemAssigned' }
  sku: { name: sku, capacity: 1 }
  properties: {
    disableLocalAuth: true
    disableAadAuth: false
    publicNetworkAccess: 'Enabled'
    tls: { clientCertEnabled: false }
  }
}

resource hub 'Microsoft.SignalRService/webPubSub/hubs@2024-03-01' = {
  parent: service
  name: hubName
  properties: {
    anonymousConnectPolicy: 'Deny'
    eventHandlers: []
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: service
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { category: 'ConnectivityLogs', enabled: true }
      { category: 'HttpRequestLogs', enabled: true }
    ]
  }
}

output name string = service.name
output endpoint string = 'https://${service.properties.hostName}'
