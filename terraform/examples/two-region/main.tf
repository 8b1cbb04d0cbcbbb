# Two regions of one AgentIdP deployment on AWS:
#   primary region: PostgreSQL primary + local replica, bridge serving.
#   standby region: PostgreSQL host 0 streams from the primary over VPC
#                   peering (host 1 cascades from it); bridge scaled to zero.
# The issuer name points at the active region's load balancer. Failover is a
# deliberate operator step (promote, then flip active_region): see
# terraform/README.md for why it is not automatic and what it costs.

module "primary" {
  source = "../../aws"
  providers = {
    aws = aws.primary
  }

  name                    = "${var.name}-a"
  role                    = "primary"
  issuer_url              = var.issuer_url
  certificate_arn         = var.primary_certificate_arn
  vpc_cidr                = var.primary_vpc_cidr
  availability_zones      = var.primary_azs
  peer_cidrs              = [var.standby_vpc_cidr]
  secrets_replica_regions = [var.standby_region]
  bridge_image            = var.bridge_images.primary
  bridge_desired_count    = var.active_region == "primary" ? var.bridge_count : 0
  agentidp_source_repo    = var.agentidp_source_repo
  agentidp_source_ref     = var.agentidp_source_ref
  tags                    = var.tags
}

module "standby" {
  source = "../../aws"
  providers = {
    aws = aws.standby
  }

  name                   = "${var.name}-b"
  role                   = "standby"
  issuer_url             = var.issuer_url
  certificate_arn        = var.standby_certificate_arn
  vpc_cidr               = var.standby_vpc_cidr
  availability_zones     = var.standby_azs
  peer_cidrs             = [var.primary_vpc_cidr]
  upstream_postgres_host = module.primary.postgres_writer_ip
  # Secrets Manager replicas keep the name; only the region in the ARN differs.
  shared_secret_arns = {
    kek = replace(module.primary.secret_arns.kek, ":${var.primary_region}:", ":${var.standby_region}:")
    db  = replace(module.primary.secret_arns.db, ":${var.primary_region}:", ":${var.standby_region}:")
  }
  bridge_image         = var.bridge_images.standby
  bridge_standby_count = var.active_region == "standby" ? var.bridge_count : 0
  agentidp_source_repo = var.agentidp_source_repo
  agentidp_source_ref  = var.agentidp_source_ref
  tags                 = var.tags
}

# WAL streams over a private peering link, never the internet.
resource "aws_vpc_peering_connection" "primary_standby" {
  provider      = aws.primary
  vpc_id        = module.primary.vpc_id
  peer_vpc_id   = module.standby.vpc_id
  peer_region   = var.standby_region
  peer_owner_id = module.standby.account_id
  tags          = merge(var.tags, { Name = "${var.name}-a-to-b" })
}

resource "aws_vpc_peering_connection_accepter" "standby" {
  provider                  = aws.standby
  vpc_peering_connection_id = aws_vpc_peering_connection.primary_standby.id
  auto_accept               = true
  tags                      = merge(var.tags, { Name = "${var.name}-a-to-b" })
}

resource "aws_route" "primary_to_standby" {
  provider                  = aws.primary
  route_table_id            = module.primary.private_route_table_id
  destination_cidr_block    = module.standby.vpc_cidr
  vpc_peering_connection_id = aws_vpc_peering_connection.primary_standby.id
}

resource "aws_route" "standby_to_primary" {
  provider                  = aws.standby
  route_table_id            = module.standby.private_route_table_id
  destination_cidr_block    = module.primary.vpc_cidr
  vpc_peering_connection_id = aws_vpc_peering_connection_accepter.standby.id
}

locals {
  issuer_host = trimprefix(var.issuer_url, "https://")
  active = var.active_region == "primary" ? {
    dns_name = module.primary.alb_dns_name
    zone_id  = module.primary.alb_zone_id
    } : {
    dns_name = module.standby.alb_dns_name
    zone_id  = module.standby.alb_zone_id
  }
}

# The issuer name follows active_region. Plain alias, not Route 53 failover
# routing: sending traffic to the standby before its database is promoted
# would only turn errors into different errors, and promoting automatically
# without fencing the old primary risks two writers.
resource "aws_route53_record" "issuer" {
  provider = aws.primary
  zone_id  = var.public_zone_id
  name     = local.issuer_host
  type     = "A"

  alias {
    name                   = local.active.dns_name
    zone_id                = local.active.zone_id
    evaluate_target_health = true
  }
}
