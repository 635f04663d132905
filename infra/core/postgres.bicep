// Azure Database for PostgreSQL flexible server with Microsoft Entra authentication only
// (password authentication disabled, so there is no admin password anywhere). The app's runtime
// identity is the Entra administrator; it connects with an access token as its password.
// Flex Consumption apps without a virtual network have no fixed outbound addresses, hence the
// "Azure services" firewall rule; TLS is required by the server's default parameters.
// The template writes no server parameter: connection and disconnection logging are on by default
// on PostgreSQL 16, and Microsoft's parameter table has listed both as read-only (a write of a
// read-only parameter fails the deployment). tests/test_infra.py checks any parameter written
// here against that table.
param location string
param tags object
param name string
param databaseName string
param adminPrincipalId string
param adminPrincipalName string
param logAnalyticsWorkspaceId string

// The connection budget decides the size: every Function App instance holds its own pool, so
// maximumInstanceCount (app/function.bicep) x the pool per instance (DB_POOL_SIZE +
// DB_MAX_OVERFLOW, main.bicep) must fit the SKU's user connections: max_connections less the 15
// Azure reserves. B1ms allows 35, below even one connection for each of 40 instances; B2s allows
// 414 (Microsoft Learn, "Limits in Azure Database for PostgreSQL flexible server"). Burstable
// has no built-in PgBouncer (General Purpose has; see the README). tests/test_infra.py checks
// the product against the documented limit.
@description('Burstable B2s: 2 vCores, 4 GiB, 429 max_connections (414 for users).')
param skuName string = 'Standard_B2s'

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: skuName, tier: 'Burstable' }
  properties: {
    version: '16'
    storage: { storageSizeGB: 32, autoGrow: 'Enabled' }
    backup: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled' }
    highAvailability: { mode: 'Disabled' }
    network: { publicNetworkAccess: 'Enabled' }
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Disabled'
      tenantId: tenant().tenantId
    }
  }
}

resource allowAzureServices 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = {
  parent: server
  name: 'AllowAllAzureServicesAndResourcesWithinAzureIps'
  properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }
}

resource administrator 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = {
  parent: server
  name: adminPrincipalId
  properties: {
    principalName: adminPrincipalName
    principalType: 'ServicePrincipal'
    tenantId: tenant().tenantId
  }
  dependsOn: [allowAzureServices]
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: server
  name: databaseName
  properties: { charset: 'UTF8', collation: 'en_US.utf8' }
  dependsOn: [administrator]
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: server
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [{ category: 'PostgreSQLLogs', enabled: true }]
  }
}

output name string = server.name
output host string = server.properties.fullyQualifiedDomainName
