# One VPC subnet per region for the PostgreSQL hosts and the bridge's direct
# VPC egress; Cloud NAT for outbound traffic (apt, git); no public address on
# any host.

resource "google_compute_network" "main" {
  project                 = var.project_id
  name                    = "${var.name}-vpc"
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "main" {
  project                  = var.project_id
  name                     = "${var.name}-${var.region}"
  region                   = var.region
  network                  = google_compute_network.main.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true
}

resource "google_compute_router" "main" {
  project = var.project_id
  name    = "${var.name}-router"
  region  = var.region
  network = google_compute_network.main.id
}

resource "google_compute_router_nat" "main" {
  project                            = var.project_id
  name                               = "${var.name}-nat"
  router                             = google_compute_router.main.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"
}

# PostgreSQL: the bridge (Cloud Run egress comes from the subnet range), the
# other host and the other regions.
resource "google_compute_firewall" "postgres" {
  project       = var.project_id
  name          = "${var.name}-postgres"
  network       = google_compute_network.main.id
  direction     = "INGRESS"
  source_ranges = concat([var.subnet_cidr], var.peer_cidrs)
  target_tags   = ["agentidp-postgres"]

  allow {
    protocol = "tcp"
    ports    = ["5432"]
  }
}

# Shell access only through Identity-Aware Proxy TCP forwarding.
resource "google_compute_firewall" "iap_ssh" {
  project       = var.project_id
  name          = "${var.name}-iap-ssh"
  network       = google_compute_network.main.id
  direction     = "INGRESS"
  source_ranges = ["35.235.240.0/20"]
  target_tags   = ["agentidp-postgres"]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}

# db.<internal_domain> always names the host that accepts writes; a failover
# repoints it (terraform/README.md).
resource "google_dns_managed_zone" "internal" {
  project     = var.project_id
  name        = "${var.name}-internal"
  dns_name    = "${var.internal_domain}."
  description = "AgentIdP private names"
  visibility  = "private"
  labels      = local.labels

  private_visibility_config {
    networks {
      network_url = google_compute_network.main.id
    }
  }
}

resource "google_dns_record_set" "db" {
  project      = var.project_id
  managed_zone = google_dns_managed_zone.internal.name
  name         = "${local.db_host}."
  type         = "A"
  ttl          = 30
  rrdatas      = [google_compute_instance.postgres[var.postgres_writer].network_interface[0].network_ip]
}

resource "google_dns_record_set" "pg" {
  count        = 2
  project      = var.project_id
  managed_zone = google_dns_managed_zone.internal.name
  name         = "pg-${count.index}.${var.internal_domain}."
  type         = "A"
  ttl          = 30
  rrdatas      = [google_compute_instance.postgres[count.index].network_interface[0].network_ip]
}
