// Azure OpenAI with the model deployment the extractor calls. Keys are disabled; the app
// authenticates as its managed identity (Cognitive Services OpenAI User, rbac.bicep), which
// needs the custom subdomain.
//
// Model versions retire, and a new deployment of a deprecated version is refused, so model,
// version, deployment type and capacity are parameters (main.bicep passes them from the azd
// environment). Checked on 2026-12-07 against Microsoft Learn, "Azure OpenAI model deprecations
// and retirements" and "Global Standard model availability":
//   gpt-4o-mini 2024-07-18   retired: Standard 2026-03-31, Global Standard (and Data Zone,
//                            Provisioned) 2026-10-01
//   gpt-4.1-mini 2025-04-14  no new customers since 2026-04-14, retired 2026-10-14
//   gpt-5-mini 2025-08-07    no new customers since 2026-08-07, retires 2027-02-06
//   gpt-5.4-mini 2026-03-17  generally available; Global Standard in every listed region
//                            (eastus2, swedencentral among them); the default below
// The extractor needs only chat completions with structured outputs (every model above has them).
param location string
param tags object
param name string
param deploymentName string
param logAnalyticsWorkspaceId string

@description('Model the deployment serves (any chat model with structured outputs).')
param modelName string = 'gpt-5.4-mini'

@description('Model version; must be generally available and not deprecated where you deploy.')
param modelVersion string = '2026-03-17'

@description('Deployment type: GlobalStandard is offered for the default model in every listed region.')
@allowed(['GlobalStandard', 'DataZoneStandard', 'Standard'])
param deploymentSku string = 'GlobalStandard'

@description('Capacity in units of 1,000 tokens a minute; 50 leaves room for a reasoning model\'s thinking tokens.')
@minValue(1)
param capacity int = 50

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
  sku: { name: deploymentSku, capacity: capacity }
  properties: {
    model: { format: 'OpenAI', name: modelName, version: modelVersion }
    // The pinned version serves until it expires, then Azure moves the deployment to the
    // replacement rather than letting it fail; choosing a newer one is a parameter change.
    versionUpgradeOption: 'OnceCurrentVersionExpired'
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
