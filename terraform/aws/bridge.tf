# The bridge on ECS Fargate behind a public ALB. Tasks are stateless: the
# revocation cache and rate-limit counters are in Redis, everything else in
# PostgreSQL, so tasks scale out and are replaced freely.

locals {
  bridge_port = 8080

  # Plain environment of the bridge (DESIGN.md §2). AGENTIDP_DATABASE_URL is
  # injected from Secrets Manager below because it carries the password.
  bridge_environment = {
    AGENTIDP_LISTEN           = "0.0.0.0:${local.bridge_port}"
    AGENTIDP_ISSUER           = local.issuer_url
    AGENTIDP_REDIS_URL        = local.redis_url
    AGENTIDP_THREADS          = tostring(var.bridge_threads)
    AGENTIDP_DB_POOL_SIZE     = tostring(var.bridge_db_pool_size)
    AGENTIDP_RATE_LIMIT       = tostring(var.bridge_rate_limit)
    # The ALB's nodes take their addresses from its subnets; only from them is
    # X-Forwarded-For believed, so the rate limit and the audit log see clients.
    AGENTIDP_TRUSTED_PROXIES  = join(",", aws_subnet.public[*].cidr_block)
    # Every connection comes from the ALB: a per-peer cap would throttle it.
    AGENTIDP_MAX_CONNS_PER_IP = "0"
    AGENTIDP_LOG_LEVEL        = var.bridge_log_level
    AGENTIDP_POLICY_FILE      = "/opt/agentidp/policies/data.json"
    AGENTIDP_DASHBOARD_DIR    = "/opt/agentidp/dashboard"
  }

  bridge_secrets = {
    # ECS resolves "<secret arn>:<json key>::" to one key of a JSON secret.
    AGENTIDP_DATABASE_URL = "${local.db_secret_arn}:url::"
  }
}

resource "aws_ecs_cluster" "main" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = local.tags
}

resource "aws_cloudwatch_log_group" "bridge" {
  name              = "/agentidp/${var.name}/bridge"
  retention_in_days = 30
  tags              = local.tags
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Used by ECS itself to pull the image, write logs and resolve secrets.
resource "aws_iam_role" "bridge_execution" {
  name               = "${var.name}-bridge-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "bridge_execution" {
  role       = aws_iam_role.bridge_execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "bridge_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.db_secret_arn]
  }
}

resource "aws_iam_role_policy" "bridge_secrets" {
  name   = "read-database-url"
  role   = aws_iam_role.bridge_execution.id
  policy = data.aws_iam_policy_document.bridge_secrets.json
}

# The bridge process itself needs no AWS API.
resource "aws_iam_role" "bridge_task" {
  name               = "${var.name}-bridge-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

resource "aws_ecs_task_definition" "bridge" {
  family                   = "${var.name}-bridge"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.bridge_cpu
  memory                   = var.bridge_memory
  execution_role_arn       = aws_iam_role.bridge_execution.arn
  task_role_arn            = aws_iam_role.bridge_task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name         = "bridge"
      image        = var.bridge_image
      essential    = true
      portMappings = [{ containerPort = local.bridge_port, protocol = "tcp" }]
      environment  = [for k, v in local.bridge_environment : { name = k, value = v }]
      secrets      = [for k, v in local.bridge_secrets : { name = k, valueFrom = v }]
      # SIGTERM drains in-flight requests; give it longer than the ALB's
      # deregistration delay.
      stopTimeout            = 40
      user                   = "agentidp"
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.bridge.name
          awslogs-region        = data.aws_region.current.region
          awslogs-stream-prefix = "bridge"
        }
      }
    }
  ])

  tags = local.tags
}

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "AgentIdP public load balancer."
  vpc_id      = aws_vpc.main.id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.alb_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "HTTPS"
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  for_each          = toset(var.alb_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  description       = "HTTP, redirected to HTTPS"
}

resource "aws_vpc_security_group_egress_rule" "alb_to_bridge" {
  security_group_id            = aws_security_group.alb.id
  referenced_security_group_id = aws_security_group.bridge.id
  ip_protocol                  = "tcp"
  from_port                    = local.bridge_port
  to_port                      = local.bridge_port
  description                  = "bridge tasks"
}

resource "aws_security_group" "bridge" {
  name        = "${var.name}-bridge"
  description = "AgentIdP bridge tasks."
  vpc_id      = aws_vpc.main.id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "bridge_from_alb" {
  security_group_id            = aws_security_group.bridge.id
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = local.bridge_port
  to_port                      = local.bridge_port
  description                  = "load balancer"
}

resource "aws_vpc_security_group_egress_rule" "bridge_all" {
  security_group_id = aws_security_group.bridge.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
  description       = "PostgreSQL, Redis, image registry, Secrets Manager"
}

resource "aws_lb" "main" {
  name               = "${var.name}-alb"
  load_balancer_type = "application"
  internal           = false
  security_groups    = [aws_security_group.alb.id]
  subnets            = aws_subnet.public[*].id
  # Malformed header names never reach the bridge.
  drop_invalid_header_fields = true
  # The client's address is appended to X-Forwarded-For (the default, stated
  # because AGENTIDP_TRUSTED_PROXIES relies on it).
  xff_header_processing_mode = "append"
  idle_timeout               = 30
  tags                       = local.tags
}

resource "aws_lb_target_group" "bridge" {
  name                 = "${var.name}-bridge"
  port                 = local.bridge_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = aws_vpc.main.id
  deregistration_delay = 30

  health_check {
    path                = "/health"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = local.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.main.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.bridge.arn
  }

  tags = local.tags
}

# /metrics is for the in-VPC Prometheus, not for the internet.
resource "aws_lb_listener_rule" "hide_metrics" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  condition {
    path_pattern {
      values = ["/metrics", "/metrics/*"]
    }
  }

  action {
    type = "fixed-response"
    fixed_response {
      content_type = "application/json"
      status_code  = "404"
      message_body = "{\"error\":\"not_found\",\"error_description\":\"no such route\"}"
    }
  }

  tags = local.tags
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.main.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = local.tags
}

resource "aws_ecs_service" "bridge" {
  name            = "bridge"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.bridge.arn
  launch_type     = "FARGATE"
  desired_count   = local.is_primary ? var.bridge_desired_count : var.bridge_standby_count

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.bridge.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.bridge.arn
    container_name   = "bridge"
    container_port   = local.bridge_port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  health_check_grace_period_seconds = 60
  depends_on                        = [aws_lb_listener.https, aws_iam_role_policy.bridge_secrets]
  tags                              = local.tags
}

# Per-client rate limit at the edge as well: it stops a flood before it
# reaches the tasks. Same answer as the bridge's own limiter, which counts the
# client address from X-Forwarded-For (AGENTIDP_TRUSTED_PROXIES).
resource "aws_wafv2_web_acl" "bridge" {
  name        = "${var.name}-bridge"
  description = "AgentIdP per-client request rate limit"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  custom_response_body {
    key          = "rate_limited"
    content_type = "APPLICATION_JSON"
    content      = "{\"error\":\"rate_limited\",\"error_description\":\"too many requests from this address\"}"
  }

  rule {
    name     = "per-client-rate"
    priority = 1

    action {
      block {
        custom_response {
          response_code            = 429
          custom_response_body_key = "rate_limited"
          response_header {
            name  = "Retry-After"
            value = "60"
          }
        }
      }
    }

    statement {
      rate_based_statement {
        limit                 = var.edge_rate_limit_per_minute
        evaluation_window_sec = 60
        aggregate_key_type    = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-per-client-rate"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.name}-bridge"
    sampled_requests_enabled   = false
  }

  tags = local.tags
}

resource "aws_wafv2_web_acl_association" "bridge" {
  resource_arn = aws_lb.main.arn
  web_acl_arn  = aws_wafv2_web_acl.bridge.arn
}
