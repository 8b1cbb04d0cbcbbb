# PostgreSQL 15 with the agentidp extension on two EC2 hosts in two zones.
# Primary role: the writer (host postgres_writer, 0 at first) is the primary,
# the other host streams from it.
# Standby role: the writer streams from the primary region (over VPC peering),
# the other host cascades from it, so promoting the writer leaves a replica behind it.

data "aws_ami" "debian12" {
  count       = var.postgres_ami_id == null ? 1 : 0
  most_recent = true
  # Debian's official AWS account.
  owners = ["136693071363"]

  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }

  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
}

locals {
  postgres_ami = var.postgres_ami_id != null ? var.postgres_ami_id : data.aws_ami.debian12[0].id

  # The writer streams from nothing on a primary and from the remote primary
  # on a standby; the other host streams from the writer by DNS name (an
  # address would make the two instances depend on each other).
  postgres_role = [for i in range(2) : local.is_primary && i == var.postgres_writer ? "primary" : "replica"]
  postgres_upstream = [
    for i in range(2) : i == var.postgres_writer ? (local.is_primary ? "" : var.upstream_postgres_host) : "pg-${var.postgres_writer}.${var.internal_domain}"
  ]
}

resource "aws_security_group" "postgres" {
  name        = "${var.name}-postgres"
  description = "AgentIdP PostgreSQL hosts: app connections from the bridge tasks, replication between hosts and regions."
  vpc_id      = aws_vpc.main.id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "postgres_from_bridge" {
  security_group_id            = aws_security_group.postgres.id
  referenced_security_group_id = aws_security_group.bridge.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  description                  = "bridge tasks"
}

resource "aws_vpc_security_group_ingress_rule" "postgres_from_postgres" {
  security_group_id            = aws_security_group.postgres.id
  referenced_security_group_id = aws_security_group.postgres.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  description                  = "streaming replication inside the region"
}

resource "aws_vpc_security_group_ingress_rule" "postgres_from_peers" {
  for_each          = toset(var.peer_cidrs)
  security_group_id = aws_security_group.postgres.id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  description       = "streaming replication from or to another region"
}

resource "aws_vpc_security_group_egress_rule" "postgres_all" {
  security_group_id = aws_security_group.postgres.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
  description       = "apt, git, Secrets Manager, upstream replication"
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "postgres" {
  name               = "${var.name}-postgres"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "postgres_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.kek_secret_arn, local.db_secret_arn]
  }
}

resource "aws_iam_role_policy" "postgres_secrets" {
  name   = "read-agentidp-secrets"
  role   = aws_iam_role.postgres.id
  policy = data.aws_iam_policy_document.postgres_secrets.json
}

# Shell access through SSM Session Manager instead of SSH keys and port 22.
resource "aws_iam_role_policy_attachment" "postgres_ssm" {
  role       = aws_iam_role.postgres.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "postgres" {
  name = "${var.name}-postgres"
  role = aws_iam_role.postgres.name
}

resource "aws_instance" "postgres" {
  count                  = 2
  ami                    = local.postgres_ami
  instance_type          = var.postgres_instance_type
  subnet_id              = aws_subnet.private[count.index].id
  vpc_security_group_ids = [aws_security_group.postgres.id]
  iam_instance_profile   = aws_iam_instance_profile.postgres.name

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = var.postgres_volume_gb
    encrypted   = true
  }

  user_data = join("\n", [
    templatefile("${path.module}/templates/postgres-user-data.sh.tftpl", {
      role              = local.postgres_role[count.index]
      upstream_host     = local.postgres_upstream[count.index]
      issuer            = local.issuer_url
      source_repo       = var.agentidp_source_repo
      source_ref        = var.agentidp_source_ref
      client_cidrs      = join(" ", [for s in aws_subnet.private : s.cidr_block])
      replication_cidrs = join(" ", concat([var.vpc_cidr], var.peer_cidrs))
      region            = data.aws_region.current.region
      kek_secret_arn    = local.kek_secret_arn
      db_secret_arn     = local.db_secret_arn
    }),
    file("${path.module}/../scripts/postgres-host.sh"),
  ])
  user_data_replace_on_change = false

  tags = merge(local.tags, {
    Name            = "${var.name}-postgres-${count.index}"
    "agentidp:host" = count.index == 0 ? "first" : "second"
  })

  lifecycle {
    # A host is bootstrapped once; a changed script must not replace a database.
    ignore_changes = [ami, user_data]

    precondition {
      condition     = local.is_primary || (var.upstream_postgres_host != null && var.shared_secret_arns != null)
      error_message = "A standby region needs upstream_postgres_host and shared_secret_arns."
    }
  }
}
