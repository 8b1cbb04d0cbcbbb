# Secrets live in Secret Manager only. Terraform generates them with ephemeral
# random_password values and writes them through write-only arguments: they
# never appear in a .tf file, a plan or the state. PostgreSQL hosts read them
# with their service account; Cloud Run injects the database URL at start.
# Secret Manager is project-wide: a standby region reuses the primary's
# secrets (shared_secret_ids).

ephemeral "random_password" "kek" {
  length  = 48
  special = false
}

# Alphanumeric only: the passwords are embedded in a URL and in SQL literals.
ephemeral "random_password" "db" {
  length  = 40
  special = false
}

ephemeral "random_password" "replication" {
  length  = 40
  special = false
}

resource "google_secret_manager_secret" "kek" {
  count     = local.is_primary ? 1 : 0
  project   = var.project_id
  secret_id = "${var.name}-agentidp-kek"
  labels    = local.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "kek" {
  count  = local.is_primary ? 1 : 0
  secret = google_secret_manager_secret.kek[0].id
  # Written once and never rotated by Terraform (see variable secret_version).
  secret_data_wo         = ephemeral.random_password.kek.result
  secret_data_wo_version = 1
}

resource "google_secret_manager_secret" "db_password" {
  count     = local.is_primary ? 1 : 0
  project   = var.project_id
  secret_id = "${var.name}-agentidp-db-password"
  labels    = local.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "db_password" {
  count                  = local.is_primary ? 1 : 0
  secret                 = google_secret_manager_secret.db_password[0].id
  secret_data_wo         = ephemeral.random_password.db.result
  secret_data_wo_version = var.secret_version
}

resource "google_secret_manager_secret" "replication_password" {
  count     = local.is_primary ? 1 : 0
  project   = var.project_id
  secret_id = "${var.name}-agentidp-replication-password"
  labels    = local.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "replication_password" {
  count                  = local.is_primary ? 1 : 0
  secret                 = google_secret_manager_secret.replication_password[0].id
  secret_data_wo         = ephemeral.random_password.replication.result
  secret_data_wo_version = var.secret_version
}

# The bridge's AGENTIDP_DATABASE_URL, written in the same apply as the
# password it embeds so the two always rotate together.
resource "google_secret_manager_secret" "database_url" {
  count     = local.is_primary ? 1 : 0
  project   = var.project_id
  secret_id = "${var.name}-agentidp-database-url"
  labels    = local.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "database_url" {
  count                  = local.is_primary ? 1 : 0
  secret                 = google_secret_manager_secret.database_url[0].id
  secret_data_wo         = "postgresql://agentidp_app:${ephemeral.random_password.db.result}@${local.db_host}:5432/agentidp?sslmode=require&connect_timeout=5"
  secret_data_wo_version = var.secret_version
}
