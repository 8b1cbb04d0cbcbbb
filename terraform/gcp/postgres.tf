# PostgreSQL 15 with the agentidp extension on two GCE VMs in two zones.
# Primary role: the writer (host postgres_writer, 0 at first) is the primary,
# the other host streams from it.
# Standby role: the writer streams from the primary region, the other host
# cascades from it, so promoting the writer leaves a replica behind it.

locals {
  # The writer streams from nothing on a primary and from the remote primary
  # on a standby; the other host streams from the writer by DNS name (an
  # address would make the two instances depend on each other).
  postgres_role = [for i in range(2) : local.is_primary && i == var.postgres_writer ? "primary" : "replica"]
  postgres_upstream = [
    for i in range(2) : i == var.postgres_writer ? (local.is_primary ? "" : var.upstream_postgres_host) : "pg-${var.postgres_writer}.${var.internal_domain}"
  ]
}

resource "google_service_account" "postgres" {
  project      = var.project_id
  account_id   = "${var.name}-postgres"
  display_name = "AgentIdP PostgreSQL hosts"
}

resource "google_secret_manager_secret_iam_member" "postgres" {
  for_each = {
    kek                  = local.secret_ids.kek
    db_password          = local.secret_ids.db_password
    replication_password = local.secret_ids.replication_password
  }
  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.postgres.email}"
}

resource "google_compute_instance" "postgres" {
  count        = 2
  project      = var.project_id
  name         = "${var.name}-postgres-${count.index}"
  zone         = var.zones[count.index]
  machine_type = var.postgres_machine_type
  tags         = ["agentidp-postgres"]
  labels       = local.labels

  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
      size  = var.postgres_disk_gb
      type  = "pd-ssd"
    }
  }

  network_interface {
    subnetwork = google_compute_subnetwork.main.id
  }

  service_account {
    email  = google_service_account.postgres.email
    scopes = ["cloud-platform"]
  }

  shielded_instance_config {
    enable_secure_boot = true
  }

  metadata = {
    block-project-ssh-keys = "true"
    enable-oslogin         = "TRUE"
  }

  metadata_startup_script = join("\n", [
    templatefile("${path.module}/templates/postgres-startup.sh.tftpl", {
      role                           = local.postgres_role[count.index]
      upstream_host                  = local.postgres_upstream[count.index]
      issuer                         = local.issuer_url
      source_repo                    = var.agentidp_source_repo
      source_ref                     = var.agentidp_source_ref
      client_cidrs                   = var.subnet_cidr
      replication_cidrs              = join(" ", concat([var.subnet_cidr], var.peer_cidrs))
      project_id                     = var.project_id
      kek_secret_id                  = local.secret_ids.kek
      db_password_secret_id          = local.secret_ids.db_password
      replication_password_secret_id = local.secret_ids.replication_password
    }),
    file("${path.module}/../scripts/postgres-host.sh"),
  ])

  allow_stopping_for_update = true

  lifecycle {
    # A host is bootstrapped once; a changed script must not replace a database.
    ignore_changes = [metadata_startup_script, boot_disk]

    precondition {
      condition     = local.is_primary || (var.upstream_postgres_host != null && var.shared_secret_ids != null)
      error_message = "A standby region needs upstream_postgres_host and shared_secret_ids."
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.postgres,
    google_compute_router_nat.main,
  ]
}
