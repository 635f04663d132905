// The Microsoft Entra app registration App Service Authentication signs users in with,
// declared through the Microsoft Graph Bicep extension (bicepconfig.json), so `azd up` needs no
// separate script. It carries the app roles the app checks:
//   planner     run plans, read and stream their own
//   data-admin  import data (POST /api/data/import)
// Only users assigned a role may sign in (appRoleAssignmentRequired); the person running azd
// gets both. Its client credential is a federated identity credential trusting the auth
// managed identity: no client secret exists.
// Needs permission to create app registrations in the tenant (default for members, or the
// Application Developer role).
extension microsoftGraphV1

param uniqueName string
param displayName string
param redirectUri string
param federatedIdentityPrincipalId string

@description('Object id of the user to grant both roles to; empty grants none.')
param signedInUserId string = ''

var plannerRoleId = guid(uniqueName, 'planner')
var dataAdminRoleId = guid(uniqueName, 'data-admin')
var microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'
var userReadScopeId = 'e1fe6dd8-ba31-4d61-89e7-88639da4683d'

resource application 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  // The deployer owns it, so the same person can assign roles and run `azd up` again.
  owners: { relationshipSemantics: 'append', relationships: [deployer().objectId] }
  web: {
    redirectUris: [redirectUri]
    implicitGrantSettings: { enableIdTokenIssuance: true, enableAccessTokenIssuance: false }
  }
  requiredResourceAccess: [
    {
      resourceAppId: microsoftGraphAppId
      resourceAccess: [{ id: userReadScopeId, type: 'Scope' }]
    }
  ]
  appRoles: [
    {
      id: plannerRoleId
      value: 'planner'
      displayName: 'Planner'
      description: 'Run season plans, read and stream their own.'
      allowedMemberTypes: ['User']
      isEnabled: true
    }
    {
      id: dataAdminRoleId
      value: 'data-admin'
      displayName: 'Data administrator'
      description: 'Import stores, categories and sales history.'
      allowedMemberTypes: ['User']
      isEnabled: true
    }
  ]

  resource easyAuthCredential 'federatedIdentityCredentials@v1.0' = {
    name: '${uniqueName}/easy-auth'
    audiences: ['api://AzureADTokenExchange']
    issuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
    subject: federatedIdentityPrincipalId
    description: 'App Service Authentication of the Function App, as its auth managed identity'
  }
}

resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: application.appId
  appRoleAssignmentRequired: true
  owners: { relationshipSemantics: 'append', relationships: [deployer().objectId] }
}

resource plannerForDeployer 'Microsoft.Graph/appRoleAssignedTo@v1.0' = if (!empty(signedInUserId)) {
  appRoleId: plannerRoleId
  principalId: signedInUserId
  resourceId: servicePrincipal.id
}

resource dataAdminForDeployer 'Microsoft.Graph/appRoleAssignedTo@v1.0' = if (!empty(signedInUserId)) {
  appRoleId: dataAdminRoleId
  principalId: signedInUserId
  resourceId: servicePrincipal.id
}

output clientId string = application.appId
output plannerRoleId string = plannerRoleId
output dataAdminRoleId string = dataAdminRoleId
