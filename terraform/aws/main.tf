# AgentIdP on AWS: one region of a deployment.
#
#   ALB (HTTPS, public) -> ECS Fargate bridge tasks (private subnets)
#                            |-> PostgreSQL 15 + agentidp on EC2 (primary + streaming replica)
#                            |-> ElastiCache Redis (revocation cache, rate limits; noeviction)
#   Secrets Manager: key-encryption key, database and replication passwords.
#
# Amazon RDS cannot load the agentidp C extension, hence PostgreSQL on EC2.

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  is_primary = var.role == "primary"

  # One value for the output, the bridge's AGENTIDP_ISSUER and the database's
  # agentidp.issuer: the bridge refuses to start when the two differ.
  issuer_url = var.issuer_url

  db_host   = "db.${var.internal_domain}"
  redis_url = "redis://${aws_elasticache_replication_group.redis.primary_endpoint_address}:6379/0"

  kek_secret_arn = local.is_primary ? aws_secretsmanager_secret.kek[0].arn : var.shared_secret_arns.kek
  db_secret_arn  = local.is_primary ? aws_secretsmanager_secret.db[0].arn : var.shared_secret_arns.db

  tags = merge(var.tags, {
    "agentidp:deployment" = var.name
    "agentidp:role"       = var.role
  })
}
