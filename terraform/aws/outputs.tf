output "issuer_url" {
  description = "Public issuer URL: the bridge's AGENTIDP_ISSUER and the database's agentidp.issuer. Point its DNS name at alb_dns_name (or at a failover record over several regions)."
  value       = local.issuer_url
}

output "alb_dns_name" {
  description = "DNS name of the public load balancer."
  value       = aws_lb.main.dns_name
}

output "alb_zone_id" {
  description = "Route 53 zone id of the load balancer, for alias records."
  value       = aws_lb.main.zone_id
}

output "postgres_private_ips" {
  description = "Private addresses of PostgreSQL host 0 (primary, or first replica in a standby region) and host 1 (its replica)."
  value       = aws_instance.postgres[*].private_ip
}

output "postgres_instance_ids" {
  description = "EC2 instance ids of the PostgreSQL hosts (for SSM sessions during a failover)."
  value       = aws_instance.postgres[*].id
}

output "db_record_fqdn" {
  description = "Private DNS name that always points at the writable PostgreSQL host; repoint it on failover."
  value       = aws_route53_record.db.fqdn
}

output "redis_primary_endpoint" {
  description = "ElastiCache primary endpoint address."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}

output "secret_arns" {
  description = "Secrets Manager ARNs (not values) of the key-encryption key and the database secret used in this region."
  value = {
    kek = local.kek_secret_arn
    db  = local.db_secret_arn
  }
}

output "secret_names" {
  description = "Names of the secrets (identical in every replica region)."
  value = local.is_primary ? {
    kek = aws_secretsmanager_secret.kek[0].name
    db  = aws_secretsmanager_secret.db[0].name
  } : null
}

output "vpc_id" {
  description = "VPC id (for peering)."
  value       = aws_vpc.main.id
}

output "vpc_cidr" {
  description = "VPC CIDR block (for peering routes and replication rules)."
  value       = aws_vpc.main.cidr_block
}

output "private_route_table_id" {
  description = "Route table of the private subnets (peering routes go here)."
  value       = aws_route_table.private.id
}

output "ecs_cluster_name" {
  description = "ECS cluster name (scale the bridge service during a failover)."
  value       = aws_ecs_cluster.main.name
}

output "account_id" {
  description = "AWS account the region is deployed in (peering needs it)."
  value       = data.aws_caller_identity.current.account_id
}

output "postgres_writer_ip" {
  description = "Private address of the host db.<internal_domain> names (the writer); a standby region streams from it."
  value       = aws_instance.postgres[var.postgres_writer].private_ip
}
