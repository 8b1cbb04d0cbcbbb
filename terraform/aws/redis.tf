# ElastiCache Redis for the bridge's revocation cache and shared rate-limit
# counters. Redis is a cache, never the truth: the bridge falls back to the
# database when Redis is down, empty, or configured to evict.
#
# noeviction is required (DESIGN.md §2): an evicted revocation entry would
# otherwise send checks to the database at best. hiredis 0.14 (Debian 12)
# has no TLS, so in-transit encryption stays off and only the bridge's
# security group can reach port 6379; Redis holds token ids and agent states,
# never a secret.

resource "aws_elasticache_subnet_group" "redis" {
  name       = "${var.name}-redis"
  subnet_ids = aws_subnet.private[*].id
  tags       = local.tags
}

resource "aws_elasticache_parameter_group" "redis" {
  name   = "${var.name}-redis7"
  family = "redis7"

  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }

  tags = local.tags
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "AgentIdP Redis: reachable from the bridge tasks only."
  vpc_id      = aws_vpc.main.id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_bridge" {
  security_group_id            = aws_security_group.redis.id
  referenced_security_group_id = aws_security_group.bridge.id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  description                  = "bridge tasks"
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id       = "${var.name}-redis"
  description                = "AgentIdP revocation cache and rate limits"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = var.redis_node_type
  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true
  parameter_group_name       = aws_elasticache_parameter_group.redis.name
  subnet_group_name          = aws_elasticache_subnet_group.redis.name
  security_group_ids         = [aws_security_group.redis.id]
  port                       = 6379
  at_rest_encryption_enabled = true
  transit_encryption_enabled = false
  tags                       = local.tags
}
