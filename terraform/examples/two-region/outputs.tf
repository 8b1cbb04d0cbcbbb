output "issuer_url" {
  description = "Public issuer URL served by the active region (equal to both regions' AGENTIDP_ISSUER and agentidp.issuer)."
  value       = module.primary.issuer_url
}

output "active_region" {
  description = "Region currently serving the issuer name."
  value       = var.active_region == "primary" ? var.primary_region : var.standby_region
}

output "primary" {
  description = "Primary region: load balancer, PostgreSQL hosts, ECS cluster."
  value = {
    alb_dns_name          = module.primary.alb_dns_name
    postgres_instance_ids = module.primary.postgres_instance_ids
    postgres_private_ips  = module.primary.postgres_private_ips
    ecs_cluster_name      = module.primary.ecs_cluster_name
  }
}

output "standby" {
  description = "Standby region: load balancer, PostgreSQL hosts (promote host 0 on failover), ECS cluster."
  value = {
    alb_dns_name          = module.standby.alb_dns_name
    postgres_instance_ids = module.standby.postgres_instance_ids
    postgres_private_ips  = module.standby.postgres_private_ips
    ecs_cluster_name      = module.standby.ecs_cluster_name
  }
}
