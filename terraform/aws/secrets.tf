# Secrets live in Secrets Manager only. Terraform generates them with
# ephemeral random_password values and writes them through write-only
# arguments: they never appear in a .tf file, a plan or the state. PostgreSQL
# hosts read them with their instance role; ECS injects the database URL into
# the bridge task at start.
#
# A standby region creates no secrets: the primary's are replicated into it
# (secrets_replica_regions) and passed in as shared_secret_arns.

ephemeral "random_password" "kek" {
  length  = 48
  special = false
}

# Alphanumeric only: the password is embedded in a connection URL and in SQL
# literals on the hosts.
ephemeral "random_password" "db" {
  length  = 40
  special = false
}

ephemeral "random_password" "replication" {
  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "kek" {
  count       = local.is_primary ? 1 : 0
  name        = "${var.name}/agentidp/key-encryption-key"
  description = "agentidp.key_encryption_key: seals the signing keys' private halves (AES-256-GCM). Losing it makes every signing key unusable."

  dynamic "replica" {
    for_each = toset(var.secrets_replica_regions)
    content {
      region = replica.value
    }
  }

  tags = local.tags
}

resource "aws_secretsmanager_secret_version" "kek" {
  count     = local.is_primary ? 1 : 0
  secret_id = aws_secretsmanager_secret.kek[0].id
  # Written once and never rotated by Terraform (see variable secret_version).
  secret_string_wo         = ephemeral.random_password.kek.result
  secret_string_wo_version = 1
}

resource "aws_secretsmanager_secret" "db" {
  count       = local.is_primary ? 1 : 0
  name        = "${var.name}/agentidp/database"
  description = "JSON: password (role agentidp_app), replication_password (role agentidp_replicator), url (the bridge's AGENTIDP_DATABASE_URL)."

  dynamic "replica" {
    for_each = toset(var.secrets_replica_regions)
    content {
      region = replica.value
    }
  }

  tags = local.tags
}

resource "aws_secretsmanager_secret_version" "db" {
  count     = local.is_primary ? 1 : 0
  secret_id = aws_secretsmanager_secret.db[0].id
  secret_string_wo = jsonencode({
    password             = ephemeral.random_password.db.result
    replication_password = ephemeral.random_password.replication.result
    url                  = "postgresql://agentidp_app:${ephemeral.random_password.db.result}@${local.db_host}:5432/agentidp?sslmode=require&connect_timeout=5"
  })
  secret_string_wo_version = var.secret_version
}
