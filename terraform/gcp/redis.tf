# Memorystore Redis for the bridge's revocation cache and shared rate-limit
# counters: a cache, never the truth (the bridge falls back to PostgreSQL).
# noeviction is required (DESIGN.md §2). hiredis 0.14 (Debian 12) has no TLS,
# so transit encryption stays off; the instance has only a private address on
# the deployment's network and holds token ids and agent states, no secret.

resource "google_redis_instance" "redis" {
  project                 = var.project_id
  name                    = "${var.name}-redis"
  region                  = var.region
  tier                    = "STANDARD_HA"
  memory_size_gb          = var.redis_memory_gb
  redis_version           = "REDIS_7_2"
  authorized_network      = google_compute_network.main.id
  connect_mode            = "DIRECT_PEERING"
  transit_encryption_mode = "DISABLED"
  labels                  = local.labels

  redis_configs = {
    maxmemory-policy = "noeviction"
  }
}
