// The two user-assigned managed identities of the Function App.
// runtime: what the app's code and the Functions host run as (Storage, Application Insights,
//          Web PubSub, Azure OpenAI, PostgreSQL); its client id is the AZURE_CLIENT_ID setting.
// auth:    trusted only by the Entra app registration (a federated identity credential), so
//          App Service Authentication signs users in without a client secret. Kept apart so the
//          runtime identity cannot act as the app registration, and vice versa.
param location string
param tags object
param runtimeIdentityName string
param authIdentityName string

resource runtime 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: runtimeIdentityName
  location: location
  tags: tags
}

resource auth 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: authIdentityName
  location: location
  tags: tags
}

output runtimeId string = runtime.id
output runtimeName string = runtime.name
output runtimeClientId string = runtime.properties.clientId
output runtimePrincipalId string = runtime.properties.principalId
output authId string = auth.id
output authClientId string = auth.properties.clientId
output authPrincipalId string = auth.properties.principalId
