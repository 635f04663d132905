// Azure OpenAI with the gpt-4o-mini deployment the extractor calls. Keys are disabled; the app
// authenticates as its managed identity (Cognitive Services OpenAI User, rbac.bicep), which
// needs the custom subdomain.
param location string
param tags object
param name string
param deploymentName string
param logAnalyticsWorkspaceId string

@description('Tokens-per-minute capacity in thousands; 10 is plenty for extraction.')
param capacity int = 10

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  identity: { type: 'SystemAssigned' }
  sku: { name: 'S0' }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource deployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: deploymentName
  sku: { name: 'GlobalStandard', capacity: capacity }
  properties: {
    model: { format: 'OpenAI', name: 'gpt-4o-mini', version: '2024-07-18' }
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: account
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      { category: 'Audit', enabled: true }
      { category: 'RequestResponse', enabled: true }
    ]
  }
}

output name string = account.name
output endpoint string = account.properties.endpoint
