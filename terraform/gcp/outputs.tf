output "issuer_url" {
  description = "Public issuer URL: the bridge's AGENTIDP_ISSUER and the database's agentidp.issuer. Point its DNS name (A record) at load_balancer_ip."
  value       = local.issuer_url
}

output "load_balancer_ip" {
  description = "Global address of the HTTPS load balancer; the managed certificate becomes active once the issuer's DNS name points here."
  value       = google_compute_global_address.bridge.address
}

output "cloud_run_service" {
  description = "Name of the bridge's Cloud Run service (scale it during a failover)."
  value       = google_cloud_run_v2_service.bridge.name
}

output "postgres_internal_ips" {
  description = "Internal addresses of PostgreSQL host 0 (primary, or first replica in a standby region) and host 1."
  value       = google_compute_instance.postgres[*].network_interface[0].network_ip
}

output "db_record_name" {
  description = "Private DNS name that always points at the writable PostgreSQL host; repoint it on failover."
  value       = google_dns_record_set.db.name
}

output "redis_host" {
  description = "Memorystore address."
  value       = google_redis_instance.redis.host
}

output "secret_ids" {
  description = "Secret Manager ids (not values) of the deployment's secrets; pass them to a standby region as shared_secret_ids."
  value       = local.secret_ids
}

output "network_id" {
  description = "VPC network id (for peering)."
  value       = google_compute_network.main.id
}

output "postgres_writer_ip" {
  description = "Internal address of the host db.<internal_domain> names (the writer); a standby region streams from it."
  value       = google_compute_instance.postgres[var.postgres_writer].network_interface[0].network_ip
}
