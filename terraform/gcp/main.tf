# AgentIdP on GCP: one region of a deployment.
#
#   HTTPS load balancer (managed certificate) -> Cloud Run bridge (direct VPC egress)
#                            |-> PostgreSQL 15 + agentidp on GCE (primary + streaming replica)
#                            |-> Memorystore Redis (revocation cache, rate limits; noeviction)
#   Secret Manager: key-encryption key, database and replication passwords, database URL.
#
# Cloud SQL cannot load the agentidp C extension, hence PostgreSQL on GCE.

locals {
  is_primary = var.role == "primary"

  # One value for the output, the bridge's AGENTIDP_ISSUER and the database's
  # agentidp.issuer: the bridge refuses to start when the two differ.
  issuer_url  = var.issuer_url
  issuer_host = trimprefix(var.issuer_url, "https://")

  db_host   = "db.${var.internal_domain}"
  redis_url = "redis://${google_redis_instance.redis.host}:${google_redis_instance.redis.port}/0"

  secret_ids = local.is_primary ? {
    kek                  = google_secret_manager_secret.kek[0].secret_id
    db_password          = google_secret_manager_secret.db_password[0].secret_id
    replication_password = google_secret_manager_secret.replication_password[0].secret_id
    database_url         = google_secret_manager_secret.database_url[0].secret_id
  } : var.shared_secret_ids

  labels = merge(var.labels, {
    agentidp-deployment = var.name
    agentidp-role       = var.role
  })
}
