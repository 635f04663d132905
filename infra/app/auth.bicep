// App Service Authentication (Easy Auth) in front of every route: Microsoft Entra ID sign-in with
// the app registration from entra-app.bicep. No client secret: the auth identity's federated
// credential stands in for it (clientSecretSettingName OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID).
// Easy Auth strips client-sent X-MS-CLIENT-PRINCIPAL* headers and injects the signed-in user's,
// with the app roles (planner, data-admin) as `roles` claims; the app reads them from there.
// A request without a valid session gets 401 (Return401), not a 302 to the login page: an API
// call whose session expired must fail in a way its client can handle. The console then sends
// the browser to /.auth/login/aad itself, and people start at the sign-in URL main.bicep outputs
// (SERVICE_CONSOLE_URL).
param functionAppName string
param clientId string

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      redirectToProvider: 'azureactivedirectory'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: clientId
          clientSecretSettingName: 'OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID'
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [clientId, 'api://${clientId}']
        }
      }
    }
    login: {
      tokenStore: { enabled: true }
    }
    httpSettings: {
      requireHttps: true
      forwardProxy: { convention: 'NoProxy' }
    }
  }
}
