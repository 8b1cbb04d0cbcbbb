# The bridge on Cloud Run, behind a global external HTTPS load balancer with a
# Google-managed certificate for the issuer's host name. Instances are
# stateless (revocation cache and rate limits in Redis, the rest in
# PostgreSQL) and reach both over direct VPC egress.

locals {
  bridge_port = 8080
}

resource "google_service_account" "bridge" {
  project      = var.project_id
  account_id   = "${var.name}-bridge"
  display_name = "AgentIdP bridge (Cloud Run)"
}

resource "google_secret_manager_secret_iam_member" "bridge_database_url" {
  project   = var.project_id
  secret_id = local.secret_ids.database_url
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.bridge.email}"
}

resource "google_cloud_run_v2_service" "bridge" {
  project  = var.project_id
  name     = "${var.name}-bridge"
  location = var.region
  # Only the load balancer may reach the service: /metrics stays private and
  # every request carries the load balancer's headers.
  ingress             = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
  deletion_protection = false
  labels              = local.labels

  template {
    service_account                  = google_service_account.bridge.email
    max_instance_request_concurrency = var.bridge_concurrency
    # SIGTERM drains in-flight requests within Cloud Run's 10 s shutdown.
    timeout = "30s"

    scaling {
      min_instance_count = local.is_primary ? var.bridge_min_instances : 0
      max_instance_count = var.bridge_max_instances
    }

    vpc_access {
      # All traffic through the VPC: the private DNS zone (db.<internal_domain>)
      # resolves only there; Cloud NAT covers the rest.
      egress = "ALL_TRAFFIC"
      network_interfaces {
        network    = google_compute_network.main.id
        subnetwork = google_compute_subnetwork.main.id
      }
    }

    containers {
      image = var.bridge_image

      ports {
        container_port = local.bridge_port
      }

      resources {
        limits = {
          cpu    = var.bridge_cpu
          memory = var.bridge_memory
        }
        # CPU stays allocated between requests: each instance runs the
        # LISTEN agentidp_revocation thread that keeps Redis current.
        cpu_idle          = false
        startup_cpu_boost = true
      }

      env {
        name  = "AGENTIDP_LISTEN"
        value = "0.0.0.0:${local.bridge_port}"
      }
      env {
        name  = "AGENTIDP_ISSUER"
        value = local.issuer_url
      }
      env {
        name  = "AGENTIDP_REDIS_URL"
        value = local.redis_url
      }
      env {
        name  = "AGENTIDP_THREADS"
        value = tostring(var.bridge_threads)
      }
      env {
        name  = "AGENTIDP_DB_POOL_SIZE"
        value = tostring(var.bridge_db_pool_size)
      }
      env {
        name  = "AGENTIDP_RATE_LIMIT"
        value = tostring(var.bridge_rate_limit)
      }
      # Google's front end appends "<client>, <forwarding rule address>" to
      # X-Forwarded-For: trusting its ranges and that address leaves the
      # client as the right-most untrusted entry (rate limit, audit log).
      env {
        name  = "AGENTIDP_TRUSTED_PROXIES"
        value = join(",", concat(var.bridge_trusted_proxies, [google_compute_global_address.bridge.address]))
      }
      # Every connection comes from Google's front end: a per-peer cap would
      # throttle it.
      env {
        name  = "AGENTIDP_MAX_CONNS_PER_IP"
        value = "0"
      }
      env {
        name  = "AGENTIDP_LOG_LEVEL"
        value = var.bridge_log_level
      }
      env {
        name  = "AGENTIDP_POLICY_FILE"
        value = "/opt/agentidp/policies/data.json"
      }
      env {
        name  = "AGENTIDP_DASHBOARD_DIR"
        value = "/opt/agentidp/dashboard"
      }
      env {
        name = "AGENTIDP_DATABASE_URL"
        value_source {
          secret_key_ref {
            secret  = local.secret_ids.database_url
            version = "latest"
          }
        }
      }

      startup_probe {
        http_get {
          path = "/health"
          port = local.bridge_port
        }
        period_seconds    = 5
        failure_threshold = 24
      }

      liveness_probe {
        http_get {
          path = "/health"
          port = local.bridge_port
        }
        period_seconds    = 15
        failure_threshold = 4
      }
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.bridge_database_url]
}

# A public identity provider: anyone may call it (the bridge authenticates).
resource "google_cloud_run_v2_service_iam_member" "public" {
  project  = var.project_id
  location = google_cloud_run_v2_service.bridge.location
  name     = google_cloud_run_v2_service.bridge.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_compute_region_network_endpoint_group" "bridge" {
  project               = var.project_id
  name                  = "${var.name}-bridge"
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = google_cloud_run_v2_service.bridge.name
  }
}

resource "google_compute_backend_service" "bridge" {
  project               = var.project_id
  name                  = "${var.name}-bridge"
  protocol              = "HTTPS"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  security_policy       = google_compute_security_policy.bridge.id

  backend {
    group = google_compute_region_network_endpoint_group.bridge.id
  }
}

# Per-client rate limit at the edge as well: it stops a flood before it
# reaches the instances. The bridge's own limiter counts the client address
# from X-Forwarded-For (AGENTIDP_TRUSTED_PROXIES).
resource "google_compute_security_policy" "bridge" {
  project     = var.project_id
  name        = "${var.name}-bridge"
  description = "AgentIdP per-client request rate limit"

  rule {
    action      = "throttle"
    priority    = 1000
    description = "per-client rate"

    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }

    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"

      rate_limit_threshold {
        count        = var.edge_rate_limit_per_minute
        interval_sec = 60
      }
    }
  }

  rule {
    action      = "allow"
    priority    = 2147483647
    description = "default"

    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }
}

resource "google_compute_url_map" "bridge" {
  project         = var.project_id
  name            = "${var.name}-bridge"
  default_service = google_compute_backend_service.bridge.id

  host_rule {
    hosts        = [local.issuer_host]
    path_matcher = "bridge"
  }

  path_matcher {
    name            = "bridge"
    default_service = google_compute_backend_service.bridge.id

    # /metrics is for the in-VPC Prometheus, not for the internet.
    route_rules {
      priority = 1
      match_rules {
        prefix_match = "/metrics"
      }
      url_redirect {
        path_redirect          = "/health"
        redirect_response_code = "FOUND"
        strip_query            = true
      }
    }
  }
}

resource "google_compute_managed_ssl_certificate" "issuer" {
  project = var.project_id
  name    = "${var.name}-issuer"

  managed {
    domains = [local.issuer_host]
  }
}

resource "google_compute_target_https_proxy" "bridge" {
  project          = var.project_id
  name             = "${var.name}-bridge"
  url_map          = google_compute_url_map.bridge.id
  ssl_certificates = [google_compute_managed_ssl_certificate.issuer.id]
}

resource "google_compute_global_address" "bridge" {
  project = var.project_id
  name    = "${var.name}-bridge"
}

resource "google_compute_global_forwarding_rule" "bridge" {
  project               = var.project_id
  name                  = "${var.name}-bridge"
  target                = google_compute_target_https_proxy.bridge.id
  ip_address            = google_compute_global_address.bridge.address
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}
